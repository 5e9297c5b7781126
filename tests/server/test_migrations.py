"""Migrations on SQLite and the machine's PostgreSQL: a new database, and 0.1's with its data.

The previous release's databases are fixtures made by that release's own code (see
fixtures/README.md). Upgrading one must keep every row of every table as it was, fill the new
columns from the old data, and leave a schema that Alembic finds identical to the models.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography import x509
from sqlmodel import SQLModel
from starlette.testclient import TestClient

from sync_client.api import SyncClient
from sync_server import revocation, schema, service_desk
from sync_server.app import create_app
from sync_server.cli import main
from sync_server.db import Database
from sync_server.errors import ConfigError
from sync_server.host import open_host
from sync_server.migrations.versions.r0001_baseline import TABLES
from sync_server.models import serial_tail
from sync_server.settings import Settings

from .harness import FAST_KDF, Clock
from .pg import fresh_database, run_script

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_PASSWORD = "release-0.1 password"
RENEWED, REVOKED, LOCKED = "A123456789", "F112345672", "B100000039"
KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass(frozen=True)
class Place:
    """Where a test's database lives: its settings and a way in for raw checks."""

    settings: Settings
    url: str

    def engine(self) -> sa.Engine:
        url = self.url.replace("postgresql://", "postgresql+psycopg://")
        return sa.create_engine(url, poolclass=sa.pool.NullPool)


@pytest.fixture(params=KINDS)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    data = tmp_path / "data"
    if request.param == "sqlite":
        yield Place(Settings(data_dir=data, **FAST_KDF), f"sqlite:///{data / 'certsync.db'}")
        return
    with fresh_database() as url:
        yield Place(Settings(data_dir=data, database_url=url, **FAST_KDF), url)


def load_release_0_1(place: Place) -> None:
    """The 0.1 fixture database in ``place``, with the CA it belongs to in the data folder."""
    data = place.settings.data_dir
    data.mkdir(parents=True)
    for name in ("ca.key.pem", "ca.cert.pem"):
        (data / name).write_bytes((FIXTURES / "ca" / name).read_bytes())
    if place.url.startswith("sqlite"):
        with sqlite3.connect(data / "certsync.db") as conn:
            conn.executescript((FIXTURES / "release-0.1.sqlite.sql").read_text("utf-8"))
        conn.close()
    else:
        run_script(place.url, (FIXTURES / "release-0.1.postgres.sql").read_text("utf-8"))


def baseline_rows(place: Place) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every 0.1 table, in primary-key order, on 0.1's columns."""
    engine = place.engine()
    try:
        meta = sa.MetaData()
        meta.reflect(engine, only=list(TABLES))
        with engine.connect() as conn:
            found = {}
            for name, columns in TABLES.items():
                table = meta.tables[name]
                query = sa.select(*(table.c[c] for c in columns)).order_by(
                    *table.primary_key.columns
                )
                found[name] = [tuple(row) for row in conn.execute(query)]
            return found
    finally:
        engine.dispose()


def schema_differences(place: Place) -> list[Any]:
    engine = place.engine()
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), SQLModel.metadata))
    finally:
        engine.dispose()


def cli(monkeypatch: pytest.MonkeyPatch, place: Place, *args: str) -> int:
    for name in ("SYNC_DATA_DIR", "SYNC_DATABASE_URL", "SYNC_CA_KEY_FILE", "SYNC_CA_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SYNC_DATA_DIR", str(place.settings.data_dir))
    if not place.url.startswith("sqlite"):
        monkeypatch.setenv("SYNC_DATABASE_URL", place.url)
    return main(list(args))


# -- a new database ---------------------------------------------------------------------------


def test_a_new_database_runs_every_revision_and_matches_the_models(place: Place) -> None:
    open_host(place.settings).db.dispose()
    db = Database(place.url)
    try:
        status = schema.inspect(db)
    finally:
        db.dispose()
    assert (status.state, status.revision) == (schema.State.CURRENT, schema.head_revision())
    assert schema_differences(place) == []
    assert [r.id for r in schema.history()] == ["0001", "0002", "0003"]


