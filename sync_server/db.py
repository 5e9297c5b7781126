"""The database: engines for SQLite (embedded default) and PostgreSQL (scale-out).

``Database.write()`` opens a transaction that will write. On SQLite the writes of one process
share transactions (``sync_server.group_commit``): each write runs in a savepoint, one at a
time, and a batch of them commits with one fsync before any of them returns. The batch starts
with ``BEGIN IMMEDIATE`` so that it takes the file lock up front instead of failing late with
"database is locked" when a read-then-write transaction tries to upgrade (another process,
``admin`` or a backup, waits on ``busy_timeout``). PostgreSQL needs no such trick: one
transaction per write, and one-time items are consumed by conditional UPDATEs whose row locks
serialize racing instances.

``Database.read_row()`` is the hot paths' lookup (the session check, the status read): one Core
``SELECT``, no ORM session; on SQLite prepared once and run on the driver's cursor outside any
transaction (``sync_server.prepared``). ``SQLITE_PRAGMAS`` are the SQLite
settings, each with its reason (``synchronous=FULL``: a commit is on disk before it is reported).

The tables come from the migrations (``sync_server.schema``), never from ``create_all``. What a
committed write did is handed to the ``on_commit`` observers (the metrics count it), and every
error the database driver raises to the ``on_error`` ones; a rolled-back write reports nothing.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool, PoolProxiedConnection
from sqlmodel import Session, create_engine

from sync_server import models  # noqa: F401  (registers the tables)
from sync_server.errors import ConfigCode, ConfigError, ErrorCode, ServiceError
from sync_server.group_commit import BatchFailed, GroupCommit, Writer
from sync_server.prepared import REPORT_ERROR_KEY, AnySelect, prepared, sqlalchemy_error

log = logging.getLogger("sync_server.db")

# What ``audit.record`` (and ``audit.tally``) leave in ``Session.info`` for the observers.
EVENTS_KEY = "certsync_events"
Event = tuple[str, str, int]  # (action, outcome, how many)


# Every SQLite connection's settings, chosen for a server that answers only after its write is
# on disk:
# - ``journal_mode=WAL``: readers never wait for the writer nor the writer for readers, and a
#   commit appends to the write-ahead log instead of rewriting pages.
# - ``synchronous=FULL``: every commit fsyncs the WAL before SQLite reports it done, so a
#   certificate, a consumed one-time code or an audit row that an answer reported survives a
#   power loss or an OS crash. (``NORMAL`` would fsync only at checkpoints: durable against a
#   crash of the server process, but a power loss could undo the last commits — a code used
#   once could then be used again, a certificate the customer holds would be unknown here.)
#   It costs one fsync per committed batch of writes (``group_commit``: the writes that arrive
#   together share one), ~0.5 ms on this project's disk, spent outside the GIL; reads do not
#   pay it.
# - ``foreign_keys=ON`` (SQLite's default is off) and ``busy_timeout`` (30 s) for a writer in
#   another process (``admin``, a backup) holding the file lock.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=30000",
)


def _sqlite_engine(url: str, begin: str | None, **kwargs: Any) -> Engine:
    """An engine whose connections have ``SQLITE_PRAGMAS`` and whose transactions start with
    ``begin``; ``None``: none at all, each statement on its own (``Database.read_row``)."""
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        hide_parameters=True,
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    if begin is not None:

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql(begin)

    _plain_savepoints(engine.dialect)
    return engine


def _plain_savepoints(dialect: Any) -> None:
    """Savepoints as plain SQL text on the driver connection (every write of a group commit
    has one). SQLAlchemy compiles a new ``SavepointClause`` for each ``SAVEPOINT``,
    ``RELEASE`` and ``ROLLBACK TO`` — they are not cached — which cost some 10 % of an apply.
    These are the dialect's own hooks for it (``Dialect.do_savepoint`` …); SQLAlchemy still
    tracks the savepoints and fires their events. A driver error is raised as SQLAlchemy
    would raise it."""

    # SQLAlchemy names them itself (``sa_savepoint_1`` …): plain identifiers, quoted anyway.
    dialect.do_savepoint = lambda connection, name: _run_plain(connection, f'SAVEPOINT "{name}"')
    dialect.do_release_savepoint = lambda connection, name: _run_plain(
        connection, f'RELEASE SAVEPOINT "{name}"'
    )
    dialect.do_rollback_to_savepoint = lambda connection, name: _run_plain(
        connection, f'ROLLBACK TO SAVEPOINT "{name}"'
    )


def _run_plain(connection: Connection, sql: str) -> None:
    """``sql`` (a statement without parameters or rows) on ``connection``'s driver connection;
    a driver error raised as SQLAlchemy would raise it."""
    try:
        connection.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        raise sqlalchemy_error(sql, exc) from exc


class _HeldConnection:
    """A row-engine connection one thread holds for its prepared reads. It closes when the
    thread ends (the thread's ``local`` was its only owner) or at ``Database.dispose``."""

    def __init__(self, connection: PoolProxiedConnection) -> None:
        self._connection: PoolProxiedConnection | None = connection
        self.driver_connection = connection.driver_connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    __del__ = close


class Database:
    """Owns the engines; ``read()`` and ``write()`` hand out sessions."""

    def __init__(self, url: str, *, pool: bool = True) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.on_commit: list[Callable[[Sequence[Event]], None]] = []
        self.on_error: list[Callable[[BaseException], None]] = []
        # Engines connect lazily: building them creates no file and opens no connection.
        database = make_url(url).database if self.is_sqlite else None
        self.sqlite_path: Path | None = Path(database) if database else None
        self._group: GroupCommit | None = None
        # SQLite: the one thread the server's write requests run on (``app.py``); None on
        # PostgreSQL, whose writes run in the thread pool, one transaction each.
        self.writer: Writer | None = None
        if self.is_sqlite:
            self._read_engine = _sqlite_engine(url, "BEGIN")
            self._write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
            self._group = GroupCommit(self._write_engine)
            self.writer = Writer(self._group, _batch_failure)
            # One statement, no transaction; each thread holds its own connection for the
            # prepared reads (``_thread_connection``), so no pool limit applies.
            self._row_engine = _sqlite_engine(url, None, poolclass=NullPool)
        else:
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            kwargs: dict[str, Any] = (
                {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}
                if pool
                else {"poolclass": NullPool}
            )
            # hide_parameters: an error's text (which may reach a log) never shows a value.
            engine = create_engine(url, hide_parameters=True, **kwargs)
            self._read_engine = self._write_engine = self._row_engine = engine
        for engine in {self._read_engine, self._write_engine, self._row_engine}:
            event.listen(engine, "handle_error", self._report_error)
        self._row_connections = threading.local()
        self._held_row_connections: weakref.WeakSet[_HeldConnection] = weakref.WeakSet()

    def _report_error(self, context: Any) -> None:
        self._report(context.original_exception)

    def _report(self, error: BaseException) -> None:
        for observer in self.on_error:
            observer(error)

    @property
    def display_url(self) -> str:
        """The URL with any password masked: safe for messages, ``--verbose`` and logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def description(self) -> str:
        """What an operator recognises: the SQLite file, or PostgreSQL's database and server."""
        if self.is_sqlite:
            return f"SQLite {self.sqlite_path}"
        url = make_url(self.url)
        return f"PostgreSQL {url.database} on {url.host or 'localhost'}:{url.port or 5432}"

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection in a write transaction (committed at the end), for the migrations.

        Refusals to connect become one ``ConfigError`` line an operator can act on.
        """
        turn = self._group.exclusive() if self._group is not None else nullcontext()
        try:
            with turn, self._write_engine.begin() as connection:
                yield connection
        except OperationalError as exc:
            raise connection_error(self, exc) from None

    def dispose(self) -> None:
        if self.writer is not None:
            self.writer.stop()
        self._row_connections = threading.local()
        for held in list(self._held_row_connections):
            held.close()
        self._read_engine.dispose()
        self._write_engine.dispose()
        self._row_engine.dispose()

    def read_row(self, statement: AnySelect, params: Mapping[str, Any]) -> Any:
        """The first row of one Core ``SELECT`` as a named tuple of its columns, or ``None``:
        the hot paths' lookups. Several reads that must agree with each other use ``read()``.

        On SQLite the statement is prepared once (``sync_server.prepared``: compiled, its
        column conversions SQLAlchemy's own) and runs on this thread's own connection of the
        row engine, in autocommit: no ``BEGIN``, no rollback, no pool checkout, and a single
        statement sees one committed state anyway. On PostgreSQL (reads there run in the
        thread pool and cross the network) it runs through SQLAlchemy on a pooled connection.
        """
        ready = prepared(statement, self._row_engine.dialect)
        if not self.is_sqlite:
            with self._row_engine.connect() as connection:
                return ready.adopt(connection.execute(statement, params)).first()
        try:
            return ready.run(self._thread_connection(), params)
        except DBAPIError as exc:  # what SQLAlchemy's ``handle_error`` would have reported
            self._report(exc.orig or exc)
            raise

    def _thread_connection(self) -> Any:
        """This thread's DB-API connection of the row engine: opened on its first read, held
        while the thread lives (the event loop's, a pool worker, the writer), closed when it
        ends or at ``dispose``."""
        held: _HeldConnection | None = getattr(self._row_connections, "held", None)
        if held is None:
            held = _HeldConnection(self._row_engine.raw_connection())
            self._held_row_connections.add(held)
            self._row_connections.held = held
        return held.driver_connection

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session that commits when the block ends normally and rolls back otherwise.

        A write refused for lack of space is ``storage_full`` (503), here, once for every
        caller: not a bug, and nothing of it is kept (reads go on; the first write after space
        returns succeeds).
        """
        if self._group is not None:  # SQLite: a savepoint in the current group commit
            try:
                with self._group.write() as session:
                    session.info[REPORT_ERROR_KEY] = self._report
                    yield session
            except BaseException as exc:
                if is_storage_full(exc):
                    raise storage_full_error() from exc
                raise
            events: list[Event] = session.info.pop(EVENTS_KEY, [])
        else:
            with Session(self._write_engine, expire_on_commit=False) as session:
                session.info[REPORT_ERROR_KEY] = self._report
                try:
                    yield session
                    session.commit()
                except BaseException as exc:
                    session.rollback()
                    if is_storage_full(exc):
                        raise storage_full_error() from exc
                    raise
                events = session.info.pop(EVENTS_KEY, [])
        if events:
            for observer in self.on_commit:
                observer(events)

    def notify(self, session: Session, channel: str, payload: str) -> None:
        """Tell other instances, on commit (PostgreSQL NOTIFY); a no-op on SQLite's one process."""
        if not self.is_sqlite:
            session.connection().execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": channel, "payload": payload},
            )

    def listen(self, channel: str, callback: Callable[[str], object]) -> Callable[[], None]:
        """Call ``callback(payload)`` for each NOTIFY on ``channel``; returns a stop function.

        One daemon thread per instance holds a dedicated connection. On SQLite there is only
        one process, so there is nothing to listen to.
        """
        if self.is_sqlite:
            return lambda: None
        import psycopg

        stop = threading.Event()
        dsn = self._write_engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )

        def run() -> None:
            while not stop.is_set():
                try:
                    with psycopg.connect(dsn, autocommit=True) as conn:
                        conn.execute(f"LISTEN {channel}")
                        while not stop.is_set():
                            for note in conn.notifies(timeout=0.5):
                                callback(note.payload)
                except Exception:
                    log.exception("LISTEN %s failed; retrying", channel)
                    stop.wait(1.0)

        thread = threading.Thread(target=run, name=f"listen-{channel}", daemon=True)
        thread.start()

        def stop_listening() -> None:
            stop.set()
            thread.join(timeout=2.0)

        return stop_listening

    def __repr__(self) -> str:
        # The URL may hold a password: show only the dialect.
        return f"Database({self.url.split(':', 1)[0]}:…)"


# SQLite's primary result code SQLITE_FULL; PostgreSQL's SQLSTATE disk_full (class 53).
_SQLITE_FULL = 13
_PG_DISK_FULL = "53100"


def is_storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) says the disk under the database is full."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        sqlite_code = getattr(current, "sqlite_errorcode", None)  # sqlite3.Error, 3.11+
        if isinstance(sqlite_code, int) and sqlite_code & 0xFF == _SQLITE_FULL:
            return True
        if getattr(current, "sqlstate", None) == _PG_DISK_FULL:
            return True
        if isinstance(current, DBAPIError) and current.orig is not None:
            current = current.orig
        else:
            current = current.__cause__ or current.__context__
    return False


