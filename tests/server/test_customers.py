"""Customers and sessions: national IDs at every entry, login, lockout, expiry, logout, kinds."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sync_client.keys import build_csr_pem, generate_private_key
from sync_client.national_id import is_valid_national_id
from sync_client.protocol import format_time
from sync_server.errors import ServiceError
from sync_server.models import Customer, LoginSession

from .harness import PASSWORD, ServerHarness, refused

BAD_IDS = ["A123456788", "A12345678", "A1234567890", "1123456789", "A323456789", "", "AA"]


def login(server: ServerHarness, customer_id: object, password: object = PASSWORD, kind="pc"):
    return server.post(
        "/sessions", None, {"customer_id": customer_id, "password": password, "device_kind": kind}
    )


def with_check_digit(prefix: str) -> str:
    """``prefix`` (nine characters) completed with the one check digit that makes it valid."""
    return next(f"{prefix}{d}" for d in range(10) if is_valid_national_id(f"{prefix}{d}"))


# -- national ID at every entry -----------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS)
def test_login_refuses_an_invalid_national_id(server: ServerHarness, bad: str) -> None:
    refused(login(server, bad), "invalid_national_id")


@pytest.mark.parametrize("bad", BAD_IDS)
def test_customer_add_refuses_an_invalid_national_id(server: ServerHarness, bad: str) -> None:
    with pytest.raises(ServiceError) as caught:
        server.add_customer(bad)
    assert caught.value.code == "invalid_national_id"
    assert server.rows(Customer) == []


def test_resident_certificate_numbers_are_customers_too(server: ServerHarness) -> None:
    new_format = with_check_digit("A80000001")
    old_format = with_check_digit("AB0000001")
    for customer_id in (new_format, old_format):
        server.add_customer(customer_id)
        assert login(server, customer_id).status_code == 201


def test_a_lower_case_id_is_the_same_customer(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    response = login(server, customer_id.lower())
    assert response.status_code == 201
    assert response.json()["customer_id"] == customer_id


def test_a_look_alike_id_does_not_reach_the_real_customer(server: ServerHarness) -> None:
    # ``ſ`` (long s) upper-cases to ``S`` under Unicode rules: it must be refused, not folded.
    customer_id = server.add_customer("S123456784")
    refused(login(server, "ſ" + customer_id[1:]), "invalid_national_id")
    assert server.rows(LoginSession) == []
    assert login(server, customer_id).status_code == 201


def test_login_fields_must_be_strings(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    refused(login(server, 1234567890), "bad_request")
    refused(login(server, customer_id, password=None), "bad_request")
    refused(login(server, customer_id, kind="tablet"), "bad_request")


# -- login ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pc", "mobile"])
def test_login_gives_a_session_of_the_device_kind(server: ServerHarness, kind: str) -> None:
    customer_id = server.add_customer()
    response = login(server, customer_id, kind=kind)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "expires_at", "customer_id", "device_kind", "renewal_reminder"}
    assert body["customer_id"] == customer_id and body["device_kind"] == kind
    assert body["expires_at"] == format_time(server.clock.now + server.settings.session_lifetime)
    assert body["renewal_reminder"] is None
    assert server.sdk(body["token"]).status().code == 40
    assert [(e.action, e.outcome, e.device_kind) for e in server.audit(action="login")] == [
        ("login", "ok", kind)
    ]


def test_session_tokens_and_passwords_are_stored_hashed(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    token = login(server, customer_id).json()["token"]
    (row,) = server.rows(LoginSession)
    assert token not in row.token_hash
    (customer,) = server.rows(Customer)
    assert (
        customer.password_hash.startswith("$argon2id$") and PASSWORD not in customer.password_hash
    )
    database = b"".join(p.read_bytes() for p in server.settings.data_dir.glob("certsync.db*"))
    assert token.encode() not in database and PASSWORD.encode() not in database


def test_a_wrong_password_fails_and_is_audited(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    refused(login(server, customer_id, password="wrong password"), "login_failed")
    (event,) = server.audit(action="login")
    assert (event.customer_id, event.outcome) == (customer_id, "login_failed")


def test_an_unknown_customer_fails_the_same_way(server: ServerHarness) -> None:
    refused(login(server, server.new_customer_id()), "login_failed")


def test_five_failures_delay_the_next_try_doubling_up_to_the_cap(server: ServerHarness) -> None:
    # The rule changed in issue 10: no fixed 15-minute lock any more, but a delay that starts
    # at login_delay and doubles per failure up to login_lockout (for this source; see
    # test_login_throttle.py for the other sources).
    customer_id = server.add_customer()
    settings = server.settings
    for left in range(settings.login_max_failures - 1, -1, -1):
        body = refused(login(server, customer_id, password="wrong password"), "login_failed")
        assert body["details"] == {"tries_left": left}
    # Delayed: even the right password is refused, and the answer says until when.
    body = refused(login(server, customer_id), "account_locked")
    until = server.clock.now + settings.login_delay
    assert body["details"] == {"locked_until": format_time(until)}
    server.clock.advance(settings.login_delay - timedelta(seconds=1))
    refused(login(server, customer_id), "account_locked")
    server.clock.advance(seconds=1)
    # Each further failure doubles the wait, up to login_lockout.
    waits = []
    for _ in range(6):
        refused(login(server, customer_id, password="wrong password"), "login_failed")
        body = refused(login(server, customer_id), "account_locked")
        wait = datetime.fromisoformat(body["details"]["locked_until"]) - server.clock.now
        waits.append(wait)
        server.clock.advance(wait)
    assert waits == [timedelta(minutes=m) for m in (2, 4, 8, 15, 15, 15)]
    assert settings.login_lockout == timedelta(minutes=15)
    assert login(server, customer_id).status_code == 201
    outcomes = [e.outcome for e in server.audit(action="login")]
    assert outcomes == (
        ["login_failed"] * 5 + ["account_locked"] * 2 + ["login_failed", "account_locked"] * 6
    ) + ["ok"]


def test_a_success_resets_the_failure_count(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    for _ in range(2):
        for _ in range(server.settings.login_max_failures - 1):
            refused(login(server, customer_id, password="wrong password"), "login_failed")
        assert login(server, customer_id).status_code == 201


# -- sessions ---------------------------------------------------------------------------


def test_a_session_expires_after_its_lifetime(server: ServerHarness) -> None:
    sdk = server.login(server.add_customer())
    server.clock.advance(server.settings.session_lifetime - timedelta(seconds=1))
    assert sdk.status().code == 40
    server.clock.advance(seconds=1)
    refused(
        server.client.get("/api/v1/certificate/status", headers=auth(sdk.token)), "unauthenticated"
    )


def test_logout_ends_the_session(server: ServerHarness) -> None:
    sdk = server.login(server.add_customer())
    token = sdk.token
    response = server.client.delete("/api/v1/sessions/current", headers=auth(token))
    assert response.status_code == 204
    refused(server.client.get("/api/v1/certificate/status", headers=auth(token)), "unauthenticated")
    refused(
        server.client.delete("/api/v1/sessions/current", headers=auth(token)), "unauthenticated"
    )
    assert [e.action for e in server.audit()][-1] == "logout"


def test_logging_out_one_session_leaves_the_others(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    pc, phone = server.login(customer_id), server.login(customer_id, kind="mobile")
    pc.logout()
    assert phone.status().code == 40


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic QTEyMzQ1Njc4OTpwYXNzd29yZA==",
        "Bearer not-a-token-anyone-was-given",
        "Bearer " + "x" * 500,
    ],
)
def test_a_missing_or_garbage_token_is_unauthenticated(
    server: ServerHarness, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    refused(server.client.get("/api/v1/certificate/status", headers=headers), "unauthenticated")


def test_a_mobile_session_cannot_apply(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    code = server.enrollment_code(customer_id)
    phone = server.login(customer_id, kind="mobile")
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    body = {"enrollment_code": code, "terms_accepted": True, "csr_pem": csr}
    refused(server.post("/certificate/apply", phone.token, body), "wrong_device_kind")
    # Nothing was spent: the same slip still works from a PC.
    pc = server.login(customer_id)
    assert server.post("/certificate/apply", pc.token, body).status_code == 201


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "/api/v1/certificate/renewal-challenge", "mobile"),
        ("POST", "/api/v1/certificate/renew", "mobile"),
        ("POST", "/api/v1/certificate/redownload", "mobile"),
        ("POST", "/api/v1/relay/slots", "mobile"),
        ("PUT", "/api/v1/relay/slots/AAAAAAAAAAAAAAAAAAAAAA/ciphertext", "mobile"),
        ("GET", "/api/v1/relay/slots/AAAAAAAAAAAAAAAAAAAAAA/events", "mobile"),
        ("DELETE", "/api/v1/relay/slots/AAAAAAAAAAAAAAAAAAAAAA", "mobile"),
        ("POST", "/api/v1/relay/slots/AAAAAAAAAAAAAAAAAAAAAA/claim", "pc"),
    ],
)
def test_calls_for_one_device_kind_refuse_the_other(
    server: ServerHarness, method: str, path: str, kind: str
) -> None:
    sdk = server.login(server.add_customer(), kind=kind)
    response = server.client.request(method, path, json={}, headers=auth(sdk.token))
    refused(response, "wrong_device_kind")


@pytest.mark.parametrize("not_a_string", [None, 123456789, ["A123456789"]])
def test_a_customer_id_that_is_not_a_string_is_refused_at_the_edge(
    server: ServerHarness, not_a_string: object
) -> None:
    # ``parse_customer_id`` takes a ``str``: the request models refuse other types first.
    refused(login(server, not_a_string), "bad_request")
    assert server.rows(LoginSession) == []


def auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
