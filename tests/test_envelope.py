"""The relay envelope: the PROTOCOL.md test vector, cross-checked, and tampering that must fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sync_client.envelope import (
    ENVELOPE_OVERHEAD,
    MAX_ENVELOPE_BYTES,
    MAX_PLAINTEXT_BYTES,
    new_relay_key,
    open_envelope,
    seal,
)
from sync_client.errors import EnvelopeError, InvalidInput

VECTOR_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
VECTOR_NONCE = bytes.fromhex("000000000000000000000001")
VECTOR_SLOT_ID = "AAAAAAAAAAAAAAAAAAAAAA"
VECTOR_CUSTOMER = "A123456789"
VECTOR_PLAINTEXT = b"certsync test vector"
# Computed once with sync_client.envelope.seal and cross-checked below by another code path;
# docs/PROTOCOL.md quotes the same hex.
VECTOR_ENVELOPE_HEX = (
    "01000000000000000000000001"
    "76b3cd88378d5e7d2e5a344a98864c9276eb7326"
    "223fb97af2e5027812af74f10d996ea9"
)

PROTOCOL_MD = Path(__file__).resolve().parent.parent / "docs" / "PROTOCOL.md"


def _seal_vector() -> bytes:
    return seal(
        key=VECTOR_KEY,
        slot_id=VECTOR_SLOT_ID,
        customer_id=VECTOR_CUSTOMER,
        plaintext=VECTOR_PLAINTEXT,
        nonce=VECTOR_NONCE,
    )


def _open(
    envelope: bytes,
    *,
    key: bytes = VECTOR_KEY,
    slot_id: str = VECTOR_SLOT_ID,
    customer_id: str = VECTOR_CUSTOMER,
) -> bytes:
    return open_envelope(key=key, slot_id=slot_id, customer_id=customer_id, envelope=envelope)


def test_vector_seals_to_the_documented_envelope() -> None:
    assert _seal_vector().hex() == VECTOR_ENVELOPE_HEX


def test_vector_opens() -> None:
    assert _open(bytes.fromhex(VECTOR_ENVELOPE_HEX)) == VECTOR_PLAINTEXT


def test_vector_matches_an_independent_computation() -> None:
    # The streaming Cipher API with the AAD spelled out by hand, not AESGCM nor relay_aad.
    aad = b"certsync-relay-v1\nAAAAAAAAAAAAAAAAAAAAAA\nA123456789"
    encryptor = Cipher(algorithms.AES(VECTOR_KEY), modes.GCM(VECTOR_NONCE)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(VECTOR_PLAINTEXT) + encryptor.finalize()
    expected = b"\x01" + VECTOR_NONCE + ciphertext + encryptor.tag
    assert expected.hex() == VECTOR_ENVELOPE_HEX
    assert len(expected) == ENVELOPE_OVERHEAD + len(VECTOR_PLAINTEXT)


def test_protocol_md_quotes_the_vector() -> None:
    assert f"envelope   = {VECTOR_ENVELOPE_HEX}\n" in PROTOCOL_MD.read_text(encoding="utf-8")


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
        {"key": bytes(32)},
        {"key": VECTOR_KEY[::-1]},
    ],
    ids=["other-slot", "other-customer", "zero-key", "other-key"],
)
def test_other_slot_customer_or_key_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(EnvelopeError) as caught:
        _open(bytes.fromhex(VECTOR_ENVELOPE_HEX), **change)  # type: ignore[arg-type]
    assert caught.value.code == "envelope_invalid"
    assert VECTOR_KEY.hex() not in str(caught.value)


@pytest.mark.parametrize("length", [0, 1, 13, ENVELOPE_OVERHEAD - 1])
def test_short_input_is_refused(length: int) -> None:
    with pytest.raises(EnvelopeError):
        _open(bytes.fromhex(VECTOR_ENVELOPE_HEX)[:length])


def test_unknown_version_is_refused() -> None:
    envelope = bytes.fromhex(VECTOR_ENVELOPE_HEX)
    with pytest.raises(EnvelopeError):
        _open(b"\x02" + envelope[1:])


def test_empty_plaintext_round_trips() -> None:
    key = new_relay_key()
    envelope = seal(key=key, slot_id=VECTOR_SLOT_ID, customer_id=VECTOR_CUSTOMER, plaintext=b"")
    assert len(envelope) == ENVELOPE_OVERHEAD
    assert _open(envelope, key=key) == b""


def test_random_nonces_differ() -> None:
    key = new_relay_key()
    first = seal(key=key, slot_id=VECTOR_SLOT_ID, customer_id=VECTOR_CUSTOMER, plaintext=b"pfx")
    second = seal(key=key, slot_id=VECTOR_SLOT_ID, customer_id=VECTOR_CUSTOMER, plaintext=b"pfx")
    assert first[1:13] != second[1:13]
    assert _open(first, key=key) == _open(second, key=key) == b"pfx"


def test_new_relay_key_is_32_fresh_bytes() -> None:
    keys = {new_relay_key() for _ in range(16)}
    assert len(keys) == 16
    assert all(len(key) == 32 for key in keys)


def test_largest_plaintext_fills_the_server_cap_exactly() -> None:
    key = new_relay_key()
    plaintext = b"\x5a" * MAX_PLAINTEXT_BYTES
    envelope = seal(
        key=key, slot_id=VECTOR_SLOT_ID, customer_id=VECTOR_CUSTOMER, plaintext=plaintext
    )
    assert len(envelope) == MAX_ENVELOPE_BYTES == 65536
    assert _open(envelope, key=key) == plaintext


def test_larger_plaintext_is_refused() -> None:
    with pytest.raises(InvalidInput):
        seal(
            key=new_relay_key(),
            slot_id=VECTOR_SLOT_ID,
            customer_id=VECTOR_CUSTOMER,
            plaintext=bytes(MAX_PLAINTEXT_BYTES + 1),
        )


def test_oversized_envelope_is_refused() -> None:
    with pytest.raises(EnvelopeError):
        _open(b"\x01" + bytes(MAX_ENVELOPE_BYTES))


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(31), bytes(33)])
def test_key_of_wrong_length_is_invalid_input(key: bytes) -> None:
    with pytest.raises(InvalidInput):
        seal(key=key, slot_id=VECTOR_SLOT_ID, customer_id=VECTOR_CUSTOMER, plaintext=b"x")
    with pytest.raises(InvalidInput):
        _open(bytes.fromhex(VECTOR_ENVELOPE_HEX), key=key)


def test_nonce_of_wrong_length_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        seal(
            key=VECTOR_KEY,
            slot_id=VECTOR_SLOT_ID,
            customer_id=VECTOR_CUSTOMER,
            plaintext=b"x",
            nonce=bytes(16),
        )
