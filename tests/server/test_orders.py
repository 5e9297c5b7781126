"""Signed orders: accepted only under the customer's current valid certificate, once each."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest

from sync_client.keys import PrivateKey, generate_private_key
from sync_client.orders import build_order, sign_order
from sync_client.protocol import format_time
from sync_server import revocation
from sync_server.models import Order

from .harness import Enrolled, ServerHarness, refused


def order_for(server: ServerHarness, **changes: Any) -> dict[str, Any]:
    order = build_order(
        symbol="2330", side="buy", quantity=1000, price="612.50", now=server.clock.now
    )
    return {**order, **changes}


def place(
    server: ServerHarness,
    enrolled: Enrolled,
    order: dict[str, Any],
    *,
    key: PrivateKey | None = None,
    token: str | None = None,
    sent: dict[str, Any] | None = None,
):
    """Sign ``order`` with ``key`` (the enrolled key by default) and send ``sent`` or it."""
    signed = sign_order(
        key or enrolled.key,
        order,
        audience=server.host.order_audience,
        customer_id=enrolled.customer_id,
        serial=enrolled.serial,
    )
    body = {
        "order": sent if sent is not None else order,
        "signature": base64.b64encode(signed.signature).decode(),
        "serial": str(enrolled.serial),
        "customer_id": enrolled.customer_id,
        "audience": server.host.order_audience,
    }
    return server.post("/orders", token or enrolled.sdk.token, body)


def test_an_order_signed_by_the_current_key_is_accepted(
    server: ServerHarness, rsa_keys: list[PrivateKey]
) -> None:
    for key in (generate_private_key("ec"), rsa_keys[2]):
        enrolled = server.enroll(key=key)
        order = order_for(server)
        response = place(server, enrolled, order)
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"order_id", "accepted_at", "serial"}
        assert body["serial"] == str(enrolled.serial)
        assert body["accepted_at"] == format_time(server.clock.now)
        (row,) = server.rows(Order, customer_id=enrolled.customer_id)
        assert (row.symbol, row.side, row.quantity, row.price) == ("2330", "buy", 1000, "612.50")
        assert row.client_order_id == order["client_order_id"] and row.device_kind == "pc"
        assert server.audit(action="order", customer_id=enrolled.customer_id)[-1].outcome == "ok"


def test_the_phone_may_place_orders_too_through_the_sdk(server: ServerHarness) -> None:
    enrolled = server.enroll()
    phone = server.login(enrolled.customer_id, kind="mobile")
    signed = sign_order(
        enrolled.key,
        order_for(server, side="sell", price="1"),
        audience=phone.policy().order_audience,
        customer_id=enrolled.customer_id,
        serial=enrolled.serial,
    )
    answer = phone.place_order(signed)
    assert answer.serial == str(enrolled.serial)
    (row,) = server.rows(Order)
    assert row.device_kind == "mobile"


def test_a_replayed_order_is_refused(server: ServerHarness) -> None:
    enrolled = server.enroll()
    order = order_for(server)
    assert place(server, enrolled, order).status_code == 201
    refused(place(server, enrolled, order), "order_replayed")
    assert len(server.rows(Order)) == 1
    assert [e.outcome for e in server.audit(action="order")] == ["ok", "order_replayed"]


@pytest.mark.parametrize(
    "change", [{"quantity": 1001}, {"price": "612.51"}, {"side": "sell"}, {"symbol": "2317"}]
)
def test_a_tampered_order_is_refused(server: ServerHarness, change: dict[str, Any]) -> None:
    enrolled = server.enroll()
    order = order_for(server)
    refused(place(server, enrolled, order, sent={**order, **change}), "order_signature_invalid")
    assert server.rows(Order) == []
    assert server.audit(action="order")[-1].outcome == "order_signature_invalid"


def test_an_order_signed_by_another_key_is_refused(server: ServerHarness) -> None:
    enrolled = server.enroll()
    stranger = generate_private_key("ec")
    refused(place(server, enrolled, order_for(server), key=stranger), "order_signature_invalid")
    assert server.rows(Order) == []


def test_the_key_of_a_revoked_certificate_cannot_sign(server: ServerHarness) -> None:
    enrolled = server.enroll()
    revocation.revoke(server.host, str(enrolled.serial), reason="key_compromise", actor="s:t")
    refused(place(server, enrolled, order_for(server)), "certificate_not_valid")
    assert server.rows(Order) == []


def test_without_a_certificate_nothing_can_be_signed(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    sdk = server.login(customer_id)
    audience = server.host.order_audience
    signed = sign_order(
        generate_private_key("ec"),
        order_for(server),
        audience=audience,
        customer_id=customer_id,
        serial=1,
    )
    signature = base64.b64encode(signed.signature).decode()
    body = {
        "order": signed.order,
        "signature": signature,
        "serial": "1",
        "customer_id": customer_id,
        "audience": audience,
    }
    refused(server.post("/orders", sdk.token, body), "certificate_not_valid")


def test_the_key_of_an_expired_certificate_cannot_sign(server: ServerHarness) -> None:
    enrolled = server.enroll()
    server.clock.advance(server.settings.certificate_validity)
    sdk = server.login(enrolled.customer_id)
    refused(place(server, enrolled, order_for(server), token=sdk.token), "certificate_not_valid")


@pytest.mark.parametrize(
    "skew", [timedelta(minutes=5, seconds=1), -timedelta(minutes=5, seconds=1)]
)
def test_a_stale_order_is_refused(server: ServerHarness, skew: timedelta) -> None:
    enrolled = server.enroll()
    order = order_for(server, signed_at=format_time(server.clock.now + skew))
    refused(place(server, enrolled, order), "order_stale")
    assert server.rows(Order) == []


def test_an_order_within_five_minutes_is_fresh(server: ServerHarness) -> None:
    enrolled = server.enroll()
    order = order_for(server, signed_at=format_time(server.clock.now - timedelta(minutes=5)))
    assert place(server, enrolled, order).status_code == 201


MALFORMED: list[dict[str, Any]] = [
    {"side": "short"},
    {"quantity": 0},
    {"quantity": -5},
    {"quantity": 1.5},
    {"quantity": True},
    {"quantity": "1000"},
    {"price": "612.505"},
    {"price": "0"},
    {"price": "-1"},
    {"price": 612.5},
    {"price": "1e3"},
    {"symbol": ""},
    {"symbol": "TOO-LONG-SYMBOL"},
    {"symbol": "台積電"},
    {"client_order_id": "short"},
    {"client_order_id": "Z" * 32},
    {"signed_at": "yesterday"},
    {"signed_at": "2026-11-25T10:00:00"},
    {"signed_at": None},
    {"extra": "field"},
]


@pytest.mark.parametrize("change", MALFORMED)
def test_a_malformed_order_is_refused(server: ServerHarness, change: dict[str, Any]) -> None:
    enrolled = server.enroll()
    order = {**order_for(server), **change}
    refused(place(server, enrolled, order), "order_invalid")
    assert server.rows(Order) == []


@pytest.mark.parametrize("order", [None, [], "order", {}])
def test_an_order_that_is_not_an_object_is_invalid(server: ServerHarness, order: object) -> None:
    enrolled = server.enroll()
    body = {"order": order, "signature": "AAAA"}
    refused(server.post("/orders", enrolled.sdk.token, body), "order_invalid")


def test_a_missing_field_is_invalid(server: ServerHarness) -> None:
    enrolled = server.enroll()
    order = order_for(server)
    del order["price"]
    refused(place(server, enrolled, order), "order_invalid")


@pytest.mark.parametrize("signature", [None, 5, "not base64!"])
def test_the_signature_must_be_base64(server: ServerHarness, signature: object) -> None:
    enrolled = server.enroll()
    body = {"order": order_for(server), "signature": signature}
    refused(server.post("/orders", enrolled.sdk.token, body), "bad_request")
