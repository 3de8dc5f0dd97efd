"""The check registry and what a check is handed: outcomes, ``Check``, ``Context``.

Check modules import from here and the runner imports the check modules, so the import
graph runs one way (runner → checks → registry) with no cycle between runner and checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .client import Client
from .client import Reply
from .client import truncate

GROUPS = (
    "rfc",
    "okta",
    "entra",
    "onelogin",
    "jumpcloud",
    "google",
    "rippling",
    "ping",
    "lifecycle",
)


# --------------------------------------------------------------------------- outcomes


class CheckFailed(AssertionError):
    """A check found behaviour that contradicts its source."""


class CheckSkipped(Exception):
    """The server does not advertise the feature a check needs."""


def fail(message: str, reply: Reply | None = None) -> None:
    """Fail the running check; with ``reply``, say what was sent and what came back."""
    if reply is not None:
        message = f"{message} — {reply.describe()}"
    raise CheckFailed(message)


def expect(condition: Any, message: str, reply: Reply | None = None) -> None:
    """Fail with ``message`` (and the exchange in ``reply``) unless ``condition`` holds."""
    if not condition:
        fail(message, reply)


def skip(reason: str) -> None:
    raise CheckSkipped(reason)


# --------------------------------------------------------------------------- registry


@dataclass
class Check:
    name: str
    group: str
    source: str
    func: Callable[[Context], None]
    requires: tuple[str, ...] = ()


REGISTRY: dict[str, Check] = {}


def check(name: str, group: str, source: str, requires: tuple[str, ...] | str = ()):
    """Register a check. ``requires`` names ServiceProviderConfig features (e.g. "etag")
    whose ``supported`` must be true, otherwise the check is skipped."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r} for {name}")
    needs = (requires,) if isinstance(requires, str) else tuple(requires)

    def register(func: Callable[[Context], None]):
        if name in REGISTRY:
            raise ValueError(f"duplicate check name {name}")
        REGISTRY[name] = Check(name, group, source, func, needs)
        return func

    return register


# --------------------------------------------------------------------------- context


class Context:
    """What a check gets: the client, the options and a cleanup registry."""

    def __init__(self, client: Client, options: Any, features: Features):
        self.client = client
        self.options = options
        self.features = features
        self._cleanups: list[tuple[str, Callable[[], Any]]] = []

    def defer(self, label: str, func: Callable[[], Any]) -> None:
        self._cleanups.append((label, func))

    def delete_later(self, path: str) -> None:
        """DELETE ``path`` after the check, whatever its outcome (404 is fine)."""
        self.defer(f"DELETE {path}", lambda: self.client.delete(path))

    def run_cleanups(self) -> list[str]:
        problems = []
        while self._cleanups:
            label, func = self._cleanups.pop()
            try:
                result = func()
                if isinstance(result, Reply) and result.status not in (200, 204, 404):
                    problems.append(f"{label} -> {result.status}")
            except Exception as exc:  # cleanup must never hide the check's outcome
                problems.append(f"{label}: {type(exc).__name__}: {truncate(str(exc), 120)}")
        return problems


class Features:
    """ServiceProviderConfig, fetched once, used to decide skips."""

    def __init__(self, client: Client):
        self.client = client
        self._spc: dict | None = None
        self._error: str | None = None

    def spc(self) -> dict:
        if self._spc is None and self._error is None:
            try:
                reply = self.client.get("/ServiceProviderConfig")
                if reply.status == 200 and isinstance(reply.body, dict):
                    self._spc = reply.body
                else:
                    self._error = f"GET /ServiceProviderConfig -> {reply.status}"
            except Exception as exc:
                self._error = f"GET /ServiceProviderConfig failed: {type(exc).__name__}: {exc}"
        if self._spc is None:
            raise CheckFailed(
                f"cannot tell which features are supported ({truncate(self._error, 200)})"
            )
        return self._spc

    def supported(self, feature: str) -> bool:
        entry = self.spc().get(feature)
        return isinstance(entry, dict) and entry.get("supported") is True
