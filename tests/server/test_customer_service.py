"""Customer service at the counter: look customers up, unlock them, revoke by what they read out.

``sync-server admin`` runs in process on the data folder of a host the test drives through the
real app; ``admin`` never makes a database of its own.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.testclient import TestClient

from sync_client.keys import build_csr_pem, generate_private_key
from sync_client.protocol import format_serial
from sync_server.app import create_app
from sync_server.cli import main
from sync_server.models import Certificate
from sync_server.service_desk import slip_state
from sync_server.settings import Settings

from .harness import FAST_KDF, PASSWORD, Clock, ServerHarness, national_id


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Admin = Callable[..., Run]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("SYNC_"):
            monkeypatch.delenv(name)
    folder = tmp_path / "data"
    monkeypatch.setenv("SYNC_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Admin:
    def run(*args: str, as_json: bool = False, verbose: bool = False) -> Run:
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        options = ["--staff", "bob"] + (["--json"] if as_json else []) + (["-v"] if verbose else [])
        code = main(["admin", *options, *args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def web(data_dir: Path) -> Iterator[ServerHarness]:
    """The server on the admin's data folder (it creates the database, as ``serve`` does)."""
    from sync_server.host import open_host

    clock = Clock()
    host = open_host(Settings(data_dir=data_dir, login_max_failures=2, **FAST_KDF), clock=clock)
    try:
        app = create_app(host)
        with TestClient(app) as client:
            yield ServerHarness(host, app, client, clock)
    finally:
        host.db.dispose()


def error_line(run: Run, code: str) -> str:
    assert run.code != 0 and run.out == ""
    (line,) = run.err.strip().splitlines()
    assert line.endswith(f"[{code}]"), line
    return line


def test_admin_on_a_folder_without_a_database_creates_nothing(admin: Admin, data_dir: Path) -> None:
    for args in (("customers",), ("customer-add", national_id(1), "--name", "X")):
        line = error_line(admin(*args), "no_database")
        assert str(data_dir) in line and "sync-server init" in line
    assert not data_dir.exists()
    data_dir.mkdir()  # a folder with something else in it: still nothing made
    (data_dir / "notes.txt").write_text("hello")
    error_line(admin("customers"), "no_database")
    assert sorted(p.name for p in data_dir.iterdir()) == ["notes.txt"]


def test_verbose_names_the_database_on_stderr(
    admin: Admin, web: ServerHarness, data_dir: Path
) -> None:
    run = admin("customers", as_json=True, verbose=True)
    assert run.code == 0 and run.json() == {"customers": [], "total": 0}
    assert f"Database: SQLite {data_dir / 'certsync.db'}" in run.err
    assert web.host.ca.fingerprint_sha256[:16] in run.err


def test_finding_customers_by_name_and_lock(admin: Admin, web: ServerHarness) -> None:
    wang = web.add_customer(name="王小明")
    lin = web.add_customer(name="Lin Mei-Ling")
    web.add_customer(name="Chen_100%")
    for _ in range(2):  # login_max_failures=2
        web.client.post(
            "/api/v1/sessions",
            json={"customer_id": lin, "password": "wrong password", "device_kind": "pc"},
        )
    web.login(wang)
    everyone = admin("customers", as_json=True).json()
    assert everyone["total"] == 3 and [c["name"] for c in everyone["customers"]] == [
        "王小明",
        "Lin Mei-Ling",
        "Chen_100%",
    ]
    (first,) = [c for c in everyone["customers"] if c["customer_id"] == wang]
    assert first["last_login_at"] is not None and first["locked_until"] is None
    assert (first["status"], first["status_label"]) == (40, "none")

    locked = admin("customers", "--locked", as_json=True).json()["customers"]
    assert [c["customer_id"] for c in locked] == [lin]
    assert [c["name"] for c in admin("customers", "--name", "mei", as_json=True).json()[
        "customers"
    ]] == ["Lin Mei-Ling"]  # fmt: skip
    assert admin("customers", "--name", "小明", as_json=True).json()["total"] == 1
    assert admin("customers", "--name", "_1", as_json=True).json()["total"] == 1  # no wildcards
    assert admin("customers", "--name", "%", as_json=True).json()["total"] == 1
    text = admin("customers", "--limit", "1")
    assert text.code == 0 and "… 2 more" in text.out and wang in text.out
    assert admin("customers", "--name", "nobody").out.strip() == "No customers match."


def test_one_customers_card(admin: Admin, web: ServerHarness) -> None:
    enrolled = web.enroll()
    cid = enrolled.customer_id
    web.login(cid, kind="mobile")
    enrolled.sdk.logout()
    web.enrollment_code(cid)  # a new slip: the used one is superseded
    card = admin("customer", cid, as_json=True).json()
    assert card["customer_id"] == cid and card["status"] == 0
    assert card["slip"]["state"] == "valid" and card["slip"]["tries_left"] == 5
    (cert,) = card["certificates"]
    assert cert["serial"] == str(enrolled.serial) and cert["status"] == "valid"
    assert "cert_pem" not in cert
    assert [s["device_kind"] for s in card["sessions"]] == ["mobile"]
    assert card["ended_sessions"] == 1
    text = admin("customer", cid).out
    assert "Status:       0 valid" in text and format_serial(enrolled.serial) in text
    assert "1 live, 1 ended" in text and "valid until" in text
    error_line(admin("customer", national_id(999)), "customer_not_found")
    error_line(admin("customer", "A1"), "invalid_national_id")


