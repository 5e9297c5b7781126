"""``sync-server backup`` while the server works, ``restore`` into an empty place, and refusals.

A thread keeps the real app busy (logins, slip checks, status reads: a few hundred requests,
in process) while the backup runs; the restored copy then starts as a server and holds every
customer, certificate and audit event of the snapshot, identical to the live rows.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from sqlmodel import SQLModel, select
from starlette.testclient import TestClient

from sync_client.api import SyncClient
from sync_server import revocation
from sync_server.app import create_app
from sync_server.cli import main
from sync_server.host import Host, open_host
from sync_server.models import AuditEvent, Certificate, Customer
from sync_server.settings import Settings

from .harness import FAST_KDF, PASSWORD, ServerHarness
from .pg import fresh_database
from .test_migrations import Place, load_release_0_1

LOAD_REQUESTS = 200


@dataclass
class Cli:
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str, data_dir: Path, database_url: str | None = None,
                 **env: str) -> tuple[int, str, str]:  # fmt: skip
        for name in list(os.environ):
            if name.startswith("SYNC_"):
                self.monkeypatch.delenv(name)
        self.monkeypatch.setenv("SYNC_DATA_DIR", str(data_dir))
        if database_url is not None:
            self.monkeypatch.setenv("SYNC_DATABASE_URL", database_url)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        code = main(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(monkeypatch, capsys)


def populate(server: ServerHarness, customers: int = 6) -> list[str]:
    """Customers with certificates (one revoked), sessions and an audit trail."""
    made = [server.enroll().customer_id for _ in range(customers)]
    (revoked,) = server.rows(Certificate, customer_id=made[0])
    revocation.revoke(server.host, revoked.serial, reason="key_compromise", actor="staff:t")
    return made


class Load:
    """A thread that keeps the app busy; ``started`` is set once it is well under way."""

    def __init__(self, server: ServerHarness, customer_ids: list[str]) -> None:
        self.server = server
        self.customer_ids = customer_ids
        self.started = threading.Event()
        self.statuses: list[int] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        client = self.server.client
        for i in range(LOAD_REQUESTS):
            cid = self.customer_ids[i % len(self.customer_ids)]
            if i % 3 == 0:
                body = {"customer_id": cid, "password": PASSWORD, "device_kind": "pc"}
                self.statuses.append(client.post("/api/v1/sessions", json=body).status_code)
            elif i % 3 == 1:
                self.statuses.append(client.get("/api/v1/crl").status_code)
            else:
                bad = {"customer_id": cid, "password": "a wrong one", "device_kind": "mobile"}
                self.statuses.append(client.post("/api/v1/sessions", json=bad).status_code)
            if i == 20:
                self.started.set()
        self.started.set()

    def __enter__(self) -> Load:
        self.thread.start()
        assert self.started.wait(60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(120)
        assert not self.thread.is_alive()
        assert len(self.statuses) == LOAD_REQUESTS
        assert set(self.statuses) <= {200, 201, 401, 423}, set(self.statuses)


# What a live server may still change after the snapshot (a customer's logins) is left out.
_CHANGING = {"failed_logins", "locked_until", "last_login_at"}


def rows_of(host: Host, model: type[SQLModel]) -> dict[Any, dict[str, Any]]:
    with host.db.read() as session:
        found = session.exec(select(model)).all()
    key = {"Customer": "id", "Certificate": "serial", "AuditEvent": "id"}[model.__name__]
    return {getattr(r, key): r.model_dump(exclude=_CHANGING) for r in found}


MODELS: tuple[tuple[type[SQLModel], str], ...] = (
    (Customer, "customer"),
    (Certificate, "certificate"),
    (AuditEvent, "audit_event"),
)


def read_back(settings: Settings) -> dict[str, dict[Any, dict[str, Any]]]:
    """Every customer, certificate and audit event of a restored copy, before it serves."""
    host = open_host(settings, create=False)
    try:
        return {table: rows_of(host, model) for model, table in MODELS}
    finally:
        host.db.dispose()


def check_restored(
    live: Host,
    got: dict[str, dict[Any, dict[str, Any]]],
    manifest: dict[str, Any],
    before: dict[str, set[Any]],
) -> None:
    """The restored copy holds the snapshot: as many rows as the manifest recorded, each one
    identical to the live row, and every row that existed before the backup began."""  # fmt: skip
    for model, table in MODELS:
        now_live = rows_of(live, model)
        assert len(got[table]) == manifest["database"]["counts"][table], table
        assert all(now_live[k] == row for k, row in got[table].items()), table
        assert before[table] <= set(got[table]), table


def snapshot_keys(host: Host) -> dict[str, set[Any]]:
    return {
        "customer": set(rows_of(host, Customer)),
        "certificate": set(rows_of(host, Certificate)),
        "audit_event": set(rows_of(host, AuditEvent)),
    }


def serve_restored(settings: Settings, customer_id: str, revoked_serial: int) -> Host:
    """Start the restored copy as a server: the customer logs in and sees the certificate."""
    host = open_host(settings, create=False)
    with TestClient(create_app(host)) as client:
        pc = SyncClient(client)
        pc.login(customer_id, PASSWORD, device_kind="pc")
        assert pc.status().code == 31  # validity 20 days: inside the renewal window
        crl = x509.load_der_x509_crl(client.get("/api/v1/crl").content)
        assert crl.get_revoked_certificate_by_serial_number(revoked_serial) is not None
    return host


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    from datetime import timedelta

    return {"certificate_validity": timedelta(days=20)}


def test_backup_under_load_then_restore_and_serve(
    server: ServerHarness, cli: Cli, tmp_path: Path
) -> None:
    made = populate(server)
    before = snapshot_keys(server.host)
    backup_dir = tmp_path / "backup"
    with Load(server, made):
        code, out, err = cli("backup", str(backup_dir), data_dir=server.settings.data_dir)
    assert code == 0, err
    assert out.startswith(f"Backed up to {backup_dir}: sqlite at revision 0003; 6 customers")
    assert backup_dir.stat().st_mode & 0o777 == 0o700
    names = sorted(p.name for p in backup_dir.iterdir())
    assert names == ["ca.cert.pem", "ca.key.pem", "certsync.db", "manifest.json"]
    assert all((backup_dir / n).stat().st_mode & 0o777 == 0o600 for n in names)
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["database"]["counts"]["audit_event"] > len(before["audit_event"])

    target = tmp_path / "restored"
    code, out, err = cli("restore", str(backup_dir), data_dir=target)
    assert code == 0, err
    assert out.startswith(f"Restored into {target}: sqlite at revision 0003; 6 customers")
    assert (target / "certsync.db").stat().st_mode & 0o777 == 0o600
    assert (target / "ca.key.pem").stat().st_mode & 0o777 == 0o600
    restored_settings = Settings(data_dir=target, **FAST_KDF)
    check_restored(server.host, read_back(restored_settings), manifest, before)
    (revoked,) = [c for c in server.rows(Certificate) if c.revoked_at is not None]
    serve_restored(restored_settings, made[1], int(revoked.serial)).db.dispose()


@pytest.fixture
def backed_up(server: ServerHarness, cli: Cli, tmp_path: Path) -> Iterator[Path]:
    populate(server, customers=2)
    backup_dir = tmp_path / "backup"
    assert cli("backup", str(backup_dir), data_dir=server.settings.data_dir)[0] == 0
    yield backup_dir


Damage = Callable[[Path], None]


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: _flip_byte(d / "certsync.db"),
        lambda d: _flip_byte(d / "ca.key.pem"),
        lambda d: (d / "ca.cert.pem").unlink(),
        lambda d: (d / "stray.txt").write_text("?"),
        lambda d: (d / "manifest.json").write_text("{not json"),
        lambda d: (d / "manifest.json").unlink(),
    ],
    ids=["database", "key", "missing", "extra", "manifest", "no-manifest"],
)
def test_a_damaged_backup_is_refused_and_nothing_is_written(
    backed_up: Path, cli: Cli, tmp_path: Path, damage: Damage
) -> None:
    damage(backed_up)
    target = tmp_path / "restored"
    code, _, err = cli("restore", str(backed_up), data_dir=target)
    assert code == 2 and err.strip().endswith("[backup_damaged]") and len(err.splitlines()) == 1
    assert not target.exists()


def test_a_backup_that_does_not_fit_is_refused(backed_up: Path, cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "restored"
    code, _, err = cli("restore", str(backed_up), data_dir=target,
                       database_url="postgresql://nobody@127.0.0.1:1/none")  # fmt: skip
    assert (
        code == 2 and "holds a sqlite database" in err and err.strip().endswith("[backup_mismatch]")
    )

    other = tmp_path / "other-ca"
    open_host(Settings(data_dir=other, **FAST_KDF)).db.dispose()
    code, _, err = cli("restore", str(backed_up), data_dir=target,
                       SYNC_CA_KEY_FILE=str(other / "ca.key.pem"),
                       SYNC_CA_CERT_FILE=str(other / "ca.cert.pem"))  # fmt: skip
    assert code == 2 and "belongs to the CA" in err and err.strip().endswith("[backup_mismatch]")

    manifest = json.loads((backed_up / "manifest.json").read_text())
    manifest["database"]["revision"] = "0099"
    (backed_up / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = cli("restore", str(backed_up), data_dir=target)
    assert code == 2 and "0099 is newer" in err
    assert not target.exists()


def test_restore_only_into_an_empty_folder(
    backed_up: Path, cli: Cli, server: ServerHarness, tmp_path: Path
) -> None:
    live = server.settings.data_dir
    before = sorted((p.name, p.stat().st_size) for p in live.iterdir() if p.suffix != ".db-wal")
    code, _, err = cli("restore", str(backed_up), data_dir=live)
    assert code == 2 and err.strip().endswith("[restore_target_not_empty]")
    after = sorted((p.name, p.stat().st_size) for p in live.iterdir() if p.suffix != ".db-wal")
    assert [n for n, _ in after] == [n for n, _ in before]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("restore", str(backed_up), data_dir=empty)[0] == 0  # an existing empty one is fine
    code, _, err = cli("backup", str(backed_up), data_dir=live)
    assert code == 2 and err.strip().endswith("[backup_target]")


def test_a_backup_of_the_previous_release_restores_and_asks_for_the_upgrade(
    cli: Cli, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    load_release_0_1(Place(Settings(data_dir=data), f"sqlite:///{data / 'certsync.db'}"))
    code, out, _ = cli("backup", str(tmp_path / "b"), data_dir=data)
    assert code == 0 and "at revision 0.1" in out
    code, out, _ = cli("restore", str(tmp_path / "b"), data_dir=tmp_path / "r")
    assert code == 0 and "run `sync-server db upgrade`" in out
    assert cli("db", "upgrade", data_dir=tmp_path / "r")[0] == 0


def test_backup_without_a_database_is_refused(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("backup", str(tmp_path / "b"), data_dir=tmp_path / "none")
    assert code == 2 and err.strip().endswith("[no_database]")
    assert not (tmp_path / "b").exists() and not (tmp_path / "none").exists()


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_backup_under_load_then_restore_and_serve(cli: Cli, tmp_path: Path) -> None:
    from datetime import timedelta

    with fresh_database() as url, fresh_database() as empty:
        settings = Settings(data_dir=tmp_path / "ca", database_url=url,
                            certificate_validity=timedelta(days=20), **FAST_KDF)  # fmt: skip
        host = open_host(settings)
        try:
            with TestClient(create_app(host)) as client:
                server = ServerHarness(host, client.app, client, None)  # type: ignore[arg-type]
                made = populate(server)
                before = snapshot_keys(host)
                backup_dir = tmp_path / "backup"
                with Load(server, made):
                    code, out, err = cli("backup", str(backup_dir), data_dir=settings.data_dir,
                                         database_url=url)  # fmt: skip
                assert code == 0, err
                assert "postgresql at revision 0003; 6 customers" in out
                names = sorted(p.name for p in backup_dir.iterdir())
                assert names == ["ca.cert.pem", "ca.key.pem", "database.pgdump", "manifest.json"]
                assert all((backup_dir / n).stat().st_mode & 0o777 == 0o600 for n in names)
                manifest = json.loads((backup_dir / "manifest.json").read_text())

                code, out, err = cli("restore", str(backup_dir), data_dir=tmp_path / "new",
                                     database_url=empty)  # fmt: skip
                assert code == 0, err
                again = cli("restore", str(backup_dir), data_dir=tmp_path / "new2",
                            database_url=empty)  # fmt: skip
                assert again[0] == 2 and again[2].strip().endswith("[restore_target_not_empty]")
                restored_settings = settings.replace(data_dir=tmp_path / "new", database_url=empty)
                check_restored(host, read_back(restored_settings), manifest, before)
                (revoked,) = [c for c in server.rows(Certificate) if c.revoked_at is not None]
                serve_restored(restored_settings, made[1], int(revoked.serial)).db.dispose()
        finally:
            host.db.dispose()


@pytest.mark.postgres
def test_without_pg_dump_the_backup_says_so(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert shutil.which("pg_dump") is not None  # the machine has it: the test above used it
    with fresh_database() as url:
        open_host(Settings(data_dir=tmp_path / "ca", database_url=url, **FAST_KDF)).db.dispose()
        monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
        code, _, err = cli("backup", str(tmp_path / "b"), data_dir=tmp_path / "ca",
                           database_url=url)  # fmt: skip
        assert code == 2 and "pg_dump is not on PATH" in err
        assert err.strip().endswith("[pg_tool_missing]")
        assert not (tmp_path / "b").exists()
