"""SQLite's group commit (``sync_server.group_commit``): many writes share one commit, each
in its own savepoint, and none returns before its batch is on disk.

What is checked against the file itself (re-opened with the ``sqlite3`` module after the
writes returned): every write that returned is there; a write that raised left nothing and
took nothing of its batch with it; the one-time code is still used exactly once when many
applies race for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from sync_client.codes import ErrorCode
from sync_client.keys import build_csr_pem, generate_private_key
from sync_server import audit
from sync_server.db import Database
from sync_server.errors import ServiceError
from sync_server.group_commit import BatchFailed
from sync_server.host import Host

from .harness import ServerHarness, race


def _count_in_file(host: Host, sql: str, *params: Any) -> int:
    """A count read from the database file by a connection of its own, not the server's."""
    path = host.db.sqlite_path
    assert path is not None
    with contextlib.closing(sqlite3.connect(Path(path))) as raw:
        (count,) = raw.execute(sql, params).fetchone()
    return int(count)


def _commits(db: Database) -> list[int]:
    """A list that grows by one at each COMMIT of ``db``'s writes."""
    seen: list[int] = []
    event.listen(db._write_engine, "commit", lambda _conn: seen.append(1))
    return seen


def _on_threads(calls: list[Callable[[], None]]) -> list[BaseException | None]:
    """Run the calls on threads released together; what each raised (``None``: returned)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            calls[index]()
        except BaseException as exc:  # handed to the test below
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def _write_audit_row(host: Host, detail: str, *, hold: float = 0.0) -> None:
    with host.db.write() as session:
        audit.record(session, now=host.now(), action="group_commit_test", detail=detail)
        time.sleep(hold)  # others arrive meanwhile and wait for the turn: they join this batch


def test_concurrent_writes_are_all_on_disk_in_fewer_commits(server: ServerHarness) -> None:
    host = server.host
    commits = _commits(host.db)
    threads, per_thread = 8, 5

    def writer(index: int) -> Callable[[], None]:
        def run() -> None:
            for n in range(per_thread):
                _write_audit_row(host, f"w{index}-{n}", hold=0.002)

        return run

    outcomes = _on_threads([writer(i) for i in range(threads)])
    assert outcomes == [None] * threads
    # Every write that returned is in the file, read by a connection of its own.
    written = _count_in_file(
        host, "SELECT count(*) FROM audit_event WHERE action = ?", "group_commit_test"
    )
    assert written == threads * per_thread
    # …and they shared commits: 40 writes arriving together do not take 40 fsyncs.
    assert 1 <= len(commits) < threads * per_thread


def test_a_failing_write_rolls_back_only_itself(server: ServerHarness) -> None:
    host = server.host
    group = host.db._group
    assert group is not None
    commits = _commits(host.db)
    first_in = threading.Event()

    def first() -> None:
        with host.db.write() as session:
            audit.record(session, now=host.now(), action="group_commit_test", detail="first")
            first_in.set()
            # Hold the turn until both others wait for it: all three share this batch.
            deadline = time.monotonic() + 10
            while group._waiting < 2 and time.monotonic() < deadline:
                time.sleep(0.001)

    def failing() -> None:
        first_in.wait(10)
        with host.db.write() as session:
            audit.record(session, now=host.now(), action="group_commit_test", detail="failing")
            session.flush()  # the row is written in its savepoint…
            raise ValueError("this write fails")  # …and rolled back with it

    def other() -> None:
        first_in.wait(10)
        _write_audit_row(host, "other")

    outcomes = _on_threads([first, failing, other])
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)  # its own error, and only for it
    assert len(commits) == 1  # one batch
    with contextlib.closing(sqlite3.connect(str(host.db.sqlite_path))) as raw:
        found = raw.execute("SELECT detail FROM audit_event WHERE action = 'group_commit_test'")
        rows = {detail for (detail,) in found}
    assert rows == {"first", "other"}


def test_a_write_nested_in_another_is_refused_not_hung(server: ServerHarness) -> None:
    db = server.host.db
    before = _count_in_file(server.host, "SELECT count(*) FROM audit_event")
    with pytest.raises(RuntimeError, match="nested"), db.write() as session:
        audit.record(session, now=server.host.now(), action="group_commit_test")
        with db.write():
            pass
    assert _count_in_file(server.host, "SELECT count(*) FROM audit_event") == before
    _write_audit_row(server.host, "after")  # the turn was given back
    assert _count_in_file(server.host, "SELECT count(*) FROM audit_event") == before + 1


def test_one_code_raced_by_many_applies_is_used_once(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    token = server.login_token(customer_id)
    code = server.enrollment_code(customer_id)
    keys = [generate_private_key("ec") for _ in range(6)]
    body = [
        {"enrollment_code": code, "terms_accepted": True, "csr_pem": build_csr_pem(k, customer_id)}
        for k in keys
    ]
    answers = race(*(lambda b=b: server.post("/certificate/apply", token, b) for b in body))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 1, statuses
    assert {a.json()["error"] for a in answers if a.status_code != 201} <= {
        "enrollment_code_used",
        "certificate_already_valid",
    }
    host = server.host
    assert (
        _count_in_file(host, "SELECT count(*) FROM certificate WHERE customer_id = ?", customer_id)
        == 1
    )
    assert (
        _count_in_file(
            host,
            "SELECT count(*) FROM enrollment_code WHERE customer_id = ? AND used_at IS NOT NULL",
            customer_id,
        )
        == 1
    )


def test_applies_over_http_run_on_the_writer_and_are_on_disk_when_answered(
    server: ServerHarness,
) -> None:
    assert server.host.db.writer is not None  # SQLite: the write routes use the writer thread
    commits = _commits(server.host.db)
    people = [server.add_customer() for _ in range(6)]
    calls = []
    for customer_id in people:
        token = server.login_token(customer_id)
        body = {
            "enrollment_code": server.enrollment_code(customer_id),
            "terms_accepted": True,
            "csr_pem": build_csr_pem(generate_private_key("ec"), customer_id),
        }
        calls.append(lambda t=token, b=body: server.post("/certificate/apply", t, b))
    before = len(commits)
    answers = race(*calls)
    assert [a.status_code for a in answers] == [201] * len(people)
    assert 1 <= len(commits) - before <= len(people)
    serials = [a.json()["certificate"]["serial"] for a in answers]
    for serial in serials:
        assert (
            _count_in_file(
                server.host, "SELECT count(*) FROM certificate WHERE serial = ?", str(serial)
            )
            == 1
        )


# When a batch is lost. The failures are SQLite's own, on the server's own connection: no
# stand-in for the database, no patched code. ``max_page_count`` (a setting of one connection,
# put back after) stops the file from growing, so the next page a write needs is SQLITE_FULL
# as on a full disk; SQLite then undoes what it must for that statement: a one-row INSERT
# aborts the whole transaction, an INSERT … SELECT (which may stop half-way, so it runs with a
# statement journal) only itself. A refused COMMIT is a foreign-key check deferred to it
# (``defer_foreign_keys``) that fails; SQLite then keeps the transaction open.

BATCH = 4  # the writes of each lost batch below


@contextlib.contextmanager
def _no_room_to_grow(session: Session) -> Iterator[sqlite3.Connection]:
    """The database file may not grow by a page on this session's connection (SQLITE_FULL);
    that connection, the driver's own."""
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    (limit,) = raw.execute("PRAGMA max_page_count").fetchone()
    raw.execute("PRAGMA max_page_count = 1")  # SQLite clamps it to the file's current size
    try:
        yield raw
    finally:
        raw.execute(f"PRAGMA max_page_count = {int(limit)}")