def test_the_db_commands(
    place: Place, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(monkeypatch, place, "db", "history") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("0001  Baseline") and out[1].startswith("0002  Operations")
    assert out[2].startswith("0003  Login throttling") and out[2].endswith("(head)")
    if place.url.startswith("sqlite"):
        assert cli(monkeypatch, place, "db", "current") == 0
        assert (
            "revision none (no database: `sync-server init` creates one)" in capsys.readouterr().out
        )
        assert cli(monkeypatch, place, "db", "upgrade") == 2  # upgrading never creates
        assert "[no_database]" in capsys.readouterr().err
        assert not place.settings.data_dir.exists()
    assert cli(monkeypatch, place, "init") == 0
    assert capsys.readouterr().out.startswith("Created: ")
    assert cli(monkeypatch, place, "db", "current") == 0
    assert capsys.readouterr().out.strip().endswith("revision 0003 (current)")
    assert cli(monkeypatch, place, "db", "upgrade") == 0
    assert "already at revision 0003" in capsys.readouterr().out
    assert cli(monkeypatch, place, "init") == 0
    assert capsys.readouterr().out.startswith("Already there: ")
    assert cli(monkeypatch, place, "db", "history") == 0
    assert capsys.readouterr().out.splitlines()[2].endswith("(head, current)")


# -- the previous release's database ----------------------------------------------------------


def test_a_database_of_the_previous_release_is_upgraded_and_keeps_every_row(
    place: Place, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    load_release_0_1(place)
    before = baseline_rows(place)
    assert len(before["customer"]) == 3 and len(before["certificate"]) == 3
    assert len(before["audit_event"]) > 20 and before["order"] and before["relay_slot"]

    # Neither the server nor staff tools touch it until the operator upgrades it.
    for create in (True, False):
        with pytest.raises(ConfigError) as refused:
            open_host(place.settings, create=create)
        assert refused.value.code == "database_behind"
        assert "sync-server db upgrade" in refused.value.message
    assert cli(monkeypatch, place, "serve", "--port", "0") == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "`sync-server db upgrade`" in line and line.endswith("[database_behind]")
    assert cli(monkeypatch, place, "db", "current") == 0
    assert "revision 0.1 (before migrations) (behind" in capsys.readouterr().out

    assert cli(monkeypatch, place, "db", "upgrade") == 0
    assert "revision 0.1 (before migrations) → 0003" in capsys.readouterr().out
    assert baseline_rows(place) == before  # nothing lost, nothing changed
    assert schema_differences(place) == []

    engine = place.engine()
    try:
        with engine.connect() as conn:
            tails = conn.execute(sa.text("SELECT serial, serial_tail FROM certificate")).all()
            assert all(tail == serial_tail(int(serial)) for serial, tail in tails)
            revocations, number = conn.execute(
                sa.text("SELECT revocations, crl_number FROM crl_state")
            ).one()
            last: dict[str, Any] = dict(
                conn.execute(sa.text("SELECT id, last_login_at FROM customer")).all()
            )
            first_login = conn.execute(
                sa.text("SELECT MAX(created_at) FROM login_session WHERE customer_id = :c"),
                {"c": RENEWED},
            ).scalar()
    finally:
        engine.dispose()
    assert revocations == 1
    assert last[RENEWED] == first_login and last[LOCKED] is None

    # The upgraded database serves as before, at the time the fixture was made.
    made_at = max(row[1] for row in before["audit_event"])  # naive from SQLite: UTC
    clock = Clock(made_at if made_at.tzinfo else made_at.replace(tzinfo=UTC))
    clock.advance(minutes=1)
    host = open_host(place.settings, clock=clock, create=False)
    try:
        with TestClient(create_app(host)) as client:
            pc = SyncClient(client)
            pc.login(RENEWED, FIXTURE_PASSWORD, device_kind="pc")
            status = pc.status()
            assert status.code == 0 and status.certificate is not None
            crl = client.get("/api/v1/crl")
            listed = x509.load_der_x509_crl(crl.content)
            (revoked_serial,) = [r[0] for r in before["certificate"] if r[10] is not None]
            assert listed.get_revoked_certificate_by_serial_number(int(revoked_serial))
            crl_number = listed.extensions.get_extension_for_class(x509.CRLNumber).value
            assert crl_number.crl_number > number - 1  # above every 0.1 number
            card = service_desk.customer_card(host, LOCKED)
            assert card.summary.locked_until is not None and card.slip.state == "valid"
            short = serial_tail(status.certificate.serial)
            cert = revocation.revoke(host, short, reason="superseded", actor="staff:test")
            assert cert.serial == str(status.certificate.serial)
            assert pc.status().code == 42
    finally:
        host.db.dispose()


def test_a_failed_upgrade_changes_nothing(place: Place) -> None:
    load_release_0_1(place)
    engine = place.engine()
    try:
        with engine.begin() as conn:  # a serial 0.1 would never have written: 0002 cannot read it
            conn.execute(
                sa.text(
                    "UPDATE certificate SET serial = 'garbage' "
                    "WHERE revoked_at IS NULL AND superseded_at IS NOT NULL"
                )
            )
    finally:
        engine.dispose()
    before = baseline_rows(place)
    db = Database(place.url)
    try:
        with pytest.raises(ConfigError) as failed:
            schema.upgrade(db, create=False)
        assert failed.value.code == "upgrade_failed"
        assert schema.inspect(db).state is schema.State.LEGACY
    finally:
        db.dispose()
    assert baseline_rows(place) == before


def test_a_database_from_a_newer_version_is_refused(place: Place) -> None:
    open_host(place.settings).db.dispose()
    engine = place.engine()
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    finally:
        engine.dispose()
    for attempt in (
        lambda: open_host(place.settings),
        lambda: schema.upgrade(Database(place.url), create=False),
    ):
        with pytest.raises(ConfigError) as refused:
            attempt()
        assert refused.value.code == "database_newer" and "0099" in refused.value.message


def test_a_database_of_someone_else_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "certsync.db") as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.close()
    with pytest.raises(ConfigError) as refused:
        open_host(Settings(data_dir=data, **FAST_KDF))
    assert refused.value.code == "database_foreign"
    assert sorted(p.name for p in data.iterdir()) == ["certsync.db"]  # no CA was written


def test_revision_0002_goes_down_and_up_again_without_losing_rows(tmp_path: Path) -> None:
    data = tmp_path / "data"
    place = Place(Settings(data_dir=data, **FAST_KDF), f"sqlite:///{data / 'certsync.db'}")
    load_release_0_1(place)
    db = Database(place.url)
    try:
        schema.upgrade(db, create=False)
        before = baseline_rows(place)
        with db.connect() as conn:
            command.downgrade(schema._config(conn), "0001")
        assert schema.inspect(db).revision == "0001"
        assert baseline_rows(place) == before
        schema.upgrade(db, create=False)
        assert schema.inspect(db).state is schema.State.CURRENT
    finally:
        db.dispose()
    assert baseline_rows(place) == before
    assert schema_differences(place) == []


@pytest.mark.postgres
def test_two_instances_starting_on_an_empty_postgres_database_make_it_once(
    tmp_path: Path,
) -> None:
    with fresh_database() as url:
        settings = Settings(data_dir=tmp_path / "ca", database_url=url, **FAST_KDF)
        open_host(settings).db.dispose()  # the CA files, so both load the same one
        with fresh_database() as empty:
            both = settings.replace(database_url=empty)
            errors: list[BaseException] = []

            def start() -> None:
                try:
                    open_host(both).db.dispose()
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=start) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert errors == []
            db = Database(empty)
            try:
                assert schema.inspect(db).state is schema.State.CURRENT
            finally:
                db.dispose()
