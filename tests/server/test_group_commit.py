"""SQLite's group commit (``sync_server.group_commit``): many writes share one commit, each
in its own savepoint, and none returns before its batch is on disk.

What is checked against the file itself (re-opened with the ``sqlite3`` module after the
writes returned): every write that returned is there; a write that raised left nothing and
took nothing of its batch with it; the one-time code is still used exactly once when many
applies race for it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from sync_client.keys import build_csr_pem, generate_private_key
from sync_server import audit
from sync_server.db import Database
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
