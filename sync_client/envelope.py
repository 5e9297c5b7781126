"""The relay envelope of docs/PROTOCOL.md: how a PFX crosses the server from PC to phone.

    envelope = 0x02 || nonce (12 bytes) || AES-256-GCM(key, nonce, plaintext, aad)
    aad      = UTF-8 of "certsync-relay-v2\\n<origin>\\n<slot_id>\\n<customer_id>\\n<fingerprint>"

The key travels only in the QR code, so the server stores bytes it cannot read. Binding the
server's origin, the slot id, the customer ID and the certificate the slot was opened for as
associated data means a ciphertext moved to another slot or another server, claimed for
another customer, or passed off as another certificate's, fails to open even with the right
key. Version 1 (slot and customer only) is no longer accepted by either side.
"""

from __future__ import annotations

import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sync_client.errors import EnvelopeError, InvalidInput
from sync_client.i18n import N_, msg
from sync_client.origin import origin_of
from sync_client.protocol import relay_aad

ENVELOPE_VERSION = 2
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# The server refuses relay ciphertext (the whole envelope, before base64) over 64 KiB.
MAX_ENVELOPE_BYTES = 65536
ENVELOPE_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES
# The shortest envelope (an empty plaintext): the server refuses a shorter upload.
MIN_ENVELOPE_BYTES = ENVELOPE_OVERHEAD
MAX_PLAINTEXT_BYTES = MAX_ENVELOPE_BYTES - ENVELOPE_OVERHEAD

VERSION_BYTE = bytes([ENVELOPE_VERSION])
_INVALID = N_("sdk.relay.invalid")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def new_relay_key() -> bytes:
    """32 fresh random bytes: one key per slot, never reused, never sent to the server."""
    return os.urandom(KEY_BYTES)


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        # The length only: the key itself never goes into a message.
        raise InvalidInput(msg("sdk.relay.key_length", expected=KEY_BYTES, actual=len(key)))


def _aad(*, origin: str, slot_id: str, customer_id: str, certificate_fingerprint: str) -> bytes:
    """The v2 associated data, from values checked here so that no part can hold a newline."""
    fingerprint = certificate_fingerprint.lower()
    if not _FINGERPRINT.fullmatch(fingerprint) or "\n" in slot_id + customer_id:
        raise InvalidInput(msg("sdk.relay.binding"))
    return relay_aad(
        origin=origin_of(origin),
        slot_id=slot_id,
        customer_id=customer_id,
        certificate_fingerprint=fingerprint,
    )


def seal(
    *,
    key: bytes,
    origin: str,
    slot_id: str,
    customer_id: str,
    certificate_fingerprint: str,
    plaintext: bytes,
    nonce: bytes | None = None,
) -> bytes:
    """Encrypt ``plaintext`` (the PFX bytes) for one server, slot, customer and certificate.

    ``origin`` is the server's URL (or its origin; ``sync_client.origin.origin_of`` is taken),
    ``certificate_fingerprint`` the hex SHA-256 of the certificate the slot was opened for.
    ``nonce`` exists for the test vector only; callers leave it out and get 12 random bytes.
    Random nonces are safe here because each key seals exactly one message.
    Raises ``InvalidInput`` for a key that is not 32 bytes, a nonce that is not 12, a URL
    without an origin, a fingerprint that is not 64 hex digits, or a plaintext whose envelope
    would exceed ``MAX_ENVELOPE_BYTES``.
    """
    _check_key(key)
    aad = _aad(
        origin=origin,
        slot_id=slot_id,
        customer_id=customer_id,
        certificate_fingerprint=certificate_fingerprint,
    )
    if nonce is None:
        nonce = os.urandom(NONCE_BYTES)
    elif len(nonce) != NONCE_BYTES:
        raise InvalidInput(msg("sdk.relay.nonce_length", expected=NONCE_BYTES, actual=len(nonce)))
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise InvalidInput(
            msg("sdk.relay.too_large", size=len(plaintext), limit=MAX_PLAINTEXT_BYTES)
        )
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, aad)
    return VERSION_BYTE + nonce + ciphertext


def open_envelope(
    *,
    key: bytes,
    origin: str,
    slot_id: str,
    customer_id: str,
    certificate_fingerprint: str,
    envelope: bytes,
) -> bytes:
    """Decrypt an envelope made by ``seal`` for the same key, origin, slot, customer and
    certificate.

    Raises ``EnvelopeError`` (code ``envelope_invalid``) for an unknown version (version 1
    included), a too short or too long envelope, or any failed authentication: a changed byte,
    another server, slot id, customer, certificate or key. The causes are deliberately not
    told apart. ``InvalidInput`` as for ``seal`` when an argument is malformed.
    """
    _check_key(key)
    aad = _aad(
        origin=origin,
        slot_id=slot_id,
        customer_id=customer_id,
        certificate_fingerprint=certificate_fingerprint,
    )
    if len(envelope) < MIN_ENVELOPE_BYTES or len(envelope) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(msg(_INVALID))
    if envelope[:1] != VERSION_BYTE:
        raise EnvelopeError(msg(_INVALID))
    nonce = envelope[1 : 1 + NONCE_BYTES]
    ciphertext = envelope[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise EnvelopeError(msg(_INVALID)) from None
