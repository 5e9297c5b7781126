"""Times at the edges of the calendar, at the server's edge: a well-formed time in year 1 or
9999 is a time like any other (it reaches the rule, which finds it stale), an impossible one is
refused by the model, a time always leaves in the one form (four-digit year, ``Z``), and a
duration setting long enough to push an expiry past year 9999 is refused when the server
starts, not met as a ``500`` at the first login.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from sync_client.orders import build_order
from sync_client.wire.base import TIME_PATTERN
from sync_client.wire.orders import Order as WireOrder
from sync_client.wire.sessions import LoginResponse
from sync_server.errors import ConfigError
from sync_server.models import Order
from sync_server.settings import MAX_DURATION, Settings

from .harness import PASSWORD, ServerHarness, refused

EDGES = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]
IMPOSSIBLE = ["0000-01-01T00:00:00Z", "9999-12-31T23:59:60Z", "2026-02-29T00:00:00Z",
              "2026-13-01T00:00:00Z", "2026-11-25T24:00:00Z"]  # fmt: skip


def _signed_body(server: ServerHarness, signed_at: str) -> tuple[str, dict[str, object]]:
    enrolled = server.enroll()
    token = server.login_token(enrolled.customer_id, kind="mobile")
    return token, server.order_body(enrolled, signed_at=signed_at)


@pytest.mark.parametrize("signed_at", EDGES)
def test_an_order_signed_at_the_calendar_edge_is_stale_not_a_crash(
    server: ServerHarness, signed_at: str
) -> None:
    token, body = _signed_body(server, signed_at)
    refused(server.post("/orders", token, body), "order_stale")
    assert server.rows(Order) == []


@pytest.mark.parametrize("signed_at", IMPOSSIBLE)
def test_an_impossible_time_is_refused_by_the_model(server: ServerHarness, signed_at: str) -> None:
    token, body = _signed_body(server, signed_at)
    before = server.audit()
    answer = refused(server.post("/orders", token, body), "order_invalid")
    assert "order.signed_at" in answer["message"]
    assert server.rows(Order) == [] and server.audit() == before  # refused at the edge


def test_an_order_signed_now_is_accepted(server: ServerHarness) -> None:
    # The allowed path beside the edges above.
    enrolled = server.enroll()
    phone = server.login(enrolled.customer_id, kind="mobile")
    placed = phone.place_order(server.signed_order(enrolled))
    assert placed.serial == str(enrolled.serial)
    assert len(server.rows(Order)) == 1


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC), "0999-12-31T23:59:59Z"),
        (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "9999-12-31T23:59:59Z"),
    ],
)
def test_a_time_leaves_in_the_one_form_at_any_year(moment: datetime, text: str) -> None:
    # Before: strftime("%Y") wrote "1-01-01T00:00:00Z", which the protocol's own pattern refuses.
    order = WireOrder.model_validate(
        {**build_order(symbol="2330", side="buy", quantity=1, price="1"), "signed_at": text}
    )
    assert order.signed_at == moment
    wire = json.loads(order.model_dump_json())["signed_at"]
    assert wire == text
    assert re.fullmatch(TIME_PATTERN, wire)


@pytest.mark.parametrize("name", ["SYNC_SESSION_LIFETIME", "SYNC_CERT_VALIDITY"])
@pytest.mark.parametrize("value", ["99999999d", "9" * 5000 + "s", "3661d"])
def test_a_duration_past_the_calendar_is_refused_at_start(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as refusal:
        Settings.from_env({name: value})
    assert "9" * 100 not in str(refusal.value)  # the message quotes at most the start


@pytest.mark.parametrize("settings_overrides", [{"session_lifetime": MAX_DURATION}])
def test_the_longest_duration_allowed_still_works(server: ServerHarness) -> None:
    assert Settings.from_env({"SYNC_SESSION_LIFETIME": "3660d"}).session_lifetime == MAX_DURATION
    customer_id = server.add_customer()
    body = {"customer_id": customer_id, "password": PASSWORD, "device_kind": "pc"}
    answer = LoginResponse.model_validate_json(server.post("/sessions", None, body).content)
    assert answer.expires_at - server.clock.now == MAX_DURATION
    assert answer.expires_at < datetime(9999, 1, 1, tzinfo=UTC) - timedelta(days=1)
