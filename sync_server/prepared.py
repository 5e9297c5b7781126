"""Prepared reads: a Core ``SELECT`` compiled once for a dialect and run on the DB-API cursor.

The hot paths' lookups (the session check, the status read, a relay slot, the CRL counter) are
one short indexed ``SELECT`` each. SQLite answers them in microseconds; SQLAlchemy's execution
machinery around them (an execution context, the result object, its row adapters) cost ~5×
more Python time than the statement itself, on every request. A ``PreparedSelect`` keeps what
SQLAlchemy computes and then reuses per execution: the SQL text and the order of its
parameters, and the type conversions of the columns — the very processors SQLAlchemy would
apply, taken from the same column types (``UTCDateTime`` stays aware UTC) — and runs the text
on the driver's cursor. The driver caches the parsed statement by its text (``sqlite3``'s
statement cache), so each run is bind, step, convert.

A row comes back as a named tuple of the statement's columns by their keys (its labels), read
as ``row.serial`` or ``row._asdict()``. ``tests/server/test_fast_paths.py`` checks that every
prepared read gives what SQLAlchemy's own execution gives.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect, Select

Processor = Callable[[Any], Any]
AnySelect = Select[*tuple[Any, ...]]  # a SELECT of any columns


class PreparedSelect:
    """One ``SELECT`` compiled for ``dialect``; ``run(connection, params)`` gives its first row."""

    def __init__(self, statement: AnySelect, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        # The driver's parameter style: a list in the order of the ``?`` (SQLite's qmark),
        # else a dict by name (psycopg's pyformat).
        self._positional = compiled.positional
        self._order: Sequence[str] = (
            (compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
        )
        # Values fixed in the statement (its LIMIT, a constant in a WHERE) are taken once.
        self._fixed = dict(compiled.params)
        self._bind: list[tuple[int, Processor]] = []
        for i, name in enumerate(self._order):
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self._bind.append((i, process))
        columns = list(statement.selected_columns)
        names = [str(column.key) for column in columns if column.key]
        if len(names) != len(columns):
            raise ValueError(f"every column of a prepared read needs a name: {self.sql}")
        self.row_type: type[tuple[Any, ...]] = namedtuple("Row", names)  # type: ignore[misc]
        self._result: list[tuple[int, Processor]] = []
        for i, column in enumerate(columns):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                self._result.append((i, process))

    def parameters(self, given: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        """The statement's parameters as the driver takes them, converted as SQLAlchemy would
        bind them."""
        values = {**self._fixed, **given}
        ordered = [values[name] for name in self._order]
        for i, process in self._bind:
            ordered[i] = process(ordered[i])
        return ordered if self._positional else dict(zip(self._order, ordered, strict=True))

    def row(self, values: Sequence[Any]) -> Any:
        """A driver row as the named tuple, each column converted by its type."""
        converted = list(values)
        for i, process in self._result:
            converted[i] = process(converted[i])
        return self.row_type(*converted)

    def run(self, connection: Any, given: Mapping[str, Any]) -> Any:
        """The first row (a named tuple), or ``None``, on a DB-API ``connection``."""
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql, self.parameters(given))
            found = cursor.fetchone()
        finally:
            cursor.close()  # the statement is reset: no read left open on the connection
        return None if found is None else self.row(found)
