"""The application class: Flask's coroutine check, answered once per function."""

from __future__ import annotations

from typing import Any

from scim_server.app import ScimFlask


def _sync_view() -> str:
    return "ok"


async def _async_view() -> str:
    return "ok"


class _Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __call__(self) -> str:
        return "ok"


def test_a_plain_function_is_itself_every_time() -> None:
    app = ScimFlask("t")
    assert app.ensure_sync(_sync_view) is _sync_view
    assert app.ensure_sync(_sync_view) is _sync_view


def test_a_coroutine_function_is_never_handed_back_as_it_is() -> None:
    """Flask wraps it (or, without its async extra, refuses it) on every call, the second
    one included: a cache that stored the function would hand back a coroutine."""
    app = ScimFlask("t")
    for _ in range(2):
        try:
            wrapped: Any = app.ensure_sync(_async_view)
        except RuntimeError as error:  # Flask installed without asgiref
            assert "async" in str(error)
        else:
            assert wrapped is not _async_view
            assert wrapped() == "ok"


def test_an_unhashable_callable_still_passes() -> None:
    app = ScimFlask("t")
    handler = _Unhashable()
    assert app.ensure_sync(handler) is handler


def test_functions_made_per_call_fill_the_cache_only_to_its_bound() -> None:
    app = ScimFlask("t")
    for n in range(ScimFlask.MAX_CACHED + 50):

        def made(n: int = n) -> int:
            return n

        assert app.ensure_sync(made) is made
    assert len(app._synced) == ScimFlask.MAX_CACHED


def test_the_app_is_built_on_it(client: Any) -> None:
    assert isinstance(client.application, ScimFlask)
    assert client.get("/healthz").status_code == 200
