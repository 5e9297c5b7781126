"""The protocol's pure vocabulary: status codes, the bytes that get signed, and formats.

Both sides import this module (the server to verify, the clients to sign), so that the
signed byte strings of docs/PROTOCOL.md are written down exactly once.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # cryptography is imported by whoever holds a CSR; keep start-up light
    from cryptography import x509

API_PREFIX = "/api/v1"
RENEWAL_DOMAIN = "certsync-renewal-v1"
ORDER_DOMAIN = "certsync-order-v1"
RELAY_DOMAIN = "certsync-relay-v1"


class StatusCode(IntEnum):
    """Certificate status codes of the original system (0, 31) and ours for the other states."""

    VALID = 0
    EXPIRING = 31
    NONE = 40
    EXPIRED = 41
    REVOKED = 42

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def is_valid(self) -> bool:
        """Whether a certificate in this state signs orders and may be put on a phone
        (valid, or valid and inside its renewal window)."""
        return self in (StatusCode.VALID, StatusCode.EXPIRING)


class RelayState(StrEnum):
    """A relay slot's life: opened by the PC, claimed once by the phone, or ended unclaimed."""

    OPEN = "open"
    CLAIMED = "claimed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


def format_serial(serial: int) -> str:
    """``101919`` → ``"101919 (0x018E1F)"``: decimal, then upper-case hex padded to whole bytes."""
    digits = f"{serial:X}"
    if len(digits) % 2:
        digits = "0" + digits
    return f"{serial} (0x{digits})"


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC, seconds precision, ``Z`` suffix."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Inverse of ``format_time``; accepts any RFC 3339 offset. Raises ``ValueError``."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return moment.astimezone(UTC)


def csr_sha256(csr: x509.CertificateSigningRequest) -> str:
    """Lower-case hex SHA-256 of the CSR's DER: what a renewal proof binds the new request by."""
    from cryptography.hazmat.primitives import serialization

    return hashlib.sha256(csr.public_bytes(serialization.Encoding.DER)).hexdigest()


def renewal_message(challenge_id: str, nonce_b64: str, csr_sha256_hex: str) -> bytes:
    """The bytes the current key signs to prove the right to renew."""
    return "\n".join((RENEWAL_DOMAIN, challenge_id, nonce_b64, csr_sha256_hex)).encode()


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the form that order signatures cover."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def order_message(order: dict[str, Any]) -> bytes:
    """The bytes a customer's key signs for one order."""
    return (ORDER_DOMAIN + "\n").encode() + canonical_json(order)


def relay_aad(slot_id: str, customer_id: str) -> bytes:
    """Associated data that binds a relay envelope to its slot and customer."""
    return "\n".join((RELAY_DOMAIN, slot_id, customer_id)).encode()
