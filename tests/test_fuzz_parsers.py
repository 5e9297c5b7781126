"""Properties of the parsers that stand at an edge: each takes any text (or bytes) and either
returns a value in the protocol's one form or raises its one known error — never another
exception, never a look-alike accepted. Budgets: ``tests/fuzz_budget.py``.

The regressions these found are pinned as plain tests at the end of each section, so they stay
proven whatever examples a run draws.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from fuzz_budget import FAST
from hypothesis import assume, example, given
from hypothesis import strategies as st
from pydantic import ValidationError
from server.harness import national_id

from sync_client import envelope
from sync_client.errors import EnvelopeError, InvalidInput, InvalidNationalId
from sync_client.national_id import LETTER_CODES, is_valid_national_id, normalize_national_id
from sync_client.orders import build_order
from sync_client.protocol import format_serial, format_time, parse_time
from sync_client.wire.orders import Order
from sync_server.errors import ConfigError, ServiceError
from sync_server.revocation import parse_serial
from sync_server.settings import MAX_DURATION, parse_duration

# Digits that are not ASCII but that int(), Decimal() and ``\d`` read as digits.
FOREIGN_DIGITS = "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९０１２３４５６７８９𝟎𝟏𝟐"
# Letters that Unicode case rules fold onto ASCII ones (ſ → S, ı → I, the Kelvin sign → k,
# the Ångström sign → å), and ligatures that case-fold to ASCII pairs. Written as escapes: the
# Kelvin sign, typed, was once saved as a plain ASCII "K", which made a valid ID now and then.
FOLDING = "\u017f\u0131\u212a\u212b\u00c5\ufb00\ufb01"
noisy_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(string.ascii_letters + string.digits + " \t\n.-+_x()"),
        st.sampled_from(FOREIGN_DIGITS + FOLDING),
        st.characters(),  # anything, lone surrogates included
    ),
    max_size=30,
)


# -- national ID ------------------------------------------------------------------------------


def _check_digit(body: str) -> str:
    """The check digit that completes a letter and 8 digits (the second a digit)."""
    code = LETTER_CODES[body[0]]
    total = code // 10 + (code % 10) * 9
    total += sum(w * int(d) for w, d in zip((8, 7, 6, 5, 4, 3, 2, 1), body[1:], strict=True))
    return str((-total) % 10)


valid_ids = st.builds(
    lambda letter, second, rest: (lambda b: b + _check_digit(b))(letter + second + rest),
    st.sampled_from(sorted(LETTER_CODES)),
    st.sampled_from("1289"),
    st.text(alphabet=string.digits, min_size=7, max_size=7),
)


@FAST
@given(valid_ids, st.sampled_from(["", " ", "\t", "  \n"]), st.booleans())
def test_a_valid_id_round_trips_through_blanks_and_case(value: str, pad: str, lower: bool) -> None:
    assert is_valid_national_id(value)
    typed = pad + (value.lower() if lower else value) + pad
    assert normalize_national_id(typed) == value
    assert normalize_national_id(normalize_national_id(typed)) == value  # idempotent


@FAST
@given(noisy_text)
@example("ſ123456789")  # folds onto S123456789 by Unicode upper-casing
@example("A１23456789")
@example("A12345678٩")
def test_any_text_is_an_id_or_the_one_refusal(text: str) -> None:
    try:
        value = normalize_national_id(text)
    except InvalidNationalId:
        return
    assert value.isascii() and is_valid_national_id(value)
    assert text.strip(" \t\r\n").upper() == value


@FAST
@given(valid_ids, st.integers(min_value=0, max_value=9), st.sampled_from(FOREIGN_DIGITS + FOLDING))
def test_one_non_ascii_character_anywhere_is_refused(value: str, where: int, char: str) -> None:
    assert not char.isascii()
    spoofed = value[:where] + char + value[where + 1 :]
    with pytest.raises(InvalidNationalId):
        normalize_national_id(spoofed)


def test_the_harness_ids_are_valid() -> None:
    assert all(is_valid_national_id(national_id(n)) for n in (1, 2, 9_999_999))


# -- serials ----------------------------------------------------------------------------------


serials = st.integers(min_value=1, max_value=2**159 - 1)  # RFC 5280: positive, at most 20 bytes


@FAST
@given(serials)
def test_every_written_form_of_a_serial_parses_to_its_decimal(serial: int) -> None:
    for typed in (str(serial), hex(serial), hex(serial).upper().replace("0X", "0x"),
                  format_serial(serial), f"  {serial}\t"):  # fmt: skip
        assert parse_serial(typed) == str(serial)


@FAST
@given(noisy_text)
@example("١٢٣")
@example("1_000")
@example("-5")
@example("+5")
@example("0")
@example("9" * 5000)  # int() refuses over 4300 digits with its own ValueError
def test_any_text_is_a_serial_or_bad_request(text: str) -> None:
    try:
        value = parse_serial(text)
    except ServiceError as refusal:
        assert refusal.code.value == "bad_request"
        return
    assert value.isascii() and value.isdigit() and int(value) > 0


@pytest.mark.parametrize("text", ["١٢٣", "１２３", "1_000", "-5", "+5", "0", "0x", "0x-1"])
def test_serials_that_int_would_take_are_refused(text: str) -> None:
    with pytest.raises(ServiceError):
        parse_serial(text)


# -- durations --------------------------------------------------------------------------------


units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@FAST
@given(st.lists(st.tuples(st.integers(0, 500), st.sampled_from(sorted(units))), min_size=1))
def test_a_sum_of_units_parses_to_its_length(parts: list[tuple[int, str]]) -> None:
    total = sum(n * units[u] for n, u in parts)
    assume(0 < total <= MAX_DURATION.total_seconds())
    assert parse_duration(" ".join(f"{n}{u}" for n, u in parts)) == timedelta(seconds=total)


@FAST
@given(noisy_text)
@example("٣d")
@example("1" * 5000 + "s")
@example("99999999999999999w")
@example("0s")
def test_any_text_is_a_duration_or_the_one_config_error(text: str) -> None:
    try:
        value = parse_duration(text)
    except ConfigError:
        return
    assert timedelta(0) < value <= MAX_DURATION


@pytest.mark.parametrize("text", ["٣d", "３d", "1" * 5000 + "s", "99999999999999999w", "3661d"])
def test_durations_past_the_form_or_the_maximum_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text)
    assert parse_duration("3660d") == MAX_DURATION


# -- times ------------------------------------------------------------------------------------


utc_times = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(lambda moment: moment.replace(microsecond=0, tzinfo=UTC))
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@FAST
@given(utc_times)
@example(datetime(1, 1, 1, tzinfo=UTC))
@example(datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC))
@example(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
def test_every_time_round_trips_in_the_one_written_form(moment: datetime) -> None:
    text = format_time(moment)
    assert len(text) == 20 and text.endswith("Z") and text[4] == "-"  # year padded to 4 digits
    assert parse_time(text) == moment
    assert format_time(parse_time(text)) == text


@FAST
@given(utc_times, offsets)
def test_any_offset_reads_as_the_same_moment_or_a_clean_error(
    moment: datetime, zone: timezone
) -> None:
    try:
        local = moment.astimezone(zone)
    except OverflowError:  # no such local time (before year 1 or after 9999)
        return
    text = local.isoformat()
    assert parse_time(text) == moment


@FAST
@given(noisy_text)
@example("9999-12-31T23:59:59-01:00")  # past year 9999 in UTC
@example("0001-01-01T00:00:00+01:00")  # before year 1 in UTC
@example("2026-02-30T00:00:00Z")
@example("20261125T100000Z")  # ISO 8601 basic form: fromisoformat takes it, RFC 3339 does not
@example("٢٠٢٦-11-25T10:00:00Z")
@example("2026-11-25T10:00:00")
def test_any_text_is_a_time_or_a_value_error(text: str) -> None:
    try:
        value = parse_time(text)
    except ValueError:
        return
    assert value.tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z"),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "9999-12-31T23:59:59Z"),
    ],
)
def test_years_before_1000_are_padded_and_9999_is_kept(moment: datetime, text: str) -> None:
    assert format_time(moment) == text
    assert parse_time(text) == moment.replace(microsecond=0)


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+00:01"])
def test_a_time_outside_the_calendar_in_utc_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)
    with pytest.raises(ValueError):
        format_time(datetime.fromisoformat(text))


# -- orders -----------------------------------------------------------------------------------


prices = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999.99"), places=2).map(str),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e3", "1_0", "١٢", "１２", "0", "-1"]),
    noisy_text,
)


@FAST
@given(prices, st.integers(min_value=-5, max_value=2 * 10**9))
@example("1.5", 10**9 + 1)
def test_an_order_is_built_in_the_wire_form_or_refused(price: str, quantity: int) -> None:
    try:
        order = build_order(symbol="2330", side="buy", quantity=quantity, price=price)
    except InvalidInput:
        return
    # What the client builds, the server's model takes: no order the server must refuse.
    Order.model_validate(order)
    assert order["price"] == price and price.isascii()


def test_a_price_over_12_digits_is_refused_by_the_client_as_by_the_server() -> None:
    with pytest.raises(ValidationError):
        Order.model_validate({**build_order(symbol="2330", side="buy", quantity=1, price="1"),
                              "price": "1234567890123"})  # fmt: skip
    with pytest.raises(InvalidInput):
        build_order(symbol="2330", side="buy", quantity=1, price="1234567890123")


@pytest.mark.parametrize("price", ["NaN", "Infinity", "sNaN", "1e2", "١٢", "１２.5", "12.345"])
def test_prices_decimal_would_take_are_refused(price: str) -> None:
    with pytest.raises(InvalidInput):
        build_order(symbol="2330", side="buy", quantity=1, price=price)


@FAST
@given(st.sampled_from(["price", "quantity", "symbol"]), noisy_text)
def test_the_servers_order_model_takes_only_ascii_forms(field: str, text: str) -> None:
    order = build_order(symbol="2330", side="buy", quantity=1000, price="612.50")
    try:  # (a string where quantity's int belongs: the strict model refuses it)
        parsed = Order.model_validate({**order, field: text})
    except ValidationError:
        return
    assert str(getattr(parsed, field)).isascii()


# -- the relay envelope -----------------------------------------------------------------------

# The binding an envelope is sealed for (helper "relay" is moving it to v2: origin and
# certificate fingerprint besides slot and customer).
BINDING = {
    "origin": "https://broker.example",
    "slot_id": "AAAAAAAAAAAAAAAAAAAAAA",
    "customer_id": "A123456789",
    "certificate_fingerprint": "ab" * 32,
}
OTHER = {
    "origin": "https://other.example",
    "slot_id": "BAAAAAAAAAAAAAAAAAAAAA",
    "customer_id": "A123456780",
    "certificate_fingerprint": "ab" * 31 + "ac",
}
KEY = bytes(range(32))


def _seal(plaintext: bytes, binding: dict[str, str] = BINDING) -> bytes:
    return envelope.seal(
        key=KEY,
        plaintext=plaintext,
        origin=binding["origin"],
        slot_id=binding["slot_id"],
        customer_id=binding["customer_id"],
        certificate_fingerprint=binding["certificate_fingerprint"],
    )


def _open(blob: bytes, binding: dict[str, str] = BINDING) -> bytes:
    return envelope.open_envelope(
        key=KEY,
        envelope=blob,
        origin=binding["origin"],
        slot_id=binding["slot_id"],
        customer_id=binding["customer_id"],
        certificate_fingerprint=binding["certificate_fingerprint"],
    )


@FAST
@given(st.binary(max_size=200))
@example(b"")
@example(b"\x01" + bytes(28))
@example(b"\x02" + bytes(28))
def test_opening_any_bytes_raises_only_the_envelope_error(blob: bytes) -> None:
    with pytest.raises(EnvelopeError):
        _open(blob)


@FAST
@given(st.binary(max_size=2000), st.sampled_from(sorted(BINDING)))
def test_seal_then_open_round_trips_and_any_other_binding_fails(
    plaintext: bytes, changed: str
) -> None:
    sealed = _seal(plaintext)
    assert _open(sealed) == plaintext
    other = {**BINDING, changed: OTHER[changed]}
    with pytest.raises(EnvelopeError):
        _open(sealed, other)


@FAST
@given(st.binary(min_size=1, max_size=300), st.integers(min_value=0))
def test_any_changed_byte_fails_to_open(plaintext: bytes, where: int) -> None:
    sealed = bytearray(_seal(plaintext))
    sealed[where % len(sealed)] ^= 0x01
    with pytest.raises(EnvelopeError):
        _open(bytes(sealed))
