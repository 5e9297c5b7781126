"""Hostile JSON against the real app: whatever a caller sends, the answer is never a ``500``,
every refusal has the one error shape, and a refusal creates nothing.

The bodies are valid JSON the server must still refuse cleanly: arbitrary JSON values, and the
routes' own valid bodies with one field (or one field of the order) replaced by a nasty value
— lone surrogates written as JSON escapes (``"\\ud800"``), NUL, deep nesting, integers of
thousands of digits, floats and ``1e999`` where whole numbers belong, ``NaN``/``Infinity``
tokens, times at the edges of the calendar (``0001-01-01T00:00:00Z``, ``9999-12-31T23:59:59Z``).
Path parameters, the long-poll's query and the ``Authorization`` header get the same treatment.

A refusal at the edge (the body's parse: ``bad_request`` or the route's field code) leaves the
whole database as it was; any refusal leaves the things a success would make (sessions,
certificates, orders, slots, customers) uncounted. Budgets: ``tests/fuzz_budget.py``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fuzz_budget import SERVER
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError
from server.harness import PASSWORD, ServerHarness, assert_error_shape
from sqlmodel import SQLModel

from sync_client.codes import ErrorCode
from sync_client.keys import build_csr_pem, generate_private_key
from sync_client.orders import build_order
from sync_client.wire import routes
from sync_client.wire.relay import SlotEventsQuery
from sync_server.models import (
    AuditEvent,
    Certificate,
    Customer,
    EnrollmentCode,
    LoginSession,
    LoginThrottle,
    Order,
    RedownloadGrant,
    RelaySlot,
    RenewalChallenge,
)

ALL_TABLES: list[type[SQLModel]] = [
    AuditEvent, Certificate, Customer, EnrollmentCode, LoginSession, LoginThrottle, Order,
    RedownloadGrant, RelaySlot, RenewalChallenge,
]  # fmt: skip
# What a success makes; no refusal may add to them.
ANY_ROUTE = {ErrorCode.NOT_FOUND.value, ErrorCode.METHOD_NOT_ALLOWED.value}
MADE_BY_SUCCESS: list[type[SQLModel]] = [Certificate, Customer, LoginSession, Order, RelaySlot]

# Raw JSON text spliced in where a value goes: what ``json.dumps`` will not write.
RAW = {
    "@@deep@@": b"[" * 100_000 + b"]" * 100_000,
    "@@deep_objects@@": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "@@huge_int@@": b"9" * 5_000,  # over Python's 4,300-digit int() limit
    "@@huge_float@@": b"1e999",
    "@@nan@@": b"NaN",
    "@@infinity@@": b"-Infinity",
    "@@minus_zero@@": b"-0.0",
}
NASTY_STRINGS = [
    "\ud800", "\udfff", "a\udc00b", "\ud83d",  # lone surrogates, as \\u escapes on the wire
    "\x00", "A\x00", "é", "Ａ123456789", "٣", "A" * 5_000, "", " ", "\n",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z",
    "9999-12-31T23:59:60Z", "2026-02-29T00:00:00Z", "2026-11-25T10:00:00+08:00",
    "NaN", "Infinity", "1e999", "-1", "0", "00", "0x10",
]  # fmt: skip
nasty = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.sampled_from(sorted(RAW)),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


def encode(value: object) -> bytes:
    """JSON with ASCII escapes (so lone surrogates travel as ``\\ud800``), raw tokens spliced."""
    text = json.dumps(value, ensure_ascii=True).encode()
    for marker, raw in RAW.items():
        text = text.replace(json.dumps(marker).encode(), raw)
    return text


@dataclass
class Template:
    route: routes.Route
    token: str | None
    body: dict[str, Any]
    path: dict[str, str]


@dataclass
class World:
    server: ServerHarness
    templates: dict[str, Template]
    pc_token: str
    mobile_token: str
    slot_id: str

    def snapshot(self, tables: list[type[SQLModel]]) -> list[list[dict[str, Any]]]:
        return [[row.model_dump() for row in self.server.rows(table)] for table in tables]

    def counts(self) -> list[int]:
        return [len(self.server.rows(table)) for table in MADE_BY_SUCCESS]

    def send(self, template: Template, content: bytes) -> Any:
        headers = {"Content-Type": "application/json"}
        if template.token:
            headers["Authorization"] = f"Bearer {template.token}"
        url = template.route.url(**template.path)
        return self.server.client.request(
            template.route.method, url, content=content, headers=headers
        )


@pytest.fixture
def world(server: ServerHarness) -> World:
    """A customer with a certificate, both device sessions and an open slot; a second customer
    with a fresh slip; a valid body for every route that takes one."""
    fresh = server.add_customer()
    fresh_pc = server.login_token(fresh)
    code = server.enrollment_code(fresh)
    enrolled = server.enroll()
    pc = enrolled.sdk.token
    assert pc is not None
    mobile = server.login_token(enrolled.customer_id, kind="mobile")
    order = build_order(symbol="2330", side="buy", quantity=1, price="600", now=server.clock.now)
    # Only its form matters here: every body below is refused before (or at) the signature.
    signature = base64.b64encode(bytes(range(64))).decode()
    fingerprint = enrolled.issued.certificate.fingerprint_sha256
    slot = enrolled.sdk.open_slot(certificate_fingerprint=fingerprint)
    csr = build_csr_pem(generate_private_key("ec"), fresh)
    t = Template
    templates = {
        "login": t(routes.LOGIN, None,
                   {"customer_id": fresh, "password": PASSWORD, "device_kind": "pc"}, {}),
        "enrollment_check": t(routes.ENROLLMENT_CHECK, fresh_pc, {"enrollment_code": code}, {}),
        "apply": t(routes.APPLY, fresh_pc,
                   {"enrollment_code": code, "terms_accepted": True, "csr_pem": csr}, {}),
        "renew": t(routes.RENEW, pc,
                   {"challenge_id": "A" * 22, "csr_pem": csr, "signature": signature}, {}),
        "redownload": t(routes.REDOWNLOAD, pc, {}, {}),
        "place_order": t(routes.PLACE_ORDER, mobile,
                         {"order": order, "signature": signature,
                          "serial": str(enrolled.serial),
                          "customer_id": enrolled.customer_id,
                          "audience": server.host.order_audience}, {}),
        "open_slot": t(routes.OPEN_SLOT, pc, {"certificate_fingerprint": fingerprint}, {}),
        "upload_ciphertext": t(routes.UPLOAD_CIPHERTEXT, pc,
                               {"ciphertext": base64.b64encode(b"\x02" + bytes(40)).decode()},
                               {"slot_id": slot.slot_id}),
    }  # fmt: skip
    assert set(templates) == {r.name for r in routes.ROUTES if r.request is not None}
    for template in templates.values():  # the fuzzing starts from bodies the models accept
        assert template.route.request is not None
        template.route.request.model_validate_json(json.dumps(template.body))
    return World(server, templates, pc, mobile, slot.slot_id)


def edge_codes(route: routes.Route) -> set[str]:
    """The codes of a refusal at the edge: a body or query its model refused, a path
    parameter not in its form (``sync_server.bodies``)."""
    codes = {ErrorCode.BAD_REQUEST.value, ErrorCode.PAYLOAD_TOO_LARGE.value}
    if route.request is not None:
        codes |= {code.value for code in route.request.field_codes.values()}
    if "slot_id" in route.path_params:
        codes.add(ErrorCode.SLOT_NOT_FOUND.value)
    return codes


def check_refused(world: World, response: Any, route: routes.Route, before: Any) -> None:
    counts, everything = before
    assert response.status_code < 500, (route.name, response.status_code, response.text[:300])
    assert response.status_code >= 400, (route.name, response.text[:300])
    body = assert_error_shape(response)
    # Any route may also answer these two (docs/PROTOCOL.md, "Errors").
    assert body["error"] in {c.value for c in route.refusals} | ANY_ROUTE, body
    assert "Traceback" not in response.text
    assert world.counts() == counts, (route.name, body)
    if body["error"] in edge_codes(route):
        assert world.snapshot(ALL_TABLES) == everything, (route.name, body)


def before(world: World) -> tuple[list[int], list[list[dict[str, Any]]]]:
    return world.counts(), world.snapshot(ALL_TABLES)


route_names = st.sampled_from(sorted(r.name for r in routes.ROUTES if r.request is not None))


@SERVER
@given(name=route_names, value=json_values | nasty)
@example(name="login", value="@@deep@@")
@example(name="place_order", value="@@huge_int@@")
@example(name="redownload", value=[])
def test_any_json_body_is_refused_cleanly(world: World, name: str, value: object) -> None:
    template = world.templates[name]
    start = before(world)
    response = world.send(template, encode(value))
    if name == "redownload" and value == {}:  # the one valid body here: no grant is open
        assert response.json()["error"] == "redownload_not_open"
    check_refused(world, response, template.route, start)


@SERVER
@given(name=route_names, data=st.data())
def test_a_valid_body_with_one_nasty_field_is_refused_cleanly(
    world: World, name: str, data: st.DataObject
) -> None:
    # (Each field with each fixed nasty value, lone surrogates included: test_bad_bodies.py.)
    template = world.templates[name]
    field = data.draw(st.sampled_from([*template.body, "surplus"]), label="field")
    value = data.draw(nasty, label="value")
    body = {**template.body, field: value}
    start = before(world)
    check_refused(world, world.send(template, encode(body)), template.route, start)


@SERVER
@given(field=st.sampled_from(["symbol", "side", "quantity", "price", "client_order_id",
                              "signed_at", "surplus"]), value=nasty)  # fmt: skip
@example(field="signed_at", value="0001-01-01T00:00:00Z")
@example(field="signed_at", value="9999-12-31T23:59:59Z")
@example(field="quantity", value=1.0)
@example(field="quantity", value="@@huge_int@@")
@example(field="price", value="١٢")
def test_an_order_with_one_nasty_field_is_refused_cleanly(
    world: World, field: str, value: object
) -> None:
    template = world.templates["place_order"]
    body = {**template.body, "order": {**template.body["order"], field: value}}
    start = before(world)
    check_refused(world, world.send(template, encode(body)), template.route, start)


slot_routes = st.sampled_from([routes.UPLOAD_CIPHERTEXT, routes.SLOT_EVENTS, routes.CLAIM_SLOT,
                               routes.CANCEL_SLOT])  # fmt: skip


@SERVER
@given(
    route=slot_routes,
    raw=st.binary(min_size=1, max_size=40) | st.sampled_from([b"\x00", b"A" * 5000]),
)
@example(route=routes.CLAIM_SLOT, raw=b"\x00")
@example(route=routes.SLOT_EVENTS, raw="\ud800".encode("utf-8", "surrogatepass"))
def test_any_slot_id_in_the_path_is_refused_cleanly(
    world: World, route: routes.Route, raw: bytes
) -> None:
    token = world.mobile_token if route.session == "mobile" else world.pc_token
    path = route.path.replace("{slot_id}", quote(raw, safe=""))
    if route is routes.SLOT_EVENTS:
        path += "?wait=0"
    content = encode({"ciphertext": "AAAA"}) if route.request is not None else None
    start = before(world)
    response = world.server.client.request(
        route.method, path, content=content, headers={"Authorization": f"Bearer {token}"}
    )
    if response.status_code == 307:  # an empty segment: Starlette's slash redirect
        return
    if raw == world.slot_id.encode():
        return  # the real slot: not a refusal to check
    check_refused(world, response, route, start)
    assert response.json()["error"] in {"slot_not_found", "bad_request"} | ANY_ROUTE


@SERVER
@given(after=st.text(max_size=12), wait=st.text(max_size=12))
@example(after="", wait="٣")
@example(after="", wait="1e400")
@example(after="", wait="nan")
@example(after="open\x00", wait="-inf")
def test_any_long_poll_query_is_answered_or_refused_cleanly(
    world: World, after: str, wait: str
) -> None:
    query = "after=" + quote(after.encode("utf-8", "surrogatepass"), safe="")
    query += "&wait=" + quote(wait.encode("utf-8", "surrogatepass"), safe="")
    url = routes.SLOT_EVENTS.url(slot_id=world.slot_id) + "?" + query
    # A wait the model takes and that is over 0 would hold the example for real seconds.
    try:
        if SlotEventsQuery.model_validate({"after": after, "wait": wait}).wait > 0:
            return
    except ValidationError:
        pass
    start = before(world)
    response = world.server.client.get(url, headers={"Authorization": f"Bearer {world.pc_token}"})
    if response.status_code == 200:
        assert response.json()["slot_id"] == world.slot_id
        return
    check_refused(world, response, routes.SLOT_EVENTS, start)


@SERVER
@given(raw=st.binary(max_size=80))
@example(raw=b"Bearer \x00")
@example(raw=b"Bearer \xff\xfe")
@example(raw=b"Bearer " + b"A" * 5000)
@example(raw="Bearer é".encode())
def test_any_authorization_header_is_refused_cleanly(world: World, raw: bytes) -> None:
    raw = raw.replace(b"\r", b"").replace(b"\n", b"")
    start = before(world)
    response = world.server.client.get(routes.STATUS.path, headers=[(b"authorization", raw)])
    check_refused(world, response, routes.STATUS, start)
    assert response.json()["error"] == "unauthenticated"


@pytest.mark.parametrize("wait", ["٣", "３", "1_0", " 1", "nan", "inf", "1e400", "0x1"])
def test_a_wait_in_anything_but_ascii_digits_is_refused(world: World, wait: str) -> None:
    # Before: float() read "٣" (Arabic-Indic three) as 3 seconds, and "1_0" as 10.
    url = routes.SLOT_EVENTS.url(slot_id=world.slot_id)
    headers = {"Authorization": f"Bearer {world.pc_token}"}
    start = before(world)
    response = world.server.client.get(url, params={"wait": wait}, headers=headers)
    check_refused(world, response, routes.SLOT_EVENTS, start)
    assert response.json()["error"] == "bad_request" and "'wait'" in response.json()["message"]
    allowed = world.server.client.get(url, params={"wait": "0", "after": ""}, headers=headers)
    assert allowed.status_code == 200 and allowed.json()["state"] == "open"
