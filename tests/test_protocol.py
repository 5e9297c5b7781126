"""The protocol's pure vocabulary: serial display, times, and the exact bytes that get signed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sync_client.protocol import (
    StatusCode,
    canonical_json,
    format_serial,
    format_time,
    order_message,
    parse_time,
    relay_aad,
    renewal_message,
)


@pytest.mark.parametrize(
    ("serial", "display"),
    [
        (101919, "101919 (0x018E1F)"),
        (1, "1 (0x01)"),
        (255, "255 (0xFF)"),
        (256, "256 (0x0100)"),
        # The decimal serial of PROTOCOL.md's certificate example. Its hex there
        # (0x01A58CA9F0C6C3E1FF) does not match the decimal; this is the correct one.
        (30372452712939183359, "30372452712939183359 (0x01A580A0D28016DCFF)"),
    ],
)
def test_format_serial(serial: int, display: str) -> None:
    assert format_serial(serial) == display


def test_format_time_is_utc_seconds_with_z() -> None:
    taipei = timezone(timedelta(hours=8))
    moment = datetime(2026, 11, 25, 18, 0, 0, 999_999, tzinfo=taipei)
    assert format_time(moment) == "2026-11-25T10:00:00Z"


def test_format_time_treats_naive_as_utc() -> None:
    assert format_time(datetime(2026, 11, 25, 10, 0, 0)) == "2026-11-25T10:00:00Z"


def test_time_round_trip() -> None:
    moment = datetime(2027, 11, 25, 10, 0, 0, tzinfo=UTC)
    text = format_time(moment)
    assert text == "2027-11-25T10:00:00Z"
    assert parse_time(text) == moment
    assert format_time(parse_time(text)) == text


def test_parse_time_accepts_offsets_and_returns_utc() -> None:
    parsed = parse_time("2026-11-25T18:00:00+08:00")
    assert parsed == datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)


def test_parse_time_refuses_a_time_without_zone() -> None:
    with pytest.raises(ValueError):
        parse_time("2026-11-25T10:00:00")


def test_canonical_json_sorts_keys_and_has_no_whitespace() -> None:
    value = {
        "side": "buy",
        "quantity": 1000,
        "price": "612.50",
        "symbol": "2330",
        "nested": {"b": 1, "a": [1, 2]},
    }
    assert canonical_json(value) == (
        b'{"nested":{"a":[1,2],"b":1},"price":"612.50","quantity":1000,"side":"buy","symbol":"2330"}'
    )


def test_canonical_json_keeps_non_ascii_as_utf8() -> None:
    assert canonical_json({"name": "台積電"}) == '{"name":"台積電"}'.encode()


def test_order_message_binds_audience_customer_and_serial() -> None:
    message = order_message({"b": 1, "a": 2}, audience="aud", customer_id="A123456789", serial="7")
    assert message == b'certsync-order-v2\naud\nA123456789\n7\n{"a":2,"b":1}'


def test_renewal_message_has_no_trailing_newline() -> None:
    message = renewal_message("chal-1", "bm9uY2U=", "ab" * 32)
    assert message == b"certsync-renewal-v1\nchal-1\nbm9uY2U=\n" + b"ab" * 32


def test_relay_aad() -> None:
    aad = relay_aad(
        origin="https://broker.example",
        slot_id="AAAAAAAAAAAAAAAAAAAAAA",
        customer_id="A123456789",
        certificate_fingerprint="ab" * 32,
    )
    assert aad == (
        b"certsync-relay-v2\nhttps://broker.example\nAAAAAAAAAAAAAAAAAAAAAA\nA123456789\n"
        + b"ab" * 32
    )


def test_status_codes_and_labels() -> None:
    assert [(code.value, code.label) for code in StatusCode] == [
        (0, "valid"),
        (31, "expiring"),
        (40, "none"),
        (41, "expired"),
        (42, "revoked"),
    ]
