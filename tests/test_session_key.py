"""The key kept for a login session (setting 2): sealed under the session's unlock secret,
bound to one customer and one certificate, and useless with anything else."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync_client.errors import InvalidInput, SessionKeyInvalid
from sync_client.keys import PrivateKey, generate_private_key
from sync_client.session_key import unwrap_session_key, wrap_session_key

CUSTOMER = "A123456789"
OTHER_CUSTOMER = "B123456780"
FINGERPRINT = "ab" * 32
OTHER_FINGERPRINT = "cd" * 32
SECRET = bytes(range(32))


@pytest.fixture(scope="module", params=["rsa", "ec"])
def key(request: pytest.FixtureRequest) -> PrivateKey:
    return generate_private_key(request.param)


def _der(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _wrap(key: PrivateKey, secret: bytes = SECRET) -> bytes:
    return wrap_session_key(key, secret, customer_id=CUSTOMER, cert_fingerprint=FINGERPRINT)


def _unwrap(
    blob: bytes,
    secret: bytes = SECRET,
    *,
    customer_id: str = CUSTOMER,
    fingerprint: str = FINGERPRINT,
) -> PrivateKey:
    return unwrap_session_key(blob, secret, customer_id=customer_id, cert_fingerprint=fingerprint)


def test_round_trip_and_the_key_never_shows_in_the_blob(key: PrivateKey) -> None:
    blob = _wrap(key)
    assert _der(_unwrap(blob)) == _der(key)
    assert _der(key) not in blob
    assert (
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        not in blob
    )
    assert _wrap(key) != blob  # a fresh nonce each time


def test_the_format_decrypts_by_the_documented_construction(key: PrivateKey) -> None:
    """0x01 || nonce || AES-256-GCM under HKDF-SHA256(secret, info), AAD customer+fingerprint."""
    blob = _wrap(key)
    assert blob[0] == 1
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"certsync-session-key-v1"
    ).derive(SECRET)
    aad = f"certsync-session-key-v1\n{CUSTOMER}\n{FINGERPRINT}".encode()
    assert AESGCM(derived).decrypt(blob[1:13], blob[13:], aad) == _der(key)


def _assert_invalid(call: Callable[[], object]) -> None:
    with pytest.raises(SessionKeyInvalid) as caught:
        call()
    assert caught.value.code == "session_key_invalid"
    assert SECRET.hex() not in caught.value.message


def test_another_secret_customer_or_certificate_fails(key: PrivateKey) -> None:
    blob = _wrap(key)
    _assert_invalid(lambda: _unwrap(blob, os.urandom(32)))
    _assert_invalid(lambda: _unwrap(blob, SECRET[:-1] + b"\x00"))
    _assert_invalid(lambda: _unwrap(blob, customer_id=OTHER_CUSTOMER))
    _assert_invalid(lambda: _unwrap(blob, fingerprint=OTHER_FINGERPRINT))
    _assert_invalid(lambda: _unwrap(blob, fingerprint=FINGERPRINT.upper()))
    _assert_invalid(lambda: _unwrap(blob, SECRET[:16]))  # a secret of the wrong size


def test_every_changed_byte_fails(key: PrivateKey) -> None:
    blob = _wrap(key)
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        _assert_invalid(partial(_unwrap, bytes(tampered)))


def test_truncated_extended_and_empty_blobs_fail(key: PrivateKey) -> None:
    blob = _wrap(key)
    for bad in (b"", blob[:1], blob[:29], blob[:-1], blob + b"\x00", b"\x02" + blob[1:]):
        _assert_invalid(partial(_unwrap, bad))
    _assert_invalid(lambda: _unwrap(b"\x01" + bytes(20_000)))


def test_a_sealed_plaintext_that_is_no_key_fails() -> None:
    """Authentic ciphertext of something else is still refused (never a half-parsed key)."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"certsync-session-key-v1"
    ).derive(SECRET)
    aad = f"certsync-session-key-v1\n{CUSTOMER}\n{FINGERPRINT}".encode()
    nonce = os.urandom(12)
    blob = b"\x01" + nonce + AESGCM(derived).encrypt(nonce, b"not a key", aad)
    _assert_invalid(lambda: _unwrap(blob))


def test_wrapping_refuses_a_secret_of_the_wrong_size(key: PrivateKey) -> None:
    with pytest.raises(InvalidInput) as caught:
        _wrap(key, SECRET[:31])
    assert "31" in caught.value.message
