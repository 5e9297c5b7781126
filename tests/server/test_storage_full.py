"""A full disk is not a bug: a write with no room answers ``503 storage_full``, reads go on, and
the first write after space returns succeeds.

For real: the SQLite database lives on a small tmpfs that the test fills with a file of zeros
(tests run as root; where ``mount`` is not permitted the test is skipped). A write is retried a
bounded number of times until SQLite needs a page it has no room for (it may first reuse room
its write-ahead log already holds).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from sqlmodel import select

from sync_server.cli import main
from sync_server.host import open_host
from sync_server.models import Customer
from sync_server.settings import Settings

from .harness import FAST_KDF, PASSWORD, ServerHarness, national_id, refused

FILLER = "filler.bin"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, unmounted after the host has closed its database."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def settings(disk: Path) -> Settings:
    return Settings(data_dir=disk / "data", **FAST_KDF)


def fill(disk: Path) -> None:
    """Write zeros until the file system refuses (ENOSPC)."""
    block = b"\0" * 65536
    with (disk / FILLER).open("wb") as filler:
        try:
            while True:
                filler.write(block)
                filler.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    # the last few bytes, one at a time
    with contextlib.suppress(OSError), (disk / FILLER).open("ab") as filler:
        while True:
            filler.write(b"\0")
            filler.flush()


def free(disk: Path) -> None:
    (disk / FILLER).unlink()


def login(server: ServerHarness, customer_id: str) -> httpx2.Response:
    body = {"customer_id": customer_id, "password": PASSWORD, "device_kind": "pc"}
    return server.client.post("/api/v1/sessions", json=body)


def first_refused_write(server: ServerHarness, customer_id: str) -> httpx2.Response:
    for _ in range(200):
        response = login(server, customer_id)
        if response.status_code != 201:
            return response
    raise AssertionError("200 logins on a full disk all succeeded")


def test_a_full_disk_refuses_writes_with_storage_full_and_recovers(
    server: ServerHarness, disk: Path
) -> None:
    customer_id = server.add_customer()
    token = server.login_token(customer_id)
    status_before = server.client.get(
        "/api/v1/certificate/status", headers={"Authorization": f"Bearer {token}"}
    )
    assert status_before.status_code == 200
    sessions_before = len(server.audit(action="login"))

    fill(disk)
    response = first_refused_write(server, customer_id)
    body = refused(response, "storage_full")
    assert response.status_code == 503
    assert "internal" not in body["message"].lower()
    # reads keep working: the customer's status, the policy
    status = server.client.get(
        "/api/v1/certificate/status", headers={"Authorization": f"Bearer {token}"}
    )
    assert status.status_code == 200 and status.json() == status_before.json()
    assert server.client.get("/api/v1/policy").status_code == 200
    # the refused write left nothing half-done: each login kept is whole (session + audit)
    kept = len(server.audit(action="login")) - sessions_before
    assert 0 <= kept < 200

    free(disk)
    assert login(server, customer_id).status_code == 201
    assert len(server.audit(action="login")) == sessions_before + kept + 1


def test_admin_on_a_full_disk_says_so_in_one_line(
    disk: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("SYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SYNC_DATA_DIR", str(disk / "data"))
    assert main(["init"]) == 0
    capsys.readouterr()

    def admin(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["admin", "--staff", "alice", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    def one_line(err: str, code: str) -> None:
        (line,) = err.strip().splitlines()
        assert line.startswith("error: ") and line.endswith(f"[{code}]"), line

    # A database closed before the disk filled cannot even be opened (no room for its -wal).
    fill(disk)
    code, out, err = admin("customers")
    assert code == 2 and out == ""
    one_line(err, "disk_full")
    free(disk)

    # While the server runs, its files exist: admin opens the database, then a write finds
    # no room.
    serving = open_host(Settings(data_dir=disk / "data", **FAST_KDF), create=False)
    try:
        with serving.db.read() as session:
            session.exec(select(Customer)).all()
        fill(disk)
        for seq in range(1, 201):
            code, out, err = admin(
                "customer-add", national_id(seq), "--name", "T" * 100, stdin=PASSWORD + "\n"
            )
            if code != 0:
                break
        assert code == 1 and out == ""
        one_line(err, "storage_full")
        refused_id = national_id(seq)
        code, out, _ = admin("customers")  # reading still works
        assert code == 0 and refused_id not in out

        free(disk)
        code, _, err = admin("customer-add", refused_id, "--name", "T", stdin=PASSWORD + "\n")
        assert code == 0, err
    finally:
        serving.db.dispose()


def test_what_counts_as_a_full_disk() -> None:
    # PostgreSQL's disk_full (SQLSTATE 53100) as the driver raises it and SQLAlchemy wraps it;
    # an OSError ENOSPC, also when it is the cause of another error; nothing else.
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    from sync_server.db import is_storage_full

    disk_full = psycopg.errors.DiskFull("could not extend file")
    assert is_storage_full(OperationalError("INSERT …", {}, disk_full))
    assert is_storage_full(OSError(errno.ENOSPC, "No space left on device"))
    wrapped = RuntimeError("write failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert is_storage_full(wrapped)
    assert not is_storage_full(OSError(errno.EACCES, "Permission denied"))
    other = psycopg.errors.UndefinedTable("no such table")
    assert not is_storage_full(OperationalError("SELECT …", {}, other))
    assert not is_storage_full(ValueError("nothing to do with disks"))
