"""Prepared statements: a Core statement compiled once for a dialect, run on the driver's cursor.

The hot paths' statements are short: an indexed ``SELECT`` (the session check, the status
read), a conditional ``UPDATE … RETURNING`` (a one-time code used up, a relay slot claimed), a
one-row ``INSERT`` (the certificate, the audit row). SQLite runs each in microseconds;
SQLAlchemy's execution machinery around them (an execution context, the result object, its row
adapters, events) cost several times more Python time than the statement, on every request. A
``Prepared`` keeps what SQLAlchemy computes and would then redo per execution: the SQL text,
the order of its parameters with their bind conversions, the values the statement fixes (a
``LIMIT``, a constant, a column's scalar default), and the result columns' conversions — the
very processors SQLAlchemy applies, taken from the same column types (``UTCDateTime`` stays
aware UTC). It runs the text on the driver's cursor, which caches the parsed statement by its
text (``sqlite3``'s statement cache), so each run is bind, step, convert.

Rows come back as named tuples of the statement's result columns by their keys (its labels):
``row.serial``, ``row[0]``, ``row._asdict()``. ``tests/server/test_fast_paths.py`` checks that
every prepared statement the server runs gives what SQLAlchemy's own execution gives.

``Database.read_row`` runs a ``SELECT`` on its own; ``execute(session, statement, params)``
runs any of them in a write's transaction (see there).
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect, Insert, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.schema import ScalarElementColumnDefault
from sqlmodel import Session

Processor = Callable[[Any], Any]
AnySelect = Select[*tuple[Any, ...]]  # a SELECT of any columns
Statement = AnySelect | UpdateBase

# What ``Database.write`` leaves in its session's ``info``: how to report a driver error (the
# metrics count them), as SQLAlchemy's ``handle_error`` event does for its own executions.
REPORT_ERROR_KEY = "certsync_report_error"


class Prepared:
    """One statement compiled for ``dialect`` (an ``INSERT`` for the columns it is given)."""

    def __init__(
        self, statement: Statement, dialect: Dialect, column_keys: Sequence[str] | None = None
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = compiled.string
        # Runs on SQLite's driver only (qmark: a list in the order of the ``?``); for another
        # dialect a ``Prepared`` only names and converts the rows SQLAlchemy gives (``adopt``).
        self._runnable = compiled.positional
        self._order: Sequence[str] = compiled.positiontup or ()
        # Values the statement fixes (its LIMIT, a constant), taken once.
        self._fixed: dict[str, Any] = dict(compiled.params)
        # An INSERT's columns not given get their scalar default, as SQLAlchemy would fill in.
        defaults = [(c, c.default) for c in compiled.insert_prefetch]
        defaults += [(c, c.onupdate) for c in compiled.update_prefetch]
        for column, default in defaults:
            if not isinstance(default, ScalarElementColumnDefault):
                raise ValueError(f"{column} has a default a prepared statement cannot fill")
            self._fixed[column.key] = default.arg
        self._bind: list[tuple[int, Processor]] = []
        for i, name in enumerate(self._order):
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self._bind.append((i, process))
        self.returns_rows = isinstance(statement, Select) or bool(compiled.returning)
        columns: list[ColumnElement[Any]] = (
            list(statement.exported_columns) if self.returns_rows else []
        )
        names = [str(column.key) for column in columns if column.key]
        if len(names) != len(columns):
            raise ValueError(
                f"every result column of a prepared statement needs a name: {self.sql}"
            )
        self.row_type: type[tuple[Any, ...]] = namedtuple("Row", names)  # type: ignore[misc]
        self._result: list[tuple[int, Processor]] = []
        for i, result_column in enumerate(columns):
            process = result_column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                self._result.append((i, process))

    def parameters(self, given: Mapping[str, Any]) -> list[Any]:
        """The statement's parameters in the order of its ``?``, converted as SQLAlchemy would
        bind them (keys the statement has no use for are left out, as SQLAlchemy does)."""
        if not self._runnable:
            raise TypeError(f"not a statement for SQLite's driver: {self.sql}")
        values = {**self._fixed, **given}
        ordered = [values[name] for name in self._order]
        for i, process in self._bind:
            ordered[i] = process(ordered[i])
        return ordered

    def row(self, values: Sequence[Any]) -> Any:
        """A driver row as the named tuple, each column converted by its type."""
        converted = list(values)
        for i, process in self._result:
            converted[i] = process(converted[i])
        return self.row_type(*converted)

    def run(self, connection: Any, given: Mapping[str, Any]) -> Any:
        """The first row (a named tuple), or ``None``, on a DB-API ``connection``."""
        return self.execute(connection, given).first()

    def execute(self, connection: Any, given: Mapping[str, Any]) -> Outcome:
        """Run on a DB-API ``connection`` (SQLite's); every row is read and the statement
        reset, so nothing is left open on the connection. A driver error is raised as
        SQLAlchemy would raise it (``sqlalchemy_error``)."""
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql, self.parameters(given))
            rows = [self.row(found) for found in cursor.fetchall()] if self.returns_rows else []
            return Outcome(rows, cursor.rowcount)
        except sqlite3.Error as exc:
            raise sqlalchemy_error(self.sql, exc) from exc
        finally:
            cursor.close()

    def adopt(self, result: Any) -> Outcome:
        """What SQLAlchemy's own execution of the statement gave (PostgreSQL), as an
        ``Outcome`` of the same named tuples."""
        rows = [self.row_type(*found) for found in result] if result.returns_rows else []
        return Outcome(rows, result.rowcount)


def sqlalchemy_error(sql: str, exc: sqlite3.Error) -> DBAPIError:
    """A driver error as the exception SQLAlchemy raises for it (``IntegrityError``,
    ``OperationalError``, …: the original in ``.orig``), its parameters never shown."""
    error = DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True)
    assert isinstance(error, DBAPIError)  # a driver error is always one
    return error


class Outcome:
    """What a prepared statement did: its rows (named tuples) and how many rows it changed."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


_PREPARED: dict[tuple[Any, ...], Prepared] = {}


def prepared(
    statement: Statement, dialect: Dialect, column_keys: Sequence[str] | None = None
) -> Prepared:
    """``statement`` prepared for ``dialect``, compiled on first use (a race only compiles
    twice). Statements are module constants, so the cache holds a few dozen."""
    key = (statement, dialect.name, tuple(column_keys) if column_keys is not None else None)
    found = _PREPARED.get(key)
    if found is None:
        found = _PREPARED[key] = Prepared(statement, dialect, column_keys)
    return found


def execute(session: Session, statement: Statement, params: Mapping[str, Any]) -> Outcome:
    """Run ``statement`` in ``session``'s transaction (a write's savepoint), prepared.

    On SQLite it runs on the transaction's own driver connection; a driver error is raised as
    SQLAlchemy would raise it and reported as SQLAlchemy's executions report theirs. On
    PostgreSQL (whose statements cross the network anyway) it runs through SQLAlchemy on the
    session's connection.
    """
    connection = session.connection()
    dialect = connection.dialect
    # An INSERT is compiled for the columns it is given (its table's only; others are ignored).
    keys = sorted(params) if isinstance(statement, Insert) else None
    ready = prepared(statement, dialect, keys)
    if dialect.name != "sqlite":
        return ready.adopt(connection.execute(statement, params))
    try:
        return ready.execute(connection.connection.driver_connection, params)
    except DBAPIError as exc:
        report = session.info.get(REPORT_ERROR_KEY)
        if report is not None:
            report(exc.orig or exc)
        raise
