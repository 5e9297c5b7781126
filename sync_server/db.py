"""The database: engines for SQLite (embedded default) and PostgreSQL (scale-out).

``Database.write()`` opens a transaction that will write. On SQLite it starts with
``BEGIN IMMEDIATE`` so that writers queue on the file lock up front instead of failing late
with "database is locked" when a read-then-write transaction tries to upgrade. Within one
process, SQLite writers also queue on a lock of ours first: SQLite's own busy handler makes a
waiting writer *sleep* and retry (for up to 100 ms a time), so under load the file lock sat
free while writers slept; a lock hands it over at once. PostgreSQL needs no such trick: one-time
items are consumed by conditional UPDATEs whose row locks serialize racing instances.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel, create_engine

from sync_server import models  # noqa: F401  (registers the tables)
from sync_server.errors import ConfigError

log = logging.getLogger("sync_server.db")


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

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
            engine = create_engine(url, **kwargs)
            self._read_engine = self._write_engine = engine

    def create_all(self) -> None:
        """Create missing tables, then refuse a database whose tables lack columns we use.

        There are no migrations yet: a table made by an older version keeps its old columns,
        and every request touching them would fail. Better one clear line at start-up.
        """
        SQLModel.metadata.create_all(self._write_engine)
        inspector = inspect(self._write_engine)
        for table in SQLModel.metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            missing = [column.name for column in table.columns if column.name not in present]
            if missing:
                raise ConfigError(
                    f"The database was made by an older CertSync: table {table.name} lacks "
                    f"{', '.join(missing)}. Add the columns or start on a new database."
                )

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
