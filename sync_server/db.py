"""The database: engines for SQLite (embedded default) and PostgreSQL (scale-out).

``Database.write()`` opens a transaction that will write. On SQLite it starts with
``BEGIN IMMEDIATE`` so that writers queue on the file lock up front instead of failing late
with "database is locked" when a read-then-write transaction tries to upgrade. Within one
process, SQLite writers also queue on a lock of ours first: SQLite's own busy handler makes a
waiting writer *sleep* and retry (for up to 100 ms a time), so under load the file lock sat
free while writers slept; a lock hands it over at once. PostgreSQL needs no such trick: one-time
items are consumed by conditional UPDATEs whose row locks serialize racing instances.

The tables come from the migrations (``sync_server.schema``), never from ``create_all``. What a
committed write did is handed to the ``on_commit`` observers (the metrics count it), and every
error the database driver raises to the ``on_error`` ones; a rolled-back write reports nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from sync_server import models  # noqa: F401  (registers the tables)
from sync_server.errors import ConfigCode, ConfigError

log = logging.getLogger("sync_server.db")

# What ``audit.record`` (and ``audit.tally``) leave in ``Session.info`` for the observers.
EVENTS_KEY = "certsync_events"
Event = tuple[str, str, int]  # (action, outcome, how many)


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable with WAL except on power loss
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


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
        # Reentrant, so a (mistakenly) nested write fails on SQLite's lock as before instead of
        # hanging here.
        self._write_lock: AbstractContextManager[Any] = (
            threading.RLock() if self.is_sqlite else nullcontext()
        )
        if self.is_sqlite:
            self._read_engine = _sqlite_engine(url, "BEGIN")
            self._write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
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
            self._read_engine = self._write_engine = engine
        for engine in {self._read_engine, self._write_engine}:
            event.listen(engine, "handle_error", self._report_error)

    def _report_error(self, context: Any) -> None:
        for observer in self.on_error:
            observer(context.original_exception)

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
        try:
            with self._write_lock, self._write_engine.begin() as connection:
                yield connection
        except OperationalError as exc:
            raise connection_error(self, exc) from None

    def dispose(self) -> None:
        self._read_engine.dispose()
        self._write_engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session that commits when the block ends normally and rolls back otherwise."""
        with self._write_lock, Session(self._write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            events: list[Event] = session.info.pop(EVENTS_KEY, [])
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


def connection_error(db: Database, exc: OperationalError) -> ConfigError:
    """A refused connection as one line naming the database and what to fix (no password)."""
    reason = str(exc.orig).strip()
    # libpq's message: "connection to server at "h", port p failed: FATAL:  <why>".
    why = reason.split("FATAL:", 1)[-1].strip().splitlines()[0] if reason else type(exc).__name__
    where = db.description
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
