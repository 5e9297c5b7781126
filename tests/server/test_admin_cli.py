"""``sync-server admin``, run in process on the same data folder as a server the test starts."""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sync_client.keys import build_csr_pem, generate_private_key
from sync_server.app import create_app
from sync_server.cli import main
from sync_server.host import open_host
from sync_server.settings import Settings

from .harness import Clock, ServerHarness, national_id

CUSTOMER = national_id(4242)
STAFF_PASSWORD = "typed-at-the-counter-1"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


Admin = Callable[..., Run]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's configuration: only SYNC_DATA_DIR, whatever the machine's environment holds."""
    for name in list(os.environ):
        if name.startswith("SYNC_"):
            monkeypatch.delenv(name)
    folder = tmp_path / "data"
    monkeypatch.setenv("SYNC_DATA_DIR", str(folder))
    assert main(["init"]) == 0  # admin never creates a database: the server (or init) does
    return folder


@pytest.fixture
def admin(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Admin:
    def run(*args: str, stdin: str = "", staff: str | None = "alice", as_json: bool = False) -> Run:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))  # not a TTY: one line per prompt
        options = (["--json"] if as_json else []) + (["--staff", staff] if staff else [])
        code = main(["admin", *options, *args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def one_line_error(run: Run, code: str, exit_code: int = 1) -> None:
    assert run.code == exit_code
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("error: ") and lines[0].endswith(f"[{code}]")
    assert "Traceback" not in run.err


def test_a_counter_workflow_from_customer_to_revocation(admin: Admin, data_dir: Path) -> None:
    added = admin("customer-add", CUSTOMER, "--name", "王小明", stdin=STAFF_PASSWORD + "\n")
    assert added.code == 0, added.err
    assert added.out.strip() == f"Customer {CUSTOMER} (王小明) created."
    assert STAFF_PASSWORD not in added.out + added.err

    slip = admin("enrollment-code", CUSTOMER, as_json=True)
    assert slip.code == 0, slip.err
    code = slip.json()["enrollment_code"]
    assert re.fullmatch(r"[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}", code)
    assert slip.json()["customer_id"] == CUSTOMER and slip.json()["expires_at"].endswith("Z")

    # The customer logs in with the password staff typed, and applies with the slip.
    host = open_host(Settings(data_dir=data_dir))
    try:
        app = create_app(host)
        with TestClient(app) as client:
            web = ServerHarness(host, app, client, Clock())
            pc = web.login(CUSTOMER, password=STAFF_PASSWORD)
            issued = pc.apply(
                enrollment_code=code,
                csr_pem=build_csr_pem(generate_private_key("ec"), CUSTOMER),
                terms_accepted=True,
            )
            serial = str(issued.certificate.serial)

            listed = admin("certs", as_json=True)
            assert listed.code == 0
            (item,) = listed.json()["certificates"]
            assert item["serial"] == serial and item["status"] == "valid"
            assert "cert_pem" not in item
            text = admin("certs", CUSTOMER)
            assert issued.certificate.serial_display in text.out and "valid" in text.out

            opened = admin("redownload-open", CUSTOMER)
            assert opened.code == 0 and f"Re-download opened for {CUSTOMER}" in opened.out
            assert pc.redownload().certificate.serial == issued.certificate.serial

            revoked = admin("revoke", serial, "--reason", "key_compromise", as_json=True)
            assert revoked.code == 0, revoked.err
            assert revoked.json() == {
                "serial": serial,
                "customer_id": CUSTOMER,
                "reason": "key_compromise",
            }
            assert pc.status().code == 42
            one_line_error(admin("revoke", serial, "--reason", "unspecified"), "already_revoked")
    finally:
        host.db.dispose()

    trail = admin("audit", "--customer", CUSTOMER, as_json=True)
    assert trail.code == 0
    events = trail.json()["events"]
    staff_actions = [e["action"] for e in events if e["actor"] == "staff:alice"]
    assert staff_actions == ["customer_add", "enrollment_code_issue", "redownload_open", "revoke"]
    assert {"login", "apply", "redownload"} <= {e["action"] for e in events}
    dumped = json.dumps(events)
    assert STAFF_PASSWORD not in dumped and code not in dumped
    assert code.replace("-", "") not in dumped


def test_the_slip_in_text_form(admin: Admin) -> None:
    admin("customer-add", CUSTOMER, "--name", "Test", stdin=STAFF_PASSWORD + "\n")
    slip = admin("enrollment-code", CUSTOMER)
    assert slip.code == 0
    assert f"Certificate password slip for {CUSTOMER}" in slip.out
    assert re.search(
        r"Enrollment code: [A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){2}\s+\(case-sensitive\)", slip.out
    )
    assert "Valid until:" in slip.out


def test_a_generated_password_is_printed_once_and_works(admin: Admin, data_dir: Path) -> None:
    added = admin("customer-add", CUSTOMER, "--name", "Test", "--generate-password", as_json=True)
    assert added.code == 0
    password = added.json()["password"]
    assert len(password) >= 12
    host = open_host(Settings(data_dir=data_dir))
    try:
        with TestClient(create_app(host)) as client:
            body = {"customer_id": CUSTOMER, "password": password, "device_kind": "pc"}
            assert client.post("/api/v1/sessions", json=body).status_code == 201
    finally:
        host.db.dispose()
    trail = admin("audit", as_json=True)
    assert password not in trail.out


@pytest.mark.parametrize(
    "args",
    [
        ("customer-add", "A123456788", "--name", "Test"),
        ("customer-add", "hello", "--name", "Test"),
        ("enrollment-code", "A12345678"),
        ("redownload-open", "Z999999999"),
        ("certs", "A123"),
        ("audit", "--customer", "B2"),
    ],
)
def test_an_invalid_id_is_one_line_and_exit_1(
    admin: Admin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple
) -> None:
    nowhere = tmp_path / "nowhere"
    monkeypatch.setenv("SYNC_DATA_DIR", str(nowhere))
    one_line_error(admin(*args, stdin=STAFF_PASSWORD + "\n"), "invalid_national_id")
    assert not nowhere.exists()  # refused before any database was looked for


def test_customer_add_refusals(admin: Admin) -> None:
    assert admin("customer-add", CUSTOMER, "--name", "T", stdin=STAFF_PASSWORD + "\n").code == 0
    again = admin("customer-add", CUSTOMER, "--name", "T", stdin=STAFF_PASSWORD + "\n")
    one_line_error(again, "customer_exists")
    short = admin("customer-add", national_id(1), "--name", "T", stdin="short\n")
    one_line_error(short, "bad_request")
    nameless = admin("customer-add", national_id(2), "--name", "  ", stdin=STAFF_PASSWORD + "\n")
    one_line_error(nameless, "bad_request")
    listing = admin("audit", as_json=True).json()["events"]
    assert [e["action"] for e in listing] == ["customer_add"]


def test_staff_refusals_name_their_code(admin: Admin) -> None:
    one_line_error(admin("enrollment-code", CUSTOMER), "customer_not_found")
    admin("customer-add", CUSTOMER, "--name", "T", stdin=STAFF_PASSWORD + "\n")
    one_line_error(admin("redownload-open", CUSTOMER), "no_certificate")
    one_line_error(admin("revoke", "12345", "--reason", "unspecified"), "certificate_not_found")
    one_line_error(admin("revoke", "12345", "--reason", "bored"), "bad_request")
    one_line_error(admin("revoke", "twelve", "--reason", "unspecified"), "bad_request")


def test_empty_listings(admin: Admin) -> None:
    assert admin("certs").out.strip() == "No certificates."
    assert admin("certs", as_json=True).json() == {"certificates": []}
    assert admin("audit").out.strip() == "No events."
    assert admin("prune", as_json=True).json() == {"removed": 0, "login_counters_removed": 0}


def test_a_bad_setting_is_a_config_error(admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_CERT_VALIDITY", "20")
    one_line_error(admin("certs"), "config", exit_code=2)


def test_a_usage_error_shows_usage_not_a_traceback(admin: Admin) -> None:
    run = admin("customer-add", CUSTOMER)  # --name missing
    assert run.code == 2
    assert "Missing option '--name'" in run.err and "Traceback" not in run.err


def test_the_acting_staff_defaults_to_the_login_name(admin: Admin) -> None:
    assert (
        admin("customer-add", CUSTOMER, "--name", "T", staff=None, stdin=STAFF_PASSWORD).code == 0
    )
    (event,) = admin("audit", as_json=True).json()["events"]
    assert event["actor"].startswith("staff:") and event["actor"] != "staff:"


def test_customer_passwd_sets_a_new_password_unlocks_and_ends_sessions(
    admin: Admin, data_dir: Path
) -> None:
    assert admin("customer-add", CUSTOMER, "--name", "Lin", stdin=f"{STAFF_PASSWORD}\n").code == 0
    host = open_host(Settings(data_dir=data_dir, login_max_failures=2))
    try:
        app = create_app(host)
        with TestClient(app) as client:
            web = ServerHarness(host, app, client, Clock())
            old_session = web.login(CUSTOMER, password=STAFF_PASSWORD)
            for _ in range(2):
                web.client.post(
                    "/api/v1/sessions",
                    json={"customer_id": CUSTOMER, "password": "wrong-one-1", "device_kind": "pc"},
                )
            locked = web.client.post(
                "/api/v1/sessions",
                json={"customer_id": CUSTOMER, "password": STAFF_PASSWORD, "device_kind": "pc"},
            )
            assert locked.json()["error"] == "account_locked"

            reset = admin("customer-passwd", CUSTOMER, "--generate-password", as_json=True)
            assert reset.code == 0, reset.err
            new_password = reset.json()["password"]
            assert len(new_password) >= 12

            ended = web.client.get(
                "/api/v1/certificate/status",
                headers={"Authorization": f"Bearer {old_session.token}"},
            )
            assert ended.json()["error"] == "unauthenticated"
            refused = web.client.post(
                "/api/v1/sessions",
                json={"customer_id": CUSTOMER, "password": STAFF_PASSWORD, "device_kind": "pc"},
            )
            assert refused.json()["error"] == "login_failed"
            assert web.login(CUSTOMER, password=new_password).token
    finally:
        host.db.dispose()

    audit = admin("audit", "--customer", CUSTOMER, as_json=True).json()["events"]
    assert any(e["action"] == "password_set" and e["actor"] == "staff:alice" for e in audit)
    assert all(new_password not in json.dumps(e) for e in audit)
    one_line_error(admin("customer-passwd", national_id(999), stdin="whatever-123\n"),
                   "customer_not_found")  # fmt: skip
