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

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlmodel import Session

MAX_BATCH = 64
T = TypeVar("T")


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
        self._writer_batch: _Batch | None = None  # held by the writer thread for its jobs
        self._depth = 0  # savepoints open (0 or 1: a write is never nested)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a savepoint of the current batch; returns once the batch committed
        (on the writer thread: at once, its job's answer waits for the commit instead)."""
        held = self._writer_batch
        if held is not None and self._owner == threading.get_ident():
            if self._depth:
                raise RuntimeError("a database write was nested in another on the same thread")
            with self._savepoint(held) as session:
                yield session
            return
        batch = self._take_turn()
        try:
            with self._savepoint(batch) as session:
                yield session
        finally:
            self._end_turn(batch)
        if batch.failure is not None:
            raise BatchFailed("the write's batch was not committed") from batch.failure

    @contextmanager
    def batch(self) -> Iterator[_Batch]:
        """The turn and an open batch for this thread's writes (the writer's), committed at
        the end; ``write()`` on this thread meanwhile only adds a savepoint to it."""
        batch = self._take_turn()
        self._writer_batch = batch
        try:
            yield batch
        finally:
            self._writer_batch = None
            try:
                self._finish(batch)
            finally:
                self._owner = None
                self._turn.release()

    @contextmanager
    def _savepoint(self, batch: _Batch) -> Iterator[Session]:
        """One write: a savepoint of ``batch``'s transaction, released or rolled back alone."""
        self._depth += 1
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
                    try:
                        session.rollback()  # ROLLBACK TO SAVEPOINT: this write only
                    except Exception as undo_failed:
                        batch.failure = batch.failure or undo_failed
                    if not _in_transaction(batch.connection):  # SQLite aborted it all
                        batch.failure = batch.failure or exc
                    raise
        finally:
            self._depth -= 1

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
            # SQLite may keep the transaction open after a refused COMMIT (a deferred
            # constraint, SQLITE_BUSY), and SQLAlchemy, which counts it ended, then skips the
            # pool's rollback: the connection would go back to the pool mid-transaction, with
            # the lost batch's rows and the write lock, and every batch after would fail on
            # it. Closing it instead rolls back whatever is left; the pool opens a fresh one.
            batch.connection.invalidate()
        finally:
            try:
                batch.connection.close()
            finally:
                batch.done.set()


class Writer:
    """The one thread that runs the server's write requests on SQLite, a batch at a time.

    A route hands its whole service call to ``run``; the thread takes every job queued (up to
    ``MAX_BATCH``), runs each in turn inside one batch (each ``db.write()`` a savepoint of it),
    commits once and only then hands each job's result or error back to its request. So a
    write costs no hand-off of the turn between pool threads and no commit of its own, and no
    request is answered before its rows are on disk. Calls that are mostly something else (a
    login's Argon2id) stay in the thread pool and join a batch through ``GroupCommit.write``.
    """

    def __init__(
        self, group: GroupCommit, on_batch_failure: Callable[[BaseException], BaseException]
    ) -> None:
        self._group = group
        self._on_batch_failure = on_batch_failure  # the error each job of a lost batch gets
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the writer thread; returns (or raises) once its batch committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._start()
        self._jobs.put(_Job(fn, args, loop, future))
        result: T = await future
        return result

    def stop(self) -> None:
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout=10)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run_forever, name="sqlite-writer", daemon=True
                )
                self._thread.start()

    def _run_forever(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            jobs = [job]
            try:
                with self._group.batch() as batch:
                    job.run()
                    while len(jobs) < MAX_BATCH and batch.failure is None:
                        try:
                            more = self._jobs.get_nowait()
                        except queue.Empty:
                            break
                        if more is None:
                            self._jobs.put(None)  # stop after this batch
                            break
                        jobs.append(more)
                        more.run()
            except BaseException as exc:  # the batch could not begin or commit
                batch_failure: BaseException | None = exc
            else:
                batch_failure = batch.failure
            for done in jobs:
                if batch_failure is not None and done.error is None:
                    done.error = self._on_batch_failure(batch_failure)
                done.answer()


class _Job:
    """One service call for the writer, and its outcome for the request that waits."""

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
    ) -> None:
        self.fn, self.args, self.loop, self.future = fn, args, loop, future
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.fn(*self.args)
        except Exception as exc:  # the request's own error (a refusal, a failed write)
            self.error = exc

    def answer(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            self.loop.call_soon_threadsafe(self._settle)

    def _settle(self) -> None:
        if self.future.cancelled():  # the request went away; its write stands
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.result)


def _in_transaction(connection: Connection) -> bool:
    """Whether SQLite still has the batch's transaction open (it may abort it on its own)."""
    try:
        raw = connection.connection.driver_connection
    except Exception:  # the connection itself is gone
        return False
    return bool(getattr(raw, "in_transaction", False))
