"""Bad bodies on every route that takes one: wrong types, unknown fields, over-long strings,
non-ASCII where the protocol says ASCII, lone surrogates, deep nesting. Each is one ``400``
with the code the route documents for that field, a message naming the field and not its
value, and nothing changed: the service function is never reached (no audit row, no counted
try, no slot, no order)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import SQLModel

from sync_client.codes import ErrorCode
from sync_client.keys import build_csr_pem, generate_private_key
from sync_client.orders import build_order
from sync_client.wire import routes
from sync_client.wire.base import WireRequest
from sync_client.wire.orders import Order as WireOrder
from sync_server.models import (
    AuditEvent,
    Certificate,
    Customer,
    EnrollmentCode,
    LoginSession,
    Order,
    RedownloadGrant,
    RelaySlot,
    RenewalChallenge,
)

from .harness import PASSWORD, ServerHarness, refused

TABLES: list[type[SQLModel]] = [
    AuditEvent, Certificate, Customer, EnrollmentCode, LoginSession, Order, RedownloadGrant,
    RelaySlot, RenewalChallenge,
]  # fmt: skip
# Fields the protocol writes as ASCII (printable, or PEM's lines, or a narrower alphabet).
ASCII_FIELDS = {
    "enrollment_code", "csr_pem", "challenge_id", "signature", "serial", "certificate_fingerprint",
    "ciphertext", "terms_version", "symbol", "price", "client_order_id", "signed_at",
}  # fmt: skip
LONG = "A" * 20_000  # over every bound, under the body's 128 KiB


@dataclass
class Case:
    route: routes.Route
    token: str | None
    body: dict[str, Any]
    path: dict[str, str]

    @property
    def model(self) -> type[WireRequest]:
        assert self.route.request is not None
        return self.route.request

    def send(self, server: ServerHarness, content: bytes) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return server.client.request(
            self.route.method, self.route.url(**self.path), content=content, headers=headers
        )


def snapshot(server: ServerHarness) -> list[list[dict[str, Any]]]:
    return [[row.model_dump() for row in server.rows(table)] for table in TABLES]


@pytest.fixture
def cases(server: ServerHarness) -> dict[str, Case]:
    """A body each route's model accepts, with the session it needs."""
    fresh = server.add_customer()
    fresh_pc = server.login(fresh)
    code = server.enrollment_code(fresh)
    csr = build_csr_pem(generate_private_key("ec"), fresh)
    enrolled = server.enroll()
    order_body = server.order_body(enrolled)
    fingerprint = enrolled.issued.certificate.fingerprint_sha256
    slot = enrolled.sdk.open_slot(certificate_fingerprint=fingerprint)
    token = enrolled.sdk.token
    b64 = order_body["signature"]
    found = {
        "login": Case(routes.LOGIN, None,
                      {"customer_id": fresh, "password": PASSWORD, "device_kind": "pc"}, {}),
        "enrollment_check": Case(routes.ENROLLMENT_CHECK, fresh_pc.token,
                                 {"enrollment_code": code}, {}),
        "apply": Case(routes.APPLY, fresh_pc.token,
                      {"enrollment_code": code, "terms_accepted": True, "csr_pem": csr}, {}),
        "renew": Case(routes.RENEW, token,
                      {"challenge_id": "A" * 22, "csr_pem": csr, "signature": b64}, {}),
        "redownload": Case(routes.REDOWNLOAD, token, {}, {}),
        "place_order": Case(routes.PLACE_ORDER, token, order_body, {}),
        "open_slot": Case(routes.OPEN_SLOT, token, {"certificate_fingerprint": fingerprint}, {}),
        "upload_ciphertext": Case(routes.UPLOAD_CIPHERTEXT, token,
                                  {"ciphertext": base64.b64encode(b"sealed").decode()},
                                  {"slot_id": slot.slot_id}),
    }  # fmt: skip
    assert set(found) == {r.name for r in routes.ROUTES if r.request is not None}
    for case in found.values():  # each base body is one the model accepts
        case.model.model_validate_json(json.dumps(case.body))
    return found


def code_for(case: Case, field: str) -> ErrorCode:
    return case.model.field_codes.get(field, ErrorCode.BAD_REQUEST)


def wrong_type(value: object) -> object:
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return 12345
    return "an object"


