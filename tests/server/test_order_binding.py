"""An order's signature binds the customer, the certificate serial and the deployment (v2).

Each binding is checked by name (``order_wrong_customer``, ``order_wrong_audience``,
``certificate_not_current``), and a signature made for other values than the ones sent is
``order_signature_invalid``: in every refusal no order is recorded and the refusal is audited.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest

from sync_client.keys import generate_private_key
from sync_client.orders import build_order, sign_order
from sync_server.errors import ConfigError
from sync_server.models import Order
from sync_server.settings import Settings

from .harness import Enrolled, ServerHarness, refused

AUDIENCE = "certsync:yiyin-production"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"order_audience": AUDIENCE}


def body_for(
    server: ServerHarness,
    enrolled: Enrolled,
    *,
    signed_for: dict[str, Any] | None = None,
    sent: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An order signed for the bindings ``signed_for`` and sent naming ``sent`` (both default
    to the right ones: this customer, its serial, this server's audience)."""
    right = {
        "audience": AUDIENCE,
        "customer_id": enrolled.customer_id,
        "serial": str(enrolled.serial),
    }
    signing = {**right, **(signed_for or {})}
    order = build_order(symbol="2330", side="buy", quantity=5, price="600", now=server.clock.now)
    signed = sign_order(
        enrolled.key,
        order,
        audience=signing["audience"],
        customer_id=signing["customer_id"],
        serial=int(signing["serial"]),
    )
    return {
        "order": signed.order,
        "signature": base64.b64encode(signed.signature).decode(),
        **right,
        **(sent or {}),
    }


def nothing_recorded(server: ServerHarness, enrolled: Enrolled, code: str) -> None:
    assert server.rows(Order, customer_id=enrolled.customer_id) == []
    assert server.audit(action="order")[-1].outcome == code


def test_the_policy_publishes_the_audience_and_a_bound_order_is_accepted(
    server: ServerHarness,
) -> None:
    assert server.client.get("/api/v1/policy").json()["order_audience"] == AUDIENCE
    enrolled = server.enroll()
    response = server.post("/orders", enrolled.sdk.token, body_for(server, enrolled))
    assert response.status_code == 201, response.json()
    assert len(server.rows(Order, customer_id=enrolled.customer_id)) == 1


def test_an_order_for_another_customer_is_refused(server: ServerHarness) -> None:
    enrolled = server.enroll()
    other = server.add_customer()
    # named openly: refused by name
    body = body_for(
        server, enrolled, signed_for={"customer_id": other}, sent={"customer_id": other}
    )
    refused(server.post("/orders", enrolled.sdk.token, body), "order_wrong_customer")
    nothing_recorded(server, enrolled, "order_wrong_customer")
    # signed for another customer, sent naming the right one: the signature does not cover it
    body = body_for(server, enrolled, signed_for={"customer_id": other})
    refused(server.post("/orders", enrolled.sdk.token, body), "order_signature_invalid")
    nothing_recorded(server, enrolled, "order_signature_invalid")


def test_an_order_for_another_deployment_is_refused(server: ServerHarness) -> None:
    enrolled = server.enroll()
    elsewhere = {"audience": "certsync:another-brokerage"}
    body = body_for(server, enrolled, signed_for=elsewhere, sent=elsewhere)
    refused(server.post("/orders", enrolled.sdk.token, body), "order_wrong_audience")
    nothing_recorded(server, enrolled, "order_wrong_audience")
    # a signature made for another deployment, replayed here under this one's name
    body = body_for(server, enrolled, signed_for=elsewhere)
    refused(server.post("/orders", enrolled.sdk.token, body), "order_signature_invalid")
    nothing_recorded(server, enrolled, "order_signature_invalid")


def test_an_order_for_another_serial_is_refused(server: ServerHarness) -> None:
    enrolled = server.enroll()
    other = {"serial": str(enrolled.serial + 1)}
    body = body_for(server, enrolled, signed_for=other, sent=other)
    refused(server.post("/orders", enrolled.sdk.token, body), "certificate_not_current")
    nothing_recorded(server, enrolled, "certificate_not_current")
    body = body_for(server, enrolled, signed_for=other)
    refused(server.post("/orders", enrolled.sdk.token, body), "order_signature_invalid")
    nothing_recorded(server, enrolled, "order_signature_invalid")


def test_an_order_without_the_v2_fields_is_a_bad_request(server: ServerHarness) -> None:
    enrolled = server.enroll()
    body = body_for(server, enrolled)
    for name in ("customer_id", "audience"):
        old_client = {key: value for key, value in body.items() if key != name}
        refused(server.post("/orders", enrolled.sdk.token, old_client), "bad_request")
    assert server.rows(Order) == []


def test_the_default_audience_is_the_cas_and_the_same_on_every_instance(
    server: ServerHarness,
) -> None:
    default = server.host.settings.replace(order_audience=None)
    host = dataclasses.replace(server.host, settings=default)
    assert host.order_audience == f"certsync:{server.host.ca.fingerprint_sha256}"


@pytest.mark.parametrize("bad", ["", " leading", "trailing ", "line\nbreak", "ünïcode", "x" * 201])
def test_a_malformed_audience_setting_is_one_config_error(bad: str) -> None:
    env = {"SYNC_ORDER_AUDIENCE": bad}
    if not bad.strip():
        assert Settings.from_env(env).order_audience is None  # empty: the default
        return
    with pytest.raises(ConfigError) as caught:
        Settings(order_audience=bad)
    assert "SYNC_ORDER_AUDIENCE" in caught.value.message
    assert Settings.from_env({"SYNC_ORDER_AUDIENCE": "certsync:a b"}).order_audience == (
        "certsync:a b"
    )


def test_a_key_that_is_not_the_certificates_cannot_sign_a_bound_order(
    server: ServerHarness,
) -> None:
    enrolled = server.enroll()
    stranger = Enrolled(
        enrolled.customer_id, enrolled.sdk, generate_private_key("ec"), enrolled.issued
    )
    body = body_for(server, stranger)
    refused(server.post("/orders", enrolled.sdk.token, body), "order_signature_invalid")
    nothing_recorded(server, enrolled, "order_signature_invalid")
