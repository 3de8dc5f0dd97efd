"""Record the SQL a block of test code makes a connection run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import NamedTuple

from sqlalchemy import event


class Execution(NamedTuple):
    """One statement as ``before_cursor_execute`` saw it (``context`` is None for a
    statement sent straight to the driver, ``scim_server/storage/prepared.py``)."""

    statement: str
    parameters: Any
    context: Any
    executemany: bool


def executions_during(connection: Any, action: Callable[[], Any]) -> list[Execution]:
    """Run ``action``; return every statement ``connection`` executed meanwhile, in order.

    Counted at ``before_cursor_execute``, so reads, writes and savepoints all appear.
    """
    seen: list[Execution] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(Execution(statement, parameters, context, executemany))

    event.listen(connection, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    return seen


def statements_during(connection: Any, action: Callable[[], Any]) -> list[str]:
    """The statements of ``executions_during``."""
    return [execution.statement for execution in executions_during(connection, action)]
