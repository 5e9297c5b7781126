"""The brokerage's words (``GET /api/v1/info``, ``SYNC_INFO_FILE``) and the terms version that
apply and renewal accept, refuse when outdated, and record in the audit trail."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.testclient import TestClient

from sync_client.api import BrokerageInfo
from sync_client.errors import ServerRefused
from sync_client.keys import build_csr_pem, generate_private_key, sign
from sync_client.protocol import renewal_message
from sync_server.app import create_app
from sync_server.cli import main
from sync_server.errors import ConfigError
from sync_server.host import open_host
from sync_server.info import DEFAULT_INFO, info_from_json
from sync_server.models import Certificate, EnrollmentCode, RenewalChallenge
from sync_server.settings import Settings

from .harness import FAST_KDF, Clock, Enrolled, ServerHarness, refused

CURRENT = DEFAULT_INFO.terms_version
OPERATOR_TERMS = {"zh-TW": "新版約定條款。", "en": "The new terms."}


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SYNC_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def operator_server(tmp_path: Path, env: dict[str, str]) -> Iterator[ServerHarness]:
    """A server started from the environment, with a partial info file."""
    info_file = write_json(
        tmp_path / "info.json",
        {
            "brokerage_name": {"en": "Example Securities"},
            "service_phone": "02-2345-6789",
            "terms": {"version": "2027-01-15", "text": OPERATOR_TERMS},
        },
    )
    settings = Settings.from_env({**env, "SYNC_INFO_FILE": str(info_file)}).replace(**FAST_KDF)
    clock = Clock()
    host = open_host(settings, clock=clock)
    try:
        app = create_app(host)
        with TestClient(app) as client:
            yield ServerHarness(host, app, client, clock)
    finally:
        host.db.dispose()


# -- GET /api/v1/info -----------------------------------------------------------------------


def test_info_defaults(server: ServerHarness) -> None:
    response = server.client.get("/api/v1/info")  # no session needed
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["brokerage_name"] == {"zh-TW": "壹銀證券", "en": "Yi Yin Securities"}
    assert body["service_phone"] == "07-7999660"
    assert body["service_hours"] == {
        "zh-TW": "營業日 AM8:30~PM5:00",
        "en": "business days, 8:30 a.m. to 5:00 p.m.",
    }
    assert set(body) == {"brokerage_name", "service_phone", "service_hours", "terms"}
    assert body["terms"]["version"] == CURRENT == "2026-12-01"
    text = body["terms"]["text"]
    assert set(text) == {"zh-TW", "en"}
    # The terms say what the certificate is for and what the customer must do.
    for phrase in ("憑證", "PFX", "密碼", "立即通知", "廢止", "一年", "展期"):
        assert phrase in text["zh-TW"], phrase
    for phrase in ("signed", "PFX", "password", "at once", "revoke", "one year", "renew"):
        assert phrase in text["en"], phrase
    assert len(text["zh-TW"].split("\n\n")) == len(text["en"].split("\n\n")) >= 3


def test_info_is_encoded_once_as_utf8(server: ServerHarness) -> None:
    first, second = server.client.get("/api/v1/info"), server.client.get("/api/v1/info")
    assert first.content == second.content
    assert "壹銀證券".encode() in first.content  # not \\u-escaped
    assert json.loads(first.content) == DEFAULT_INFO.to_json()


def test_the_sdk_reads_the_info(server: ServerHarness) -> None:
    info = server.sdk().info()
    assert info == BrokerageInfo(
        brokerage_name={"zh-TW": "壹銀證券", "en": "Yi Yin Securities"},
        service_phone="07-7999660",
        service_hours=dict(DEFAULT_INFO.service_hours),
        terms_version=CURRENT,
        terms_text=dict(DEFAULT_INFO.terms_text),
    )


def test_an_operator_file_overrides_and_fills_from_the_defaults(
    operator_server: ServerHarness,
) -> None:
    body = operator_server.client.get("/api/v1/info").json()
    assert body == {
        "brokerage_name": {"zh-TW": "壹銀證券", "en": "Example Securities"},
        "service_phone": "02-2345-6789",
        "service_hours": dict(DEFAULT_INFO.service_hours),
        "terms": {"version": "2027-01-15", "text": OPERATOR_TERMS},
    }
    assert operator_server.sdk().info().terms_version == "2027-01-15"


def test_a_file_may_set_only_a_new_version(tmp_path: Path, env: dict[str, str]) -> None:
    path = write_json(tmp_path / "info.json", {"terms": {"version": "v2"}})
    info = Settings.from_env({**env, "SYNC_INFO_FILE": str(path)}).info
    assert info.terms_version == "v2" and info.terms_text == DEFAULT_INFO.terms_text
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # saved by Notepad
    assert Settings.from_env({**env, "SYNC_INFO_FILE": str(bom)}).info.terms_version == "v2"


BAD_FILES: list[tuple[str, bytes | object]] = [
    ("not JSON", b"{brokerage_name: 1"),
    ("not UTF-8", b'{"service_phone": "\xff"}'),
    ("unknown key", {"service_phone": "1", "terms_versoin": "x"}),
    ("not an object", ["壹銀證券"]),
    ("unknown language", {"brokerage_name": {"ja": "証券"}}),
    ("empty text", {"service_hours": {"en": "  "}}),
    ("not a text", {"brokerage_name": {"en": 7}}),
    ("phone not a string", {"service_phone": 77999660}),
    ("terms not an object", {"terms": "2027-01-15"}),
    ("unknown terms key", {"terms": {"version": "2", "txt": {}}}),
    ("changed text, no version", {"terms": {"text": {"en": "New words."}}}),
    ("changed text, old version", {"terms": {"version": CURRENT, "text": OPERATOR_TERMS}}),
    ("version with spaces", {"terms": {"version": "the new one", "text": OPERATOR_TERMS}}),
    ("version not a string", {"terms": {"version": 2027, "text": OPERATOR_TERMS}}),
    ("version too long", {"terms": {"version": "v" * 33}}),
]


@pytest.mark.parametrize(("what", "content"), BAD_FILES, ids=[w for w, _ in BAD_FILES])
def test_a_bad_file_is_one_line_naming_it(
    tmp_path: Path, env: dict[str, str], what: str, content: bytes | object
) -> None:
    path = tmp_path / "info.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write_json(path, content)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**env, "SYNC_INFO_FILE": str(path)})
    message = str(caught.value)
    assert message.startswith(f"SYNC_INFO_FILE {path}") and "\n" not in message, message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_missing_file_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        Settings.from_env({**env, "SYNC_INFO_FILE": str(tmp_path / "nowhere.json")})


def test_the_server_refuses_to_start_with_a_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("SYNC_"):
            monkeypatch.delenv(name)
    path = write_json(tmp_path / "info.json", {"terms": {"text": {"en": "Changed."}}})
    monkeypatch.setenv("SYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SYNC_INFO_FILE", str(path))
    assert main(["serve", "--port", "0"]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"error: SYNC_INFO_FILE {path}: terms.text") and "terms.version" in line
    assert line.endswith("[config]") and "Traceback" not in captured.err
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_info_is_kept_out_of_the_settings_repr() -> None:
    settings = Settings(data_dir=Path("/nonexistent"))
    assert settings.info is DEFAULT_INFO
    assert "約定" not in repr(settings) and "terms" not in repr(settings)
    hash(settings)  # a frozen value still


# -- the terms version at apply -------------------------------------------------------------


def apply_body(server: ServerHarness, customer_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "enrollment_code": server.enrollment_code(customer_id),
        "terms_accepted": True,
        "csr_pem": build_csr_pem(generate_private_key("ec"), customer_id),
        **extra,
    }


def test_apply_records_the_terms_version_accepted(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    pc = server.login(customer_id)
    issued = pc.apply(
        enrollment_code=server.enrollment_code(customer_id),
        csr_pem=build_csr_pem(generate_private_key("ec"), customer_id),
        terms_accepted=True,
        terms_version=pc.info().terms_version,
    )
    (event,) = server.audit(action="apply")
    assert event.outcome == "ok"
    assert event.detail == f"serial {issued.certificate.serial} terms {CURRENT}"


def test_apply_from_an_old_client_records_unknown_terms(server: ServerHarness) -> None:
    enrolled = server.enroll()  # the SDK sends no terms_version unless given one
    (event,) = server.audit(action="apply")
    assert event.detail == f"serial {enrolled.serial} terms unknown"


def test_a_refused_apply_records_the_terms_too(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    server.enrollment_code(customer_id)
    token = server.login_token(customer_id)
    body = {**apply_body(server, customer_id), "terms_version": CURRENT}
    body["enrollment_code"] = "ACDEFHJKLMNP"
    refused(server.post("/certificate/apply", token, body), "enrollment_code_invalid")
    (event,) = server.audit(action="apply")
    assert (event.outcome, event.detail) == ("enrollment_code_invalid", f"terms {CURRENT}")


def test_an_outdated_terms_version_is_refused_and_changes_nothing(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    token = server.login_token(customer_id)
    body = apply_body(server, customer_id, terms_version="2025-01-01")
    before = len(server.audit())
    response = server.post("/certificate/apply", token, body)
    assert refused(response, "terms_version_outdated")["details"] == {"current_version": CURRENT}
    assert server.rows(Certificate) == []
    (slip,) = server.rows(EnrollmentCode, customer_id=customer_id)
    assert (slip.used_at, slip.failed_attempts) == (None, 0)
    assert len(server.audit()) == before
    # Read again, accepted again: the same slip works.
    assert server.post("/certificate/apply", token, {**body, "terms_version": CURRENT}).json()


@pytest.mark.parametrize("version", [20261201, True, ["2026-12-01"], {"v": 1}])
def test_a_terms_version_must_be_a_string(server: ServerHarness, version: object) -> None:
    customer_id = server.add_customer()
    token = server.login_token(customer_id)
    body = apply_body(server, customer_id, terms_version=version)
    refused(server.post("/certificate/apply", token, body), "bad_request")
    assert server.rows(Certificate) == []


def test_the_operators_version_is_the_current_one(operator_server: ServerHarness) -> None:
    server = operator_server
    customer_id = server.add_customer()
    pc = server.login(customer_id)
    code = server.enrollment_code(customer_id)
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    with pytest.raises(ServerRefused) as caught:
        pc.apply(enrollment_code=code, csr_pem=csr, terms_accepted=True, terms_version=CURRENT)
    assert caught.value.code == "terms_version_outdated" and caught.value.status == 409
    assert caught.value.details == {"current_version": "2027-01-15"}
    pc.apply(enrollment_code=code, csr_pem=csr, terms_accepted=True, terms_version="2027-01-15")
    assert server.audit(action="apply")[-1].detail.endswith(" terms 2027-01-15")


# -- the terms version at renewal -----------------------------------------------------------


@pytest.fixture
def renewable(server: ServerHarness) -> Enrolled:
    """A customer whose certificate is inside its renewal window at once."""
    return server.enroll()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"certificate_validity": timedelta(days=20)}  # inside the 30-day window at once


def signed_renewal(enrolled: Enrolled) -> dict[str, Any]:
    challenge = enrolled.sdk.renewal_challenge()
    csr = build_csr_pem(generate_private_key("ec"), enrolled.customer_id)
    der = x509.load_pem_x509_csr(csr.encode()).public_bytes(serialization.Encoding.DER)
    message = renewal_message(
        challenge.challenge_id, challenge.nonce, hashlib.sha256(der).hexdigest()
    )
    return {
        "challenge_id": challenge.challenge_id,
        "csr_pem": csr,
        "signature": sign(enrolled.key, message),
    }


def test_renewal_records_the_terms_version_accepted(
    server: ServerHarness, renewable: Enrolled
) -> None:
    renewed = renewable.sdk.renew(**signed_renewal(renewable), terms_version=CURRENT)
    (event,) = server.audit(action="renew")
    assert event.outcome == "ok"
    assert event.detail == f"serial {renewed.certificate.serial} terms {CURRENT}"


def test_renewal_from_an_old_client_records_unknown_terms(
    server: ServerHarness, renewable: Enrolled
) -> None:
    renewed = renewable.sdk.renew(**signed_renewal(renewable))
    (event,) = server.audit(action="renew")
    assert event.detail == f"serial {renewed.certificate.serial} terms unknown"


def test_an_outdated_version_at_renewal_changes_nothing(
    server: ServerHarness, renewable: Enrolled
) -> None:
    body = signed_renewal(renewable)
    wire = {**body, "signature": base64.b64encode(body["signature"]).decode()}
    before = len(server.audit())
    response = server.post(
        "/certificate/renew", renewable.sdk.token, {**wire, "terms_version": "old"}
    )
    refused(response, "terms_version_outdated")
    assert len(server.rows(Certificate)) == 1
    (challenge,) = server.rows(RenewalChallenge, id=body["challenge_id"])
    assert challenge.used_at is None
    assert len(server.audit()) == before
    # The same challenge still renews once the customer accepted the current terms.
    assert renewable.sdk.renew(**body, terms_version=CURRENT).certificate.serial != renewable.serial


def test_info_from_json_fills_language_by_language() -> None:
    info = info_from_json({"service_hours": {"en": "weekdays 9 to 5"}})
    assert info.service_hours == {
        "zh-TW": DEFAULT_INFO.service_hours["zh-TW"],
        "en": "weekdays 9 to 5",
    }
    assert info.terms_version == CURRENT and info.brokerage_name == DEFAULT_INFO.brokerage_name
