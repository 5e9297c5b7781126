"""The relay envelope (version 2): the PROTOCOL.md test vector, cross-checked, and tampering
that must fail — another byte, server, slot, customer, certificate or key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_client.envelope import (
    ENVELOPE_OVERHEAD,
    MAX_ENVELOPE_BYTES,
    MAX_PLAINTEXT_BYTES,
    MIN_ENVELOPE_BYTES,
    new_relay_key,
    open_envelope,
    seal,
)
from sync_client.errors import EnvelopeError, InvalidInput

VECTOR_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
VECTOR_NONCE = bytes.fromhex("000000000000000000000001")
VECTOR_ORIGIN = "http://127.0.0.1:8000"
VECTOR_SLOT_ID = "AAAAAAAAAAAAAAAAAAAAAA"
VECTOR_CUSTOMER = "A123456789"
VECTOR_FINGERPRINT = "0123456789abcdef" * 4
VECTOR_PLAINTEXT = b"certsync test vector"
# Computed once with sync_client.envelope.seal and cross-checked below by another code path;
# docs/PROTOCOL.md quotes the same hex.
VECTOR_ENVELOPE_HEX = (
    "02000000000000000000000001"
    "76b3cd88378d5e7d2e5a344a98864c9276eb7326"
    "a9524a373bebed1864e099a32d128fbd"
)

PROTOCOL_MD = Path(__file__).resolve().parent.parent / "docs" / "PROTOCOL.md"

BOUND = {
    "origin": VECTOR_ORIGIN,
    "slot_id": VECTOR_SLOT_ID,
    "customer_id": VECTOR_CUSTOMER,
    "certificate_fingerprint": VECTOR_FINGERPRINT,
}


def _seal(key: bytes, plaintext: bytes, **change: Any) -> bytes:
    return seal(key=key, plaintext=plaintext, **(BOUND | change))


def _open(envelope: bytes, *, key: bytes = VECTOR_KEY, **change: Any) -> bytes:
    return open_envelope(key=key, envelope=envelope, **(BOUND | change))


def test_vector_seals_to_the_documented_envelope() -> None:
    assert _seal(VECTOR_KEY, VECTOR_PLAINTEXT, nonce=VECTOR_NONCE).hex() == VECTOR_ENVELOPE_HEX


def test_vector_opens() -> None:
    assert _open(bytes.fromhex(VECTOR_ENVELOPE_HEX)) == VECTOR_PLAINTEXT


def test_vector_matches_an_independent_computation() -> None:
    # The streaming Cipher API with the AAD spelled out by hand, not AESGCM nor relay_aad.
    aad = (
        b"certsync-relay-v2\nhttp://127.0.0.1:8000\nAAAAAAAAAAAAAAAAAAAAAA\nA123456789\n"
        b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
    encryptor = Cipher(algorithms.AES(VECTOR_KEY), modes.GCM(VECTOR_NONCE)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(VECTOR_PLAINTEXT) + encryptor.finalize()
    expected = b"\x02" + VECTOR_NONCE + ciphertext + encryptor.tag
    assert expected.hex() == VECTOR_ENVELOPE_HEX
    assert len(expected) == ENVELOPE_OVERHEAD + len(VECTOR_PLAINTEXT)


def test_protocol_md_quotes_the_vector() -> None:
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    assert f"envelope    = {VECTOR_ENVELOPE_HEX}\n" in text
    assert f"fingerprint = {VECTOR_FINGERPRINT}\n" in text
    assert f"origin      = {VECTOR_ORIGIN}\n" in text


def test_every_flipped_byte_is_refused() -> None:
    envelope = bytes.fromhex(VECTOR_ENVELOPE_HEX)
    for position in range(len(envelope)):
        tampered = bytearray(envelope)
        tampered[position] ^= 0x01
        with pytest.raises(EnvelopeError) as caught:
            _open(bytes(tampered))
        assert caught.value.code == "envelope_invalid"


@pytest.mark.parametrize(
    "change",
    [
        {"slot_id": "AAAAAAAAAAAAAAAAAAAAAB"},
        {"customer_id": "B212345670"},
        {"certificate_fingerprint": "f" * 64},
        {"origin": "https://127.0.0.1:8000"},
        {"origin": "http://127.0.0.1:8001"},
        {"origin": "http://evil.example:8000"},
        {"key": bytes(32)},
        {"key": VECTOR_KEY[::-1]},
    ],
    ids=[
        "other-slot",
        "other-customer",
        "other-certificate",
        "other-scheme",
        "other-port",
        "other-host",
        "zero-key",
        "other-key",
    ],
)
def test_other_server_slot_customer_certificate_or_key_is_refused(
    change: dict[str, Any],
) -> None:
    with pytest.raises(EnvelopeError) as caught:
        _open(bytes.fromhex(VECTOR_ENVELOPE_HEX), **change)
    assert caught.value.code == "envelope_invalid"
    assert VECTOR_KEY.hex() not in str(caught.value)


@pytest.mark.parametrize(
    "spelling",
    ["HTTP://127.0.0.1:8000", "http://127.0.0.1:8000/", "http://127.0.0.1:8000/some/path"],
)
def test_the_origin_is_bound_not_its_spelling(spelling: str) -> None:
    assert _open(bytes.fromhex(VECTOR_ENVELOPE_HEX), origin=spelling) == VECTOR_PLAINTEXT


def test_the_fingerprint_is_bound_in_either_case() -> None:
    upper = VECTOR_FINGERPRINT.upper()
    assert _open(bytes.fromhex(VECTOR_ENVELOPE_HEX), certificate_fingerprint=upper) == (
        VECTOR_PLAINTEXT
    )


@pytest.mark.parametrize(
    "change",
    [
        {"certificate_fingerprint": "0123"},
        {"certificate_fingerprint": "g" * 64},
        {"customer_id": "A123456789\nx"},
        {"slot_id": "AAAA\nAAAA"},
        {"origin": "ftp://127.0.0.1"},
        {"origin": "not a url"},
    ],
)
def test_malformed_bindings_are_invalid_input(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        _seal(VECTOR_KEY, b"x", **change)
    with pytest.raises(InvalidInput):
        _open(bytes.fromhex(VECTOR_ENVELOPE_HEX), **change)


@pytest.mark.parametrize("length", [0, 1, 13, ENVELOPE_OVERHEAD - 1])
def test_short_input_is_refused(length: int) -> None:
    with pytest.raises(EnvelopeError):
        _open(bytes.fromhex(VECTOR_ENVELOPE_HEX)[:length])


def test_minimum_size_is_version_nonce_and_tag() -> None:
    assert MIN_ENVELOPE_BYTES == ENVELOPE_OVERHEAD == 1 + 12 + 16 == 29


@pytest.mark.parametrize("version", [b"\x00", b"\x01", b"\x03", b"\xff"])
def test_other_versions_are_refused(version: bytes) -> None:
    envelope = bytes.fromhex(VECTOR_ENVELOPE_HEX)
    with pytest.raises(EnvelopeError):
        _open(version + envelope[1:])


def test_a_version_1_envelope_no_longer_opens() -> None:
    # The old vector of docs/PROTOCOL.md (slot and customer only in the AAD).
    old = bytes.fromhex(
        "0100000000000000000000000176b3cd88378d5e7d2e5a344a98864c9276eb7326"
        "223fb97af2e5027812af74f10d996ea9"
    )
    with pytest.raises(EnvelopeError):
        _open(old)


def test_empty_plaintext_round_trips() -> None:
    key = new_relay_key()
    envelope = _seal(key, b"")
    assert len(envelope) == MIN_ENVELOPE_BYTES
    assert _open(envelope, key=key) == b""


def test_random_nonces_differ() -> None:
    key = new_relay_key()
    first = _seal(key, b"pfx")
    second = _seal(key, b"pfx")
    assert first[1:13] != second[1:13]
    assert _open(first, key=key) == _open(second, key=key) == b"pfx"


def test_new_relay_key_is_32_fresh_bytes() -> None:
    keys = {new_relay_key() for _ in range(16)}
    assert len(keys) == 16
    assert all(len(key) == 32 for key in keys)


def test_largest_plaintext_fills_the_server_cap_exactly() -> None:
    key = new_relay_key()
    plaintext = b"\x5a" * MAX_PLAINTEXT_BYTES
    envelope = _seal(key, plaintext)
    assert len(envelope) == MAX_ENVELOPE_BYTES == 65536
    assert _open(envelope, key=key) == plaintext


def test_larger_plaintext_is_refused() -> None:
    with pytest.raises(InvalidInput):
        _seal(new_relay_key(), bytes(MAX_PLAINTEXT_BYTES + 1))


def test_oversized_envelope_is_refused() -> None:
    with pytest.raises(EnvelopeError):
        _open(b"\x02" + bytes(MAX_ENVELOPE_BYTES))


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(31), bytes(33)])
def test_key_of_wrong_length_is_invalid_input(key: bytes) -> None:
    with pytest.raises(InvalidInput):
        _seal(key, b"x")
    with pytest.raises(InvalidInput):
        _open(bytes.fromhex(VECTOR_ENVELOPE_HEX), key=key)


def test_nonce_of_wrong_length_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        _seal(VECTOR_KEY, b"x", nonce=bytes(16))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_open_and_never_crash(data: bytes) -> None:
    with pytest.raises(EnvelopeError):
        _open(data)