def mutations(case: Case) -> Iterator[tuple[str, str, bytes, ErrorCode]]:
    """(what, field, raw body, expected code) for every bad variant of the case's body."""
    body = case.body

    def dumped(value: object) -> bytes:
        return json.dumps(value).encode()

    yield "unknown field", "surplus", dumped({**body, "surplus": 1}), ErrorCode.BAD_REQUEST
    for field, value in body.items():
        code = code_for(case, field)
        yield "wrong type", field, dumped({**body, field: wrong_type(value)}), code
        yield "null", field, dumped({**body, field: None}), code
        rest = {k: v for k, v in body.items() if k != field}
        if field in case.model.model_fields and case.model.model_fields[field].is_required():
            yield "missing", field, dumped(rest), code
        nested: object = []
        for _ in range(50):
            nested = [nested]
        yield "nested list", field, dumped({**body, field: nested}), code
        deep = b"[" * 20_000 + b"]" * 20_000
        raw = dumped({**body, field: "@@"}).replace(b'"@@"', deep)
        yield "deep nesting", field, raw, ErrorCode.BAD_REQUEST
        if isinstance(value, str):
            raw = dumped({**body, field: "@@"}).replace(b"@@", b"\\ud800")
            yield "lone surrogate", field, raw, ErrorCode.BAD_REQUEST
            if field != "ciphertext":  # bounded by slot_too_large, tested with the relay
                yield "over-long", field, dumped({**body, field: LONG}), code
            if field in ASCII_FIELDS:
                yield "non-ASCII", field, dumped({**body, field: value[:-1] + "é"}), code
    if "order" in body:
        order = body["order"]
        for field, value in order.items():
            bad = {**order, field: wrong_type(value)}
            yield (
                "wrong type",
                f"order.{field}",
                dumped({**body, "order": bad}),
                code_for(case, "order"),
            )
            if isinstance(value, str):
                for what, text in (("over-long", LONG), ("non-ASCII", value[:-1] + "é")):
                    bad = {**order, field: text}
                    yield (
                        what,
                        f"order.{field}",
                        dumped({**body, "order": bad}),
                        code_for(case, "order"),
                    )


ROUTE_NAMES = [r.name for r in routes.ROUTES if r.request is not None]


@pytest.mark.parametrize("name", ROUTE_NAMES)
def test_bad_bodies_are_refused_and_change_nothing(
    server: ServerHarness, cases: dict[str, Case], name: str
) -> None:
    case = cases[name]
    before = snapshot(server)
    tried = 0
    for what, field, raw, code in mutations(case):
        response = case.send(server, raw)
        body = refused(response, code.value)
        assert response.status_code == 400, (what, field)
        if what != "deep nesting" and what != "lone surrogate":
            assert repr(field) in body["message"], (what, field, body)
        assert "@@" not in body["message"] and LONG[:100] not in body["message"]
        tried += 1
    assert tried >= (8 if case.body else 1)  # re-download's body is {}
    assert snapshot(server) == before


def test_the_right_body_still_goes_through(server: ServerHarness, cases: dict[str, Case]) -> None:
    case = cases["open_slot"]
    response = case.send(server, json.dumps(case.body).encode())
    assert response.status_code == 201


def test_a_refusal_does_not_echo_the_value(server: ServerHarness, cases: dict[str, Case]) -> None:
    case = cases["login"]
    secret = "my-secret-password-" + "é" * 300  # over the 256 characters a password may have
    response = case.send(server, json.dumps({**case.body, "password": secret}).encode())
    body = refused(response, "bad_request")
    assert "'password'" in body["message"] and "my-secret" not in response.text


@pytest.mark.parametrize("after", ["spent", "OPEN", "x" * 100])
def test_the_events_query_is_checked(server: ServerHarness, after: str) -> None:
    enrolled = server.enroll()
    fingerprint = enrolled.issued.certificate.fingerprint_sha256
    slot = enrolled.sdk.open_slot(certificate_fingerprint=fingerprint)
    path = routes.SLOT_EVENTS.url(slot_id=slot.slot_id)
    headers = {"Authorization": f"Bearer {enrolled.sdk.token}"}
    response = server.client.get(path, params={"after": after, "wait": "0"}, headers=headers)
    refused(response, "bad_request")
    response = server.client.get(path, params={"wait": "0", "extra": "1"}, headers=headers)
    refused(response, "bad_request")


# -- the order's serial ----------------------------------------------------------------------


def test_an_order_naming_another_certificate_is_not_current(server: ServerHarness) -> None:
    enrolled = server.enroll()
    body = server.order_body(enrolled)
    body["serial"] = str(enrolled.serial + 1)
    refused(server.post("/orders", enrolled.sdk.token, body), "certificate_not_current")
    assert server.rows(Order) == []
    assert server.audit(action="order")[-1].outcome == "certificate_not_current"
    body["serial"] = str(enrolled.serial)
    assert server.post("/orders", enrolled.sdk.token, body).status_code == 201


@pytest.mark.parametrize("serial", [12, "", "0x1F", "-1", "01", "1.5", "١٢"])
def test_an_order_serial_is_a_decimal_string(server: ServerHarness, serial: object) -> None:
    enrolled = server.enroll()
    body = server.order_body(enrolled)
    body["serial"] = serial
    refused(server.post("/orders", enrolled.sdk.token, body), "bad_request")
    assert server.audit(action="order") == []


def test_the_order_signed_is_the_order_sent(server: ServerHarness) -> None:
    # The server checks the signature over the model's form of the order; the one written
    # time form makes that form the bytes the client signed.
    order = build_order(symbol="2330", side="buy", quantity=1, price="612.50", now=server.clock.now)
    assert WireOrder.model_validate(order).to_wire() == order
