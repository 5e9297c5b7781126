"""The wire models on their own (no server): the one time form, base64, closed requests and open
responses, how a refusal is worded, the route table; and the SDK reading answers of the wrong
shape (a fake server at the HTTP edge, ``httpx2.MockTransport``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, get_args

import httpx2
import pytest
from pydantic import ValidationError

from sync_client.api import SyncClient
from sync_client.codes import ErrorCode
from sync_client.errors import ServerRefused
from sync_client.orders import SignedOrder
from sync_client.protocol import RelayState
from sync_client.wire import routes
from sync_client.wire.base import refusal
from sync_client.wire.certificates import CertificateObject
from sync_client.wire.enrollment import ApplyRequest
from sync_client.wire.errors import ErrorResponse
from sync_client.wire.info import PolicyResponse
from sync_client.wire.orders import Order, OrderRequest
from sync_client.wire.relay import SlotEventsQuery, SlotStateName, UploadRequest

ORDER = {
    "symbol": "2330",
    "side": "buy",
    "quantity": 1000,
    "price": "612.50",
    "client_order_id": "0" * 32,
    "signed_at": "2026-11-25T10:00:00Z",
}


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T10:00:00+00:00",
        "2026-11-25T18:00:00+08:00",
        "2026-11-25T10:00:00",
        "2026-11-25T10:00:00.5Z",
        "2026-11-25t10:00:00z",
        "2026-11-25 10:00:00Z",
        "2026-02-30T10:00:00Z",
        "20261125T100000Z",
    ],
)
def test_only_the_one_written_time_form_is_accepted(text: str) -> None:
    with pytest.raises(ValidationError):
        Order.model_validate({**ORDER, "signed_at": text})


def test_a_time_reads_as_utc_and_writes_back_as_it_came() -> None:
    order = Order.model_validate(ORDER)
    assert order.signed_at == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert order.to_wire() == ORDER


@pytest.mark.parametrize("text", ["AAA", "AA==A", "A A=", "-_-_", "AAAA\n", "ＡＡＡＡ"])
def test_base64_is_standard_and_padded(text: str) -> None:
    with pytest.raises(ValidationError):
        UploadRequest.model_validate({"ciphertext": text})
    assert UploadRequest.model_validate({"ciphertext": "AAE="}).ciphertext == b"\x00\x01"


def test_requests_are_strict_and_closed() -> None:
    good = {
        "order": ORDER,
        "signature": "AAAA",
        "serial": "12",
        "customer_id": "A123456789",
        "audience": "certsync:test",
    }
    OrderRequest.model_validate_json(json.dumps(good))
    for bad in (
        {**good, "extra": 1},
        {**good, "serial": 12},
        {key: value for key, value in good.items() if key != "audience"},
        {**good, "customer_id": "a123456789"},
        {**good, "audience": "line\nbreak"},
        {**good, "order": {**ORDER, "quantity": "1000"}},
        {**good, "order": {**ORDER, "quantity": 1000.0}},
        {**good, "order": {**ORDER, "surplus": "x"}},
    ):
        with pytest.raises(ValidationError):
            OrderRequest.model_validate_json(json.dumps(bad))


def test_responses_take_what_they_know_and_ignore_the_rest() -> None:
    data = {
        "pfx_password_min_length": 4,
        "renewal_window_days": 30,
        "certificate_validity_days": 365,
        "relay_slot_lifetime_seconds": 120,
        "server_time": "2026-11-25T10:00:00Z",
        "order_audience": "certsync:test",
        "a_field_from_a_newer_server": {"x": 1},
    }
    policy = PolicyResponse.model_validate_json(json.dumps(data))
    assert policy.pfx_password_min_length == 4
    with pytest.raises(ValidationError):  # but the types are exact
        PolicyResponse.model_validate_json(json.dumps({**data, "renewal_window_days": "30"}))


def test_a_refusal_names_the_first_field_in_the_models_order_with_its_code() -> None:
    # terms_accepted is checked before the CSR, as the server always did.
    with pytest.raises(ValidationError) as caught:
        ApplyRequest.model_validate({"terms_accepted": "yes", "csr_pem": 5, "enrollment_code": 1})
    code, message = refusal(ApplyRequest, caught.value)
    assert code is ErrorCode.TERMS_NOT_ACCEPTED and "'terms_accepted'" in message
    with pytest.raises(ValidationError) as caught:
        ApplyRequest.model_validate(
            {"terms_accepted": True, "enrollment_code": "ACDE", "csr_pem": "x" * 20000}
        )
    code, message = refusal(ApplyRequest, caught.value)
    assert code is ErrorCode.CSR_INVALID and "16384" in message and "xxx" not in message


def test_a_body_that_is_not_an_object_or_not_json_is_a_bad_request() -> None:
    for raw in (b"[]", b"3", b"{", b'{"csr_pem": "\\ud800"}'):
        with pytest.raises(ValidationError) as caught:
            ApplyRequest.model_validate_json(raw)
        assert refusal(ApplyRequest, caught.value)[0] is ErrorCode.BAD_REQUEST


def test_the_events_wait_is_clamped_and_must_be_a_number() -> None:
    assert SlotEventsQuery.model_validate({"wait": "99"}).wait == 30.0
    assert SlotEventsQuery.model_validate({"wait": "-1"}).wait == 0.0
    assert SlotEventsQuery.model_validate({}).wait == 25.0
    for wait in ("nan", "inf", "", "soon"):
        with pytest.raises(ValidationError):
            SlotEventsQuery.model_validate({"wait": wait})


def test_an_error_without_details_leaves_the_field_out() -> None:
    assert json.loads(ErrorResponse(error="x", message="y.").to_json_bytes()) == {
        "error": "x",
        "message": "y.",
    }


def test_the_route_table_names_each_route_once() -> None:
    names = [route.name for route in routes.ROUTES]
    pairs = [(route.method, route.path) for route in routes.ROUTES]
    assert len(set(names)) == len(names) and len(set(pairs)) == len(pairs)
    assert routes.CLAIM_SLOT.url(slot_id="a/b?c") == "/api/v1/relay/slots/a%2Fb%3Fc/claim"
    assert routes.CLAIM_SLOT.path_params == ("slot_id",)
    for route in routes.ROUTES:
        assert all(200 <= status < 300 for status in route.answers), route.name


# -- the SDK against answers of the wrong shape ----------------------------------------------


def sdk_answering(handler: Callable[[httpx2.Request], httpx2.Response]) -> SyncClient:
    client = httpx2.Client(transport=httpx2.MockTransport(handler), base_url="http://127.0.0.1:9")
    return SyncClient(client, token="t")


def answer(body: Any, status: int = 200) -> Callable[[httpx2.Request], httpx2.Response]:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda request: httpx2.Response(status, content=content)


@pytest.mark.parametrize(
    "body",
    [
        {"pfx_password_min_length": "4"},
        {"server_time": "yesterday"},
        [],
        b"<html>",
    ],
)
def test_an_answer_of_another_shape_is_bad_response(body: Any) -> None:
    with pytest.raises(ServerRefused) as caught:
        sdk_answering(answer(body)).policy()
    assert caught.value.code == "bad_response"


def test_a_refusal_is_read_with_its_code_and_details() -> None:
    refusal_body = {"error": "slot_expired", "message": "Gone.", "details": {"n": 1}}
    with pytest.raises(ServerRefused) as caught:
        sdk_answering(answer(refusal_body, 410)).claim_slot("A" * 22)
    assert caught.value.code == ErrorCode.SLOT_EXPIRED and caught.value.details == {"n": 1}
    with pytest.raises(ServerRefused) as caught:
        sdk_answering(answer({"oops": 1}, 500)).claim_slot("A" * 22)
    assert caught.value.code == "bad_response" and caught.value.status == 500


def test_the_sdk_sends_what_the_models_say() -> None:
    sent: list[httpx2.Request] = []

    def record(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(
            201,
            json={"order_id": "1", "accepted_at": "2026-11-25T10:00:00Z", "serial": "12"},
        )

    signed = SignedOrder(ORDER, b"\x01\x02", "certsync:test", "A123456789", 12)
    accepted = sdk_answering(record).place_order(signed)
    assert accepted.serial == "12" and accepted.accepted_at == datetime(
        2026, 11, 25, 10, tzinfo=UTC
    )
    (request,) = sent
    assert (request.method, request.url.path) == ("POST", "/api/v1/orders")
    assert json.loads(request.content) == {
        "order": ORDER,
        "signature": "AQI=",
        "serial": "12",
        "customer_id": "A123456789",
        "audience": "certsync:test",
    }
    assert request.headers["authorization"] == "Bearer t"


def test_the_certificate_object_keeps_its_states() -> None:
    data = {
        "customer_id": "A123456789",
        "serial": "1",
        "serial_display": "1 (0x01)",
        "subject_cn": "A123456789",
        "not_before": "2026-11-25T10:00:00Z",
        "not_after": "2027-11-25T10:00:00Z",
        "fingerprint_sha256": "00" * 32,
        "status": "superseded",
        "cert_pem": "-----BEGIN CERTIFICATE-----",
    }
    assert CertificateObject.model_validate(data).status == "superseded"
    with pytest.raises(ValidationError):
        CertificateObject.model_validate({**data, "status": "lost"})


def test_the_wire_names_exactly_the_protocols_slot_states() -> None:
    assert set(get_args(SlotStateName)) == {state.value for state in RelayState}
