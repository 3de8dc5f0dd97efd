"""``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5) and ``returned`` (RFC 7643 §7).

``returned: always`` attributes (``id``) are in every response, ``never`` (``password``)
in none, ``request`` only when asked for, ``default`` unless excluded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from scim_server.scim.schema import ResourceType

_ALWAYS_KEYS = ("schemas",)


@dataclass(frozen=True)
class Projection:
    """The parsed query parameters: lower-cased (schema, attribute, sub-attribute) names."""

    attributes: frozenset[tuple[str, str, str | None]] | None = None
    excluded: frozenset[tuple[str, str, str | None]] = frozenset()

    @property
    def is_default(self) -> bool:
        """Names no attribute: ``returned`` alone decides."""
        return self.attributes is None and not self.excluded

    def wants(self, rtype: ResourceType, name: str, schema: str | None = None) -> bool:
        """Whether a top-level attribute will appear, so callers can skip loading it."""
        attr = rtype.attribute(name, schema)
        if attr is None:
            return False
        key = (attr.schema.lower(), attr.name.lower())
        if attr.returned == "always":
            return True
        if attr.returned == "never":
            return False
        if self.attributes is not None:
            return any((s, a) == key or (s == key[0] and a == "") for s, a, _ in self.attributes)
        if attr.returned == "request":
            return False
        return not any((s, a) == key and sub is None for s, a, sub in self.excluded)


def parse_projection(
    rtype: ResourceType, attributes: str | None, excluded: str | None
) -> Projection:
    """Parse the comma-separated lists; names are case-insensitive and may carry a URN."""
    return Projection(
        attributes=_names(rtype, attributes) if attributes else None,
        excluded=_names(rtype, excluded) if excluded else frozenset(),
    )


def _names(rtype: ResourceType, text: str) -> frozenset[tuple[str, str, str | None]]:
    out = set()
    for raw in text.split(","):
        raw = raw.strip()
        if not raw:
            continue
        urn, rest = rtype.split_urn(raw)
        top, _, sub = rest.partition(".")
        attr = rtype.attribute(top, urn) if top else None
        schema = (attr.schema if attr else (urn or rtype.core.id)).lower()
        out.add((schema, top.lower(), sub.lower() or None))
    return frozenset(out)


def project(doc: dict[str, Any], rtype: ResourceType, projection: Projection) -> dict[str, Any]:
    """Return ``doc`` cut to what the request asked for."""
    keep = _by_default(rtype) if projection.is_default else partial(_keep, rtype, projection)
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key in _ALWAYS_KEYS:
            out[key] = value
            continue
        schema = rtype.schema(key)
        if schema is not None and schema.id != rtype.core.id:
            kept = {}
            for name, inner in value.items():
                piece = keep(name, inner, schema.id)
                if piece is not None:
                    kept[name] = piece
            if kept:
                out[key] = kept
            continue
        piece = keep(key, value, None)
        if piece is not None:
            out[key] = piece
    return out


_UNASKED = ("never", "request")


def _by_default(rtype: ResourceType) -> Callable[[str, Any, str | None], Any]:
    """What a request naming no attributes keeps (most requests): all but what is returned
    ``never`` or only on ``request``, which depends on the name alone, so it is looked up
    once per name (``ResourceType.returned``) rather than weighed against the projection."""

    def keep(name: str, value: Any, urn: str | None) -> Any:
        return None if rtype.returned(name, urn) in _UNASKED else value

    return keep


def _keep(
    rtype: ResourceType, projection: Projection, name: str, value: Any, urn: str | None
) -> Any:
    """The value as the projection leaves it, or None if it drops the attribute."""
    attr = rtype.attribute(name, urn)
    if attr is None:
        return value
    if attr.returned == "never":
        return None
    if attr.returned == "always":
        return value
    key = (attr.schema.lower(), attr.name.lower())
    if projection.attributes is not None:
        named = [
            sub for s, a, sub in projection.attributes if (s, a) == key or (s == key[0] and a == "")
        ]
        if not named:
            return None
        if None in named or not isinstance(value, (dict, list)):
            return value
        return _subset(value, set(s for s in named if s), keep=True)
    if attr.returned == "request":
        return None
    dropped = [sub for s, a, sub in projection.excluded if (s, a) == key]
    if None in dropped:
        return None
    if dropped and isinstance(value, (dict, list)):
        return _subset(value, set(s for s in dropped if s), keep=False)
    return value


def _subset(value: Any, subs: set[str], *, keep: bool) -> Any:
    def cut(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if (k.lower() in subs) == keep}

    if isinstance(value, list):
        return [cut(v) if isinstance(v, dict) else v for v in value]
    return cut(value)
