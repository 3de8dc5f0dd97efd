"""Record the SQL a block of test code makes a connection run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event


def statements_during(connection: Any, action: Callable[[], Any]) -> list[str]:
    """Run ``action``; return every statement ``connection`` executed meanwhile, in order.

    Counted at ``before_cursor_execute``, so reads, writes and savepoints all appear.
    """
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    return seen
