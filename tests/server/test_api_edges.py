"""The HTTP edge: one error shape everywhere, size limits, bad bodies, health, OpenAPI, policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.routing import Route

from sync_client.protocol import format_time

from .harness import ERROR_STATUS, ServerHarness, assert_error_shape, refused


def app_routes(server: ServerHarness) -> set[tuple[str, str]]:
    pairs = set()
    for route in server.app.routes:
        assert isinstance(route, Route)
        pairs |= {(m.lower(), route.path) for m in route.methods or () if m != "HEAD"}
    return pairs


def test_the_error_table_was_read_from_the_protocol() -> None:
    # The refusal checks compare statuses with docs/PROTOCOL.md; make sure they have it.
    assert len(ERROR_STATUS) >= 40
    assert ERROR_STATUS["slot_wrong_customer"] == 403 and ERROR_STATUS["account_locked"] == 423


def test_an_unknown_path_is_not_found(server: ServerHarness) -> None:
    for path in ("/nowhere", "/api/v1/nowhere", "/api/v2/policy"):
        body = refused(server.client.get(path), "not_found")
        assert set(body) == {"error", "message"}


def test_a_wrong_method_is_not_allowed(server: ServerHarness) -> None:
    refused(server.client.get("/api/v1/sessions"), "method_not_allowed")
    refused(server.client.put("/api/v1/policy"), "method_not_allowed")
    refused(server.client.delete("/api/v1/certificate/apply"), "method_not_allowed")


def test_a_body_over_128_kib_is_too_large(server: ServerHarness) -> None:
    body = {"customer_id": "A123456789", "password": "x" * (128 * 1024), "device_kind": "pc"}
    refused(server.client.post("/api/v1/sessions", json=body), "payload_too_large")
    assert server.audit(action="login") == []


def test_a_streamed_body_over_the_limit_is_too_large(server: ServerHarness) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        yield b'{"customer_id": "A123456789", "password": "'
        for _ in range(200):
            yield b"x" * 1024
        yield b'", "device_kind": "pc"}'

    response = server.client.post(
        "/api/v1/sessions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    refused(response, "payload_too_large")


def test_a_body_just_under_the_limit_is_read(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    # Padded with JSON whitespace: an unknown field would be refused for itself.
    padding = " " * (server.settings.max_body_bytes - 200)
    body = {"customer_id": customer_id, "password": "wrong", "device_kind": "pc"}
    content = json.dumps(body).encode() + padding.encode()
    assert len(content) < server.settings.max_body_bytes
    headers = {"Content-Type": "application/json"}
    response = server.client.post("/api/v1/sessions", content=content, headers=headers)
    refused(response, "login_failed")


@pytest.mark.parametrize(
    "content", [b"not json", b"{", b"\xff\xfe{}", b"[1, 2]", b'"text"', b"null", b"42"]
)
def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    server: ServerHarness, content: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    refused(server.client.post("/api/v1/sessions", content=content, headers=headers), "bad_request")


def test_an_empty_body_reads_as_an_empty_object(server: ServerHarness) -> None:
    refused(server.client.post("/api/v1/sessions"), "bad_request")


def test_every_session_route_refuses_a_caller_without_a_session(server: ServerHarness) -> None:
    document = server.client.get("/openapi.json").json()
    guarded = [
        (method, path.replace("{slot_id}", "A" * 22))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    ]
    assert len(guarded) >= 12
    for method, path in guarded:
        refused(server.client.request(method.upper(), path, json={}), "unauthenticated")


def test_healthz(server: ServerHarness) -> None:
    response = server.client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_openapi_lists_every_route(server: ServerHarness) -> None:
    response = server.client.get("/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    listed = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert listed == app_routes(server)  # every route served is documented, and only those
    for ops in document["paths"].values():
        for op in ops.values():
            assert op["summary"] and "default" in op["responses"]


def test_policy(server: ServerHarness) -> None:
    response = server.client.get("/api/v1/policy")
    assert response.status_code == 200
    assert response.json() == {
        "pfx_password_min_length": 4,
        "renewal_window_days": 30,
        "certificate_validity_days": 365,
        "relay_slot_lifetime_seconds": 120,
        "server_time": format_time(server.clock.now),
        "order_audience": f"certsync:{server.host.ca.fingerprint_sha256}",
    }
    assert server.sdk().policy().server_time == server.clock.now


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "certificate_validity": timedelta(days=20),
            "pfx_password_min_length": 6,
            "relay_slot_lifetime": timedelta(seconds=90),
        }
    ],
)
def test_policy_follows_the_settings(server: ServerHarness) -> None:
    policy = server.client.get("/api/v1/policy").json()
    assert policy["certificate_validity_days"] == 20
    assert policy["pfx_password_min_length"] == 6
    assert policy["relay_slot_lifetime_seconds"] == 90


def test_the_pairing_page_is_plain_html(server: ServerHarness) -> None:
    response = server.client.get("/pair/AAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_refusals_do_not_echo_what_was_sent(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    secret = "my-very-own-secret-password"
    body = {"customer_id": customer_id, "password": secret, "device_kind": "pc"}
    response = server.client.post("/api/v1/sessions", json=body)
    assert_error_shape(response)
    assert secret not in response.text
    token = "a-token-nobody-was-ever-given-" + "z" * 20
    response = server.client.get(
        "/api/v1/certificate/status", headers={"Authorization": f"Bearer {token}"}
    )
    assert token not in response.text
