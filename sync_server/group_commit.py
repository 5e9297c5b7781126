"""Group commit for SQLite's one writer: many writes, one transaction, one fsync.

With ``synchronous=FULL`` every commit fsyncs the write-ahead log, and SQLite has one writer:
if each write committed on its own, the writers would queue behind one fsync each. Here the
writes that arrive while one runs share its transaction instead. Each write runs in a
``SAVEPOINT`` of the batch's transaction, one at a time (the *turn*), and releases it when its
block ends; the write that finds nobody waiting for the turn commits the batch — one
``COMMIT``, one fsync — and only then does any write of the batch return. So no caller answers
before its rows are on disk, and a write whose block raises rolls back its own savepoint only:
it gets its own error, the others in the batch commit.

A batch ends with the first write that finds no one waiting, or at ``MAX_BATCH`` writes, so a
steady stream of writers cannot hold its first member back for long. If the batch's ``COMMIT``
fails (a full disk, an I/O error) or SQLite aborts the whole transaction under a write (it may,
on ``SQLITE_FULL`` or ``SQLITE_IOERR``), every write of the batch raises ``BatchFailed`` with
that cause: nothing of the batch was kept. A write is never nested in another on the same
thread (that would wait for itself); doing so is a bug and raises ``RuntimeError``.

Writes inside a batch see the uncommitted rows of the writes before them (same connection),
as they would have seen them committed one by one; readers elsewhere see the batch once it is
committed. PostgreSQL does not use this: instances race there, and its transactions stay
one per write, guarded by the conditional ``UPDATE``s.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlmodel import Session

MAX_BATCH = 64


class BatchFailed(Exception):
    """The batch this write was part of was not committed (the cause is chained)."""


class _Batch:
    """The writes that share one transaction, and how it ended."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.members = 0
        self.done = threading.Event()
        self.failure: BaseException | None = None  # why nothing of it was kept


class GroupCommit:
    """Runs SQLite writes from any thread in shared transactions on ``engine``'s connections."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._turn = threading.Lock()  # one write at a time in the open transaction
        self._count_lock = threading.Lock()
        self._waiting = 0  # threads waiting for the turn
        self._batch: _Batch | None = None
        self._owner: int | None = None  # the thread that holds the turn

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a savepoint of the current batch; returns once the batch committed."""
        batch = self._take_turn()
        failure: BaseException | None = None
        try:
            with Session(
                bind=batch.connection,
                join_transaction_mode="create_savepoint",
                expire_on_commit=False,
            ) as session:
                try:
                    yield session
                    session.commit()  # RELEASE SAVEPOINT
                except BaseException as exc:
                    failure = exc
                    try:
                        session.rollback()  # ROLLBACK TO SAVEPOINT: this write only
                    except Exception as undo_failed:
                        batch.failure = undo_failed
                    if not _in_transaction(batch.connection):  # SQLite aborted it all
                        batch.failure = batch.failure or exc
        finally:
            self._end_turn(batch)
        if failure is not None:
            raise failure
        if batch.failure is not None:
            raise BatchFailed("the write's batch was not committed") from batch.failure

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """The turn with no batch open (for the migrations, which commit on their own)."""
        self._wait_for_turn()
        try:
            if self._batch is not None:
                self._finish(self._batch)
        finally:
            self._owner = None
        try:
            yield
        finally:
            self._turn.release()

    def _wait_for_turn(self) -> None:
        if self._owner == threading.get_ident():
            raise RuntimeError("a database write was nested in another on the same thread")
        with self._count_lock:
            self._waiting += 1
        self._turn.acquire()
        with self._count_lock:
            self._waiting -= 1
        self._owner = threading.get_ident()

    def _take_turn(self) -> _Batch:
        self._wait_for_turn()
        try:
            if self._batch is None:
                connection = self._engine.connect()
                try:
                    connection.begin()  # BEGIN IMMEDIATE (the engine's "begin" listener)
                except BaseException:
                    connection.close()
                    raise
                self._batch = _Batch(connection)
            return self._batch
        except BaseException:
            self._owner = None
            self._turn.release()
            raise

    def _end_turn(self, batch: _Batch) -> None:
        """Commit the batch if this write is its last, else hand the turn on; then wait for
        the batch's end."""
        batch.members += 1
        with self._count_lock:
            last = self._waiting == 0
        if last or batch.members >= MAX_BATCH or batch.failure is not None:
            try:
                self._finish(batch)
            finally:
                self._owner = None
                self._turn.release()
        else:
            self._owner = None
            self._turn.release()
            batch.done.wait()

    def _finish(self, batch: _Batch) -> None:
        """Commit (or, after a failure, roll back) the batch and wake its writes."""
        self._batch = None
        try:
            if batch.failure is None:
                batch.connection.commit()  # COMMIT: the fsync the whole batch shares
            else:
                batch.connection.rollback()
        except BaseException as exc:
            batch.failure = batch.failure or exc
        finally:
            try:
                batch.connection.close()
            finally:
                batch.done.set()


def _in_transaction(connection: Connection) -> bool:
    """Whether SQLite still has the batch's transaction open (it may abort it on its own)."""
    try:
        raw = connection.connection.driver_connection
    except Exception:  # the connection itself is gone
        return False
    return bool(getattr(raw, "in_transaction", False))
