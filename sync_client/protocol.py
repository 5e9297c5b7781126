"""The protocol's pure vocabulary: status codes, the bytes that get signed, and formats.

Both sides import this module (the server to verify, the clients to sign), so that the
signed byte strings of docs/PROTOCOL.md are written down exactly once.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # cryptography is imported by whoever holds a CSR; keep start-up light
    from cryptography import x509

API_PREFIX = "/api/v1"
RENEWAL_DOMAIN = "certsync-renewal-v1"
ORDER_DOMAIN = "certsync-order-v2"
RELAY_DOMAIN = "certsync-relay-v2"


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


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00, 9999-12-31T23:59:59-01:00
        raise ValueError(f"{moment.isoformat()} is outside the years 1 to 9999 in UTC") from None


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC, seconds precision, ``Z`` suffix; the year always 4 digits (``0999``:
    ``strftime("%Y")`` writes ``999`` on glibc). Raises ``ValueError`` for a time that has no
    UTC form (an offset that pushes it past year 1 or 9999); a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _in_utc(moment).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


# RFC 3339's date-time (section 5.6), ASCII digits only: ``fromisoformat`` alone would also
# take ISO 8601's other forms (``20261125T100000Z``, a date alone, a week date).
_RFC3339 = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)


def parse_time(text: str) -> datetime:
    """Inverse of ``format_time``; accepts any RFC 3339 date-time (any offset, a fraction).
    Raises ``ValueError`` for anything else, for a date that does not exist, and for a time
    whose UTC form falls outside the years 1 to 9999."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text[:40]!r}")
    date, clock, fraction, zone = match.groups()
    zone = "+00:00" if zone in ("Z", "z") else zone
    moment = datetime.fromisoformat(f"{date}T{clock}{zone}")  # ValueError for 02-30, 24:00
    if fraction:  # to microseconds, the finest a datetime holds
        moment = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return _in_utc(moment)


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


def order_message(order: dict[str, Any], *, audience: str, customer_id: str, serial: str) -> bytes:
    """The bytes a customer's key signs for one order (v2): the deployment it is meant for
    (``audience``, the policy's ``order_audience``), the customer, the decimal serial of the
    signing certificate, then the order as canonical JSON. v1 signed the order alone, so a
    signature could be replayed at another deployment or named another certificate."""
    head = "\n".join((ORDER_DOMAIN, audience, customer_id, serial)) + "\n"
    return head.encode() + canonical_json(order)


def relay_aad(
    *, origin: str, slot_id: str, customer_id: str, certificate_fingerprint: str
) -> bytes:
    """Associated data that binds a relay envelope to its server, slot, customer and certificate.

    ``origin`` is ``sync_client.origin.origin_of`` of the server URL, ``certificate_fingerprint``
    the lower-case hex SHA-256 the slot was opened for. None of the parts can hold a newline
    (the callers pass validated values), so the joined text is unambiguous.
    """
    parts = (RELAY_DOMAIN, origin, slot_id, customer_id, certificate_fingerprint)
    return "\n".join(parts).encode()
