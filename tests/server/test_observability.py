"""What an operator watches: ``/metrics``, ``/readyz`` and the JSON log lines (with no secret).

The real app in process on SQLite, and on the machine's PostgreSQL for an unreachable database.
Metrics are read back with prometheus-client's own parser.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from starlette.testclient import TestClient

from sync_client.envelope import new_relay_key, seal
from sync_client.keys import build_csr_pem, generate_private_key
from sync_client.pfx import build_pfx
from sync_server import relay, revocation
from sync_server.app import create_app
from sync_server.host import open_host
from sync_server.logs import JsonFormatter
from sync_server.settings import Settings

from .harness import FAST_KDF, PASSWORD, Clock, ServerHarness, refused
from .pg import fresh_database
from .test_audit_secrets import full_flow


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"certificate_validity": timedelta(days=20), "login_max_failures": 2}


def test_metrics_count_what_the_service_did(server: ServerHarness) -> None:
    before = scrape(server.client)
    assert value(before, "certsync_logins_total", outcome="locked") == 0  # present from start
    enrolled = server.enroll()  # a login and an application
    phone = server.login(enrolled.customer_id, kind="mobile")
    wrong = {"customer_id": enrolled.customer_id, "password": "not it", "device_kind": "pc"}
    for _ in range(3):  # failed, failed (now locked), locked
        server.client.post("/api/v1/sessions", json=wrong)
    other = server.add_customer()
    server.enrollment_code(other)
    pc = server.login(other)
    bad = {"enrollment_code": "ACDE-FHJK-LMNP", "terms_accepted": True,
           "csr_pem": build_csr_pem(generate_private_key("ec"), other)}  # fmt: skip
    server.post("/certificate/apply", pc.token, bad)
    server.post("/enrollment/check", pc.token, {"enrollment_code": "ACDE-FHJK-LMNP"})

    fingerprint = enrolled.issued.certificate.fingerprint_sha256
    claimed = enrolled.sdk.open_slot(certificate_fingerprint=fingerprint)
    enrolled.sdk.upload_ciphertext(claimed.slot_id, b"\x02" + bytes(40))
    phone.claim_slot(claimed.slot_id)
    cancelled = enrolled.sdk.open_slot(certificate_fingerprint=fingerprint)
    enrolled.sdk.cancel_slot(cancelled.slot_id)
    enrolled.sdk.open_slot(certificate_fingerprint=fingerprint)
    server.clock.advance(seconds=121)
    relay.prune(server.host, now=server.clock.now, older_than=timedelta(hours=1))
    revocation.revoke(
        server.host, str(enrolled.serial), reason="key_compromise", actor="staff:test"
    )
    for _ in range(3):
        enrolled.sdk.status()

    after = scrape(server.client)
    assert value(after, "certsync_certificates_issued_total") == 1
    assert value(after, "certsync_certificates_revoked_total") == 1  # read from the database
    assert value(after, "certsync_logins_total", outcome="ok") == 3
    assert value(after, "certsync_logins_total", outcome="failed") == 2
    assert value(after, "certsync_logins_total", outcome="locked") == 1
    assert value(after, "certsync_enrollment_code_failures_total",
                 reason="enrollment_code_invalid") == 2  # fmt: skip
    for event, count in (("opened", 3), ("claimed", 1), ("cancelled", 1), ("expired", 1)):
        assert value(after, "certsync_relay_slots_total", event=event) == count, event
    route = {"method": "GET", "route": "/api/v1/certificate/status"}
    assert value(after, "certsync_http_request_duration_seconds_count", **route) == 3
    assert value(after, "certsync_http_responses_total", **route, status="200") == 3
    assert value(after, "certsync_http_responses_total", method="POST",
                 route="/api/v1/sessions", status="423") == 1  # fmt: skip
    assert value(after, "certsync_database_errors_total") == 0
    ca_expiry = value(after, "certsync_ca_not_after_timestamp_seconds")
    assert ca_expiry == server.host.ca.cert.not_valid_after_utc.timestamp()


def test_a_renewal_counts_as_renewed(server: ServerHarness) -> None:
    from .test_renewal import challenge, renew  # the renewal flow, as its own tests send it

    enrolled = server.enroll()
    assert renew(server, enrolled, challenge(server, enrolled)).status_code == 201
    samples = scrape(server.client)
    assert value(samples, "certsync_certificates_renewed_total") == 1
    assert value(samples, "certsync_certificates_issued_total") == 1


def test_each_app_counts_for_itself(tmp_path: Path) -> None:
    hosts = [open_host(Settings(data_dir=tmp_path / n, **FAST_KDF)) for n in ("a", "b")]
    try:
        with TestClient(create_app(hosts[0])) as a, TestClient(create_app(hosts[1])) as b:
            for _ in range(3):
                a.get("/api/v1/policy")
            b.get("/api/v1/policy")
            route = {"method": "GET", "route": "/api/v1/policy"}
            assert value(scrape(a), "certsync_http_request_duration_seconds_count", **route) == 3
            assert value(scrape(b), "certsync_http_request_duration_seconds_count", **route) == 1
            assert value(scrape(a), "certsync_http_responses_total", method="GET",
                         route="unmatched", status="404") == 0  # fmt: skip
            a.get("/no/such/path/12345")
            assert value(scrape(a), "certsync_http_responses_total", method="GET",
                         route="unmatched", status="404") == 1  # fmt: skip
    finally:
        for host in hosts:
            host.db.dispose()


def test_readyz_says_ready_and_why_not(server: ServerHarness) -> None:
    ready = server.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "ca": "ok"}
    with server.host.db.write() as session:  # as if an older version's database were swapped in
        session.exec(text("UPDATE alembic_version SET version_num = '0001'"))  # type: ignore[call-overload]
    body = refused(server.client.get("/readyz"), "not_ready")
    assert body["details"]["database"] == "schema revision 0001, needs 0003"
    assert body["details"]["ca"] == "ok"
    assert server.client.get("/healthz").status_code == 200  # alive, just not ready
    server.clock.advance(days=3651)
    assert refused(server.client.get("/readyz"), "not_ready")["details"]["ca"] == "expired"


def test_database_errors_are_counted(server: ServerHarness) -> None:
    with server.host.db.write() as session:
        session.exec(text("DROP TABLE relay_slot"))  # type: ignore[call-overload]
    enrolled = server.enroll()
    # As a real client sees it: the 500 answer, not the exception TestClient re-raises.
    with TestClient(server.app, raise_server_exceptions=False) as client:
        response = client.post(
            "/api/v1/relay/slots",
            json={"certificate_fingerprint": enrolled.issued.certificate.fingerprint_sha256},
            headers={"Authorization": f"Bearer {enrolled.sdk.token}"},
        )
        refused(response, "internal_error")
        assert value(scrape(client), "certsync_database_errors_total") >= 1


@pytest.mark.postgres
def test_readyz_on_postgres_when_the_database_goes_away(tmp_path: Path) -> None:
    with fresh_database() as url:
        host = open_host(Settings(data_dir=tmp_path / "ca", database_url=url, **FAST_KDF))
        try:
            with TestClient(create_app(host)) as client:
                assert client.get("/readyz").json()["status"] == "ready"
                name = url.rsplit("/", 1)[1]
                with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as pg:
                    pg.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                body = refused(client.get("/readyz"), "not_ready")
                assert body["details"]["database"].startswith("unreachable")
                assert value(scrape(client), "certsync_database_errors_total") >= 1
        finally:
            host.db.dispose()


# -- logs -------------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log record of the process, at DEBUG (SQL included), as the server writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    engine_log = logging.getLogger("sqlalchemy.engine")
    levels = root.level, engine_log.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    engine_log.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        engine_log.setLevel(levels[1])


def test_every_request_leaves_one_json_line(server: ServerHarness, json_log: io.StringIO) -> None:
    server.client.get("/api/v1/policy", headers={"X-Request-ID": "lb-7f3a"})
    echoed = server.client.get("/api/v1/ca")
    server.client.get("/api/v1/relay/slots/some-slot-id/events")
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "sync_server.access"]
    assert [a["route"] for a in access] == [
        "/api/v1/policy",
        "/api/v1/ca",
        "/api/v1/relay/slots/{slot_id}/events",  # the template: no id in a log or a label
    ]
    first, second, third = access
    assert first["request_id"] == "lb-7f3a" and first["status"] == 200
    assert second["request_id"] == echoed.headers["x-request-id"]
    server_lines = [line for line in lines if line["logger"] != "httpx2"]  # the client's own
    assert third["status"] == 401 and "some-slot-id" not in json.dumps(server_lines)
    for line in access:
        assert line["timestamp"].endswith("Z") and line["level"] == "info"
        assert isinstance(line["duration_ms"], float) and line["method"] == "GET"
    bad = server.client.get("/api/v1/ca", headers={"X-Request-ID": "x" * 65})
    assert bad.headers["x-request-id"] != "x" * 65  # too long: replaced, never logged as given


def test_a_full_flow_logs_no_secret(server: ServerHarness, json_log: io.StringIO) -> None:
    secrets = full_flow(server)

    # A pairing of a real PFX under its password.
    pfx_password = "the customer's PFX password"
    enrolled = server.enroll()
    phone = server.login(enrolled.customer_id, kind="mobile")
    cert = enrolled.issued.certificate.load()
    pfx = build_pfx(customer_id=enrolled.customer_id, key=enrolled.key, cert=cert, chain=[],
                    password=pfx_password, iterations=1000)  # fmt: skip
    key = new_relay_key()
    slot = enrolled.sdk.open_slot(
        certificate_fingerprint=enrolled.issued.certificate.fingerprint_sha256
    )
    envelope = seal(
        key=key,
        origin=enrolled.sdk.server_url,
        slot_id=slot.slot_id,
        customer_id=enrolled.customer_id,
        certificate_fingerprint=enrolled.issued.certificate.fingerprint_sha256,
        plaintext=pfx,
    )
    enrolled.sdk.upload_ciphertext(slot.slot_id, envelope)
    assert phone.claim_slot(slot.slot_id).ciphertext == envelope

    secrets += [
        pfx_password,
        base64.urlsafe_b64encode(key).rstrip(b"=").decode(),
        base64.b64encode(key).decode(),
        base64.b64encode(envelope).decode()[:40],
        PASSWORD,
        *(t for t in (enrolled.sdk.token, phone.token) if t),
    ]
    logged = json_log.getvalue()
    lines = [json.loads(line) for line in logged.splitlines()]
    assert {"sync_server.access", "sqlalchemy.engine.Engine"} <= {line["logger"] for line in lines}
    for secret in secrets:
        assert secret not in logged, "a secret is in the log"


@pytest.mark.postgres
def test_the_database_password_never_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sync_server.cli import main

    with fresh_database() as url:
        # Trust auth ignores the password, so the URL works and still carries one to leak.
        with_password = url.replace("postgresql://postgres@", "postgresql://postgres:db-secret-42@")
        for name in list(os.environ):
            if name.startswith("SYNC_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("SYNC_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("SYNC_DATABASE_URL", with_password)
        assert main(["init"]) == 0
        assert main(["admin", "-v", "--json", "customers"]) == 0
        assert main(["db", "current"]) == 0
        shown = capsys.readouterr()
        assert "PostgreSQL certsync_test_" in shown.err
        assert "db-secret-42" not in shown.out + shown.err
        host = open_host(Settings.from_env(), clock=Clock())
        try:
            assert "db-secret-42" not in repr(host) + host.db.display_url
        finally:
            host.db.dispose()