def _fill_the_disk_aborting_all(session: Session) -> None:
    """A one-row INSERT that needs pages the file may not grow by: SQLite aborts the whole
    transaction (it does not journal a one-row statement on its own)."""
    with _no_room_to_grow(session) as raw:
        try:
            session.connection().exec_driver_sql(
                "INSERT INTO audit_event (at, actor, action, outcome, detail) VALUES "
                "(CURRENT_TIMESTAMP, 'system', 'group_commit_test', 'ok', zeroblob(1000000))"
            )
        finally:
            assert not raw.in_transaction  # the case under test: SQLite ended the transaction


def _fill_the_disk_undoing_itself(session: Session) -> None:
    """A two-row INSERT … SELECT with no room: SQLite rolls back this statement only."""
    with _no_room_to_grow(session) as raw:
        try:
            session.connection().exec_driver_sql(
                "INSERT INTO audit_event (at, actor, action, outcome, detail) "
                "SELECT CURRENT_TIMESTAMP, 'system', 'group_commit_test', 'ok', zeroblob(1000000) "
                "FROM (SELECT 1 UNION ALL SELECT 2)"
            )
        finally:
            assert raw.in_transaction  # the case under test: the batch's transaction goes on


def _orphan_for_the_commit(session: Session) -> None:
    """A session row of no customer, its check deferred: the savepoint's RELEASE accepts it,
    the batch's COMMIT is refused (SQLITE_CONSTRAINT_FOREIGNKEY)."""
    connection = session.connection()
    connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # until this transaction ends
    connection.exec_driver_sql(
        "INSERT INTO login_session (token_hash, customer_id, device_kind, created_at, "
        "expires_at) VALUES ('orphan', 'nobody', 'pc', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )


def _one_batch(host: Host, last: Callable[[Session], None]) -> list[BaseException | None]:
    """``BATCH`` writes on threads of their own, all in one batch; each records an audit row
    ``w0``, ``w1``… (in the order they ran), and the last of them then runs ``last``.

    The first write holds the turn until all the others wait for it, so none can start a
    batch of its own; the turn then passes between them, and the one that finds nobody left
    waiting is both the last member and the one that commits.
    """
    group = host.db._group
    assert group is not None
    order = itertools.count()

    def write() -> None:
        with host.db.write() as session:
            position = next(order)  # under the turn: one write at a time
            audit.record(session, now=host.now(), action="group_commit_test", detail=f"w{position}")
            if position == 0:
                deadline = time.monotonic() + 10
                while group._waiting < BATCH - 1 and time.monotonic() < deadline:
                    time.sleep(0.001)
                assert group._waiting == BATCH - 1
            if position == BATCH - 1:
                last(session)

    return _on_threads([write] * BATCH)


def _test_rows_in_file(host: Host) -> list[str]:
    """The details of this module's audit rows in the file, read by a connection of its own."""
    path = host.db.sqlite_path
    assert path is not None
    with contextlib.closing(sqlite3.connect(path)) as raw:
        found = raw.execute(
            "SELECT detail FROM audit_event WHERE action = 'group_commit_test' ORDER BY id"
        )
        return [str(detail) for (detail,) in found]


def _orphans_in_file(host: Host) -> int:
    return _count_in_file(host, "SELECT count(*) FROM login_session WHERE token_hash = 'orphan'")


def _storage_full(outcome: object) -> bool:
    return isinstance(outcome, ServiceError) and outcome.code is ErrorCode.STORAGE_FULL


def test_a_refused_commit_fails_every_write_of_the_batch_and_keeps_none(
    server: ServerHarness,
) -> None:
    host = server.host
    commits = _commits(host.db)
    outcomes = _one_batch(host, _orphan_for_the_commit)
    assert len(commits) == 1  # one COMMIT tried, for the four
    for outcome in outcomes:
        assert isinstance(outcome, BatchFailed), outcomes
        cause = outcome.__cause__  # the COMMIT's own error
        assert isinstance(cause, IntegrityError) and isinstance(cause.orig, sqlite3.Error)
        assert cause.orig.sqlite_errorcode == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
    assert _test_rows_in_file(host) == [] and _orphans_in_file(host) == 0
    # The next write is a batch of its own, on a connection in no transaction left over.
    _write_audit_row(host, "after")
    assert _test_rows_in_file(host) == ["after"]


def test_sqlite_full_that_aborts_the_transaction_fails_the_whole_batch(
    server: ServerHarness,
) -> None:
    host = server.host
    outcomes = _one_batch(host, _fill_the_disk_aborting_all)
    assert all(_storage_full(outcome) for outcome in outcomes), outcomes
    assert _test_rows_in_file(host) == []
    _write_audit_row(host, "after")
    assert _test_rows_in_file(host) == ["after"]


def test_sqlite_full_that_undoes_one_statement_fails_only_its_write(
    server: ServerHarness,
) -> None:
    host = server.host
    outcomes = _one_batch(host, _fill_the_disk_undoing_itself)
    failed = [outcome for outcome in outcomes if outcome is not None]
    assert len(failed) == 1 and _storage_full(failed[0]), outcomes
    # Its own audit row went with it (its savepoint); the others' rows were committed.
    assert _test_rows_in_file(host) == [f"w{n}" for n in range(BATCH - 1)]


def _one_writer_batch(host: Host, last: Callable[[Session], None]) -> list[BaseException | str]:
    """``BATCH`` service calls handed to the writer thread together, so it runs them in one
    batch; each writes an audit row ``job0``, ``job1``…, and the last one then runs ``last``.
    What each call's request got back: its result, or what it raised."""
    writer = host.db.writer
    assert writer is not None
    all_queued = threading.Event()

    def job(position: int) -> str:
        if position == 0:
            assert all_queued.wait(10)
            assert writer._jobs.qsize() == BATCH - 1  # the others wait behind it: one batch
        with host.db.write() as session:
            audit.record(
                session, now=host.now(), action="group_commit_test", detail=f"job{position}"
            )
            if position == BATCH - 1:
                last(session)
        return f"job{position}"

    async def requests() -> list[BaseException | str]:
        calls = [asyncio.ensure_future(writer.run(job, n)) for n in range(BATCH)]
        await asyncio.sleep(0)  # each call has queued its job (``run`` does before it waits)
        all_queued.set()
        answers = asyncio.gather(*calls, return_exceptions=True)
        return await asyncio.wait_for(answers, timeout=10)  # a hang fails, it does not block

    return asyncio.run(requests())


def _after_on_the_writer(host: Host) -> str:
    """One more call on the writer thread, once the lost batch is over."""
    writer = host.db.writer
    assert writer is not None

    def job() -> str:
        _write_audit_row(host, "after")
        return "after"

    return asyncio.run(asyncio.wait_for(writer.run(job), timeout=10))


def test_sqlite_full_on_the_writer_thread_fails_its_batch_and_the_thread_goes_on(
    server: ServerHarness,
) -> None:
    host = server.host
    answers = _one_writer_batch(host, _fill_the_disk_aborting_all)
    assert all(_storage_full(answer) for answer in answers), answers
    assert _test_rows_in_file(host) == []
    assert _after_on_the_writer(host) == "after"
    assert _test_rows_in_file(host) == ["after"]


def test_a_refused_commit_on_the_writer_thread_fails_every_call_of_the_batch(
    server: ServerHarness,
) -> None:
    host = server.host
    answers = _one_writer_batch(host, _orphan_for_the_commit)
    assert all(isinstance(answer, BatchFailed) for answer in answers), answers
    assert _test_rows_in_file(host) == [] and _orphans_in_file(host) == 0
    assert _after_on_the_writer(host) == "after"
    assert _test_rows_in_file(host) == ["after"]