def _batch_failure(cause: BaseException) -> BaseException:
    """What each write of a group commit that was not kept raises (``storage_full`` if so)."""
    if is_storage_full(cause):
        return storage_full_error()
    failed = BatchFailed("the write's batch was not committed")
    failed.__cause__ = cause
    return failed


def _no_room_beside(path: Path | None) -> bool:
    """Whether the file system that holds ``path`` has no free block left."""
    if path is None:
        return False
    try:
        return os.statvfs(path.parent).f_bavail == 0
    except (OSError, AttributeError):  # no such folder; no statvfs on Windows
        return False


def storage_full_error() -> ServiceError:
    """The refusal of a write the disk had no room for (the operator must free space)."""
    return ServiceError(
        ErrorCode.STORAGE_FULL,
        "The server has no room left to save this; nothing was changed. Try again later.",
    )


def connection_error(db: Database, exc: OperationalError) -> ConfigError:
    """A refused connection as one line naming the database and what to fix (no password)."""
    reason = str(exc.orig).strip()
    # libpq's message: "connection to server at "h", port p failed: FATAL:  <why>".
    why = reason.split("FATAL:", 1)[-1].strip().splitlines()[0] if reason else type(exc).__name__
    where = db.description
    if db.is_sqlite and (is_storage_full(exc) or _no_room_beside(db.sqlite_path)):
        # SQLite says only "disk I/O error" when it cannot even create its -wal/-shm files.
        return ConfigError(
            f"Cannot open {where}: the disk it is on is full. Free space on it, then try again.",
            code=ConfigCode.DISK_FULL,
        )
    if db.is_sqlite:
        return ConfigError(f"Cannot open {where}: {why}.", code=ConfigCode.DATABASE_UNREACHABLE)
    url = make_url(db.url)
    if "does not exist" in why and why.startswith("database"):
        return ConfigError(
            f"{where}: {why}. Create it (createdb -O {url.username or 'USER'} {url.database}) "
            "or fix SYNC_DATABASE_URL.",
            code=ConfigCode.DATABASE_MISSING,
        )
    if why.startswith("role") or "authentication failed" in why or "no pg_hba.conf" in why:
        return ConfigError(
            f"{where} refused the user {url.username!r}: {why}. Fix the user or password in "
            "SYNC_DATABASE_URL, or grant the user access.",
            code=ConfigCode.DATABASE_REFUSED,
        )
    first = " ".join(why.split())
    return ConfigError(f"Cannot reach {where}: {first}.", code=ConfigCode.DATABASE_UNREACHABLE)
