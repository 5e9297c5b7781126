"""The relay envelope of docs/PROTOCOL.md: how a PFX crosses the server from PC to phone.

    envelope = 0x01 || nonce (12 bytes) || AES-256-GCM(key, nonce, plaintext, aad)
    aad      = UTF-8 of "certsync-relay-v1\\n<slot_id>\\n<customer_id>"

The key travels only in the QR code, so the server stores bytes it cannot read. Binding the
slot id and customer ID as associated data means a ciphertext moved to another slot, or
claimed for another customer, fails to open even with the right key.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sync_client.errors import EnvelopeError, InvalidInput
from sync_client.i18n import N_, msg
from sync_client.protocol import relay_aad

ENVELOPE_VERSION = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# The server refuses relay ciphertext (the whole envelope, before base64) over 64 KiB.
MAX_ENVELOPE_BYTES = 65536
ENVELOPE_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES
MAX_PLAINTEXT_BYTES = MAX_ENVELOPE_BYTES - ENVELOPE_OVERHEAD

_VERSION_BYTE = bytes([ENVELOPE_VERSION])
_INVALID = N_("sdk.relay.invalid")


def new_relay_key() -> bytes:
    """32 fresh random bytes: one key per slot, never reused, never sent to the server."""
    return os.urandom(KEY_BYTES)


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        # The length only: the key itself never goes into a message.
        raise InvalidInput(msg("sdk.relay.key_length", expected=KEY_BYTES, actual=len(key)))


def seal(
    *,
    key: bytes,
    slot_id: str,
    customer_id: str,
    plaintext: bytes,
    nonce: bytes | None = None,
) -> bytes:
    """Encrypt ``plaintext`` (the PFX bytes) for one slot and customer.

    ``nonce`` exists for the test vector only; callers leave it out and get 12 random bytes.
    Random nonces are safe here because each key seals exactly one message.
    Raises ``InvalidInput`` for a key that is not 32 bytes, a nonce that is not 12, or a
    plaintext whose envelope would exceed ``MAX_ENVELOPE_BYTES``.
    """
    _check_key(key)
    if nonce is None:
        nonce = os.urandom(NONCE_BYTES)
    elif len(nonce) != NONCE_BYTES:
        raise InvalidInput(msg("sdk.relay.nonce_length", expected=NONCE_BYTES, actual=len(nonce)))
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise InvalidInput(
            msg("sdk.relay.too_large", size=len(plaintext), limit=MAX_PLAINTEXT_BYTES)
        )
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, relay_aad(slot_id, customer_id))
    return _VERSION_BYTE + nonce + ciphertext


def open_envelope(*, key: bytes, slot_id: str, customer_id: str, envelope: bytes) -> bytes:
    """Decrypt an envelope made by ``seal`` for the same key, slot and customer.

    Raises ``EnvelopeError`` (code ``envelope_invalid``) for an unknown version, a too short or
    too long envelope, or any failed authentication: a changed byte, another slot id, another
    customer, another key. The causes are deliberately not told apart.
    """
    _check_key(key)
    if len(envelope) < ENVELOPE_OVERHEAD or len(envelope) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(msg(_INVALID))
    if envelope[:1] != _VERSION_BYTE:
        raise EnvelopeError(msg(_INVALID))
    nonce = envelope[1 : 1 + NONCE_BYTES]
    ciphertext = envelope[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, relay_aad(slot_id, customer_id))
    except InvalidTag:
        raise EnvelopeError(msg(_INVALID)) from None