def test_slip_states_follow_the_rules() -> None:
    from datetime import UTC, datetime, timedelta

    from sync_server.models import EnrollmentCode

    now = datetime(2026, 12, 2, tzinfo=UTC)

    def slip(**fields: Any) -> EnrollmentCode:
        base = {"customer_id": "A123456789", "code_hash": "x", "created_at": now,
                "expires_at": now + timedelta(days=7), "issued_by": "staff:t"}  # fmt: skip
        return EnrollmentCode(**{**base, **fields})

    assert slip_state(None, now=now, max_attempts=5).state == "none"
    assert slip_state(slip(failed_attempts=2), now=now, max_attempts=5).tries_left == 3
    assert slip_state(slip(used_at=now), now=now, max_attempts=5).state == "used"
    assert slip_state(slip(failed_attempts=5), now=now, max_attempts=5).state == "locked"
    expired = slip_state(slip(), now=now + timedelta(days=8), max_attempts=5)
    assert expired.state == "expired" and expired.tries_left is None


def test_unlock_lets_the_customer_in_and_is_audited(admin: Admin, web: ServerHarness) -> None:
    cid = web.add_customer()
    for _ in range(2):
        web.client.post(
            "/api/v1/sessions",
            json={"customer_id": cid, "password": "wrong password", "device_kind": "pc"},
        )
    refused = web.client.post(
        "/api/v1/sessions", json={"customer_id": cid, "password": PASSWORD, "device_kind": "pc"}
    )
    assert refused.json()["error"] == "account_locked"
    run = admin("unlock", cid, as_json=True)
    assert run.code == 0 and run.json() == {"customer_id": cid, "was_locked": True}
    assert web.login(cid).token
    assert admin("unlock", cid).out.strip() == f"{cid} was not locked."
    events = [(e.action, e.outcome, e.actor) for e in web.audit(action="unlock")]
    assert events == [("unlock", "ok", "staff:bob"), ("unlock", "not_locked", "staff:bob")]
    error_line(admin("unlock", national_id(998)), "customer_not_found")


def test_revoke_the_current_certificate_of_a_customer(admin: Admin, web: ServerHarness) -> None:
    enrolled = web.enroll()
    run = admin("revoke", "--customer", enrolled.customer_id, "--reason", "key_compromise",
                as_json=True)  # fmt: skip
    assert run.code == 0, run.err
    assert run.json()["serial"] == str(enrolled.serial)
    assert enrolled.sdk.status().code == 42
    again = admin("revoke", "--customer", enrolled.customer_id, "--reason", "unspecified")
    error_line(again, "already_revoked")
    nobody = web.add_customer()
    error_line(admin("revoke", "--customer", nobody, "--reason", "unspecified"), "no_certificate")
    usage = admin("revoke", "--reason", "unspecified")
    assert usage.code == 2 and "Give a SERIAL or --customer ID" in usage.err
    both = admin("revoke", "12", "--customer", nobody, "--reason", "unspecified")
    assert both.code == 2


def insert_certificate(web: ServerHarness, customer_id: str, serial: int) -> None:
    """A real certificate with a chosen serial (two customers' serials may share an ending)."""
    key = generate_private_key("ec")
    csr = x509.load_pem_x509_csr(build_csr_pem(key, customer_id).encode())
    now = web.clock.now
    cert = web.host.ca.issue_certificate(
        csr,
        subject_cn=customer_id,
        serial=serial,
        not_before=now,
        not_after=now + web.settings.certificate_validity,
    )
    with web.host.db.write() as session:
        session.add(
            Certificate(
                serial=str(serial),
                customer_id=customer_id,
                fingerprint_sha256=hashlib.sha256(
                    cert.public_bytes(serialization.Encoding.DER)
                ).hexdigest(),
                not_before=now,
                not_after=now + web.settings.certificate_validity,
                issued_at=now,
                issued_via="apply",
                cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            )
        )


def test_short_serials_as_customers_read_them_out(admin: Admin, web: ServerHarness) -> None:
    one, two, three = web.add_customer(), web.add_customer(), web.add_customer()
    base = 1 << 64
    insert_certificate(web, one, base | (0x1111 << 24) | 0x018E1F)
    insert_certificate(web, two, base | (0x2222 << 24) | 0x018E1F)  # the same last 6 digits
    insert_certificate(web, three, base | (0x3333 << 24) | 0xABCDEF)
    shown = format_serial(base | (0x3333 << 24) | 0xABCDEF)
    assert shown.endswith("ABCDEF)")

    ambiguous = admin("revoke", "018E1F", "--reason", "unspecified")
    line = error_line(ambiguous, "serial_ambiguous")
    assert "2 certificates end in 018E1F" in line
    error_line(admin("revoke", "0x123456", "--reason", "unspecified"), "certificate_not_found")

    done = admin("revoke", "abcdef", "--reason", "key_compromise", as_json=True)
    assert done.code == 0, done.err
    assert done.json()["customer_id"] == three
    # The whole serial still works, and wins over any ending.
    whole = str(base | (0x1111 << 24) | 0x018E1F)
    assert (
        admin("revoke", whole, "--reason", "superseded", as_json=True).json()["customer_id"] == one
    )
    revoked = {c.customer_id for c in web.rows(Certificate) if c.revoked_at is not None}
    assert revoked == {one, three}
