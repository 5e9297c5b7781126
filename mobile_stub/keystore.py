"""The phone's keystore (one ``<ID>.pfx`` per customer) and the pairing waiting for a password.

The keystore keeps the PFX exactly as the PC sent it, still under the customer's PFX password,
beside a public description (the certificate PEM and the SHA-256 of the PFX it describes) so
that ``status`` can show the certificate without asking for the password. The description is
trusted only while its hash matches the PFX next to it.

A *pending* pairing is a PFX that was claimed and decrypted but not yet opened: the relay slot
is spent by then, so a mistyped password must not lose it. It is as safe on disk as the
keystore itself (the PFX password still protects it) and waits for ``pair --retry`` or
``pair --give-up``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from mobile_stub.errors import NoCertificateOnPhone, NoPendingPairing, PhoneStoreCorrupt
from mobile_stub.session import pfx_digest
from mobile_stub.store import PhoneHome, read_json, remove_file, write_json_private
from sync_client.fsio import read_file_limited, write_file_atomic
from sync_client.i18n import msg
from sync_client.keys import certificate_fingerprint
from sync_client.pfx import LoadedPfx
from sync_client.protocol import format_serial, format_time, parse_time

MAX_PFX_BYTES = 64 * 1024


@dataclass(frozen=True)
class KeystoreEntry:
    """The customer's certificate on this phone; ``cert`` is ``None`` if it cannot be described."""

    customer_id: str
    pfx_path: Path
    pfx_bytes: bytes = field(repr=False)
    cert: x509.Certificate | None

    @property
    def fingerprint_sha256(self) -> str | None:
        return certificate_fingerprint(self.cert) if self.cert is not None else None

    def describe(self) -> dict[str, object]:
        """The phone-side facts that ``status`` shows (JSON-ready)."""
        facts: dict[str, object] = {
            "folder": str(self.pfx_path.parent),
            "file": self.pfx_path.name,
        }
        if self.cert is None:
            return facts | {"readable": False}
        names = self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return facts | {
            "readable": True,
            "subject_cn": str(names[0].value) if names else None,
            "serial": str(self.cert.serial_number),
            "serial_display": format_serial(self.cert.serial_number),
            "not_before": format_time(self.cert.not_valid_before_utc),
            "not_after": format_time(self.cert.not_valid_after_utc),
            "fingerprint_sha256": self.fingerprint_sha256,
        }


def store_certificate(home: PhoneHome, loaded: LoadedPfx, pfx_bytes: bytes) -> Path:
    """Put a checked PFX into the keystore, replacing the customer's earlier one atomically.

    ``loaded`` is ``pfx_bytes`` opened with its password: the caller has checked it.
    """
    home.ensure(home.keystore_dir)
    customer_id = loaded.customer_id
    # The description first: until the PFX is replaced its hash does not match, so a crash in
    # between leaves an entry that is merely undescribed, never one described wrongly.
    write_json_private(
        home.keystore_meta(customer_id),
        {
            "customer_id": customer_id,
            "pfx_sha256": pfx_digest(pfx_bytes),
            "cert_pem": loaded.cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            "stored_at": format_time(datetime.now(UTC)),
        },
    )
    path = home.keystore_pfx(customer_id)
    write_file_atomic(path, pfx_bytes)
    return path


def find_certificate(home: PhoneHome, customer_id: str) -> KeystoreEntry | None:
    """The customer's keystore entry, or ``None`` when the phone has no certificate for them."""
    path = home.keystore_pfx(customer_id)
    if not path.exists():
        return None
    pfx_bytes = read_file_limited(path, MAX_PFX_BYTES)
    cert: x509.Certificate | None = None
    try:
        meta = read_json(home.keystore_meta(customer_id))
    except PhoneStoreCorrupt:
        meta = None
    if meta is not None and meta.get("pfx_sha256") == pfx_digest(pfx_bytes):
        try:
            cert = x509.load_pem_x509_certificate(str(meta["cert_pem"]).encode("ascii"))
        except (KeyError, ValueError, UnicodeEncodeError):
            cert = None
    return KeystoreEntry(customer_id=customer_id, pfx_path=path, pfx_bytes=pfx_bytes, cert=cert)


def require_certificate(home: PhoneHome, customer_id: str) -> KeystoreEntry:
    """The customer's keystore entry, or ``NoCertificateOnPhone``."""
    entry = find_certificate(home, customer_id)
    if entry is None:
        raise NoCertificateOnPhone(msg("phone.keystore.no_certificate", id=customer_id))
    return entry


# -- pending pairings ---------------------------------------------------------------------


@dataclass(frozen=True)
class PendingPairing:
    """A received PFX (still password-protected) that the phone could not open yet."""

    customer_id: str
    slot_id: str
    received_at: datetime
    pfx_bytes: bytes = field(repr=False)


def save_pending(home: PhoneHome, pending: PendingPairing) -> None:
    """Keep a received PFX until its password is typed right (replaces an older one)."""
    home.ensure(home.pending_dir)
    write_json_private(
        home.pending_file(pending.customer_id),
        {
            "customer_id": pending.customer_id,
            "slot_id": pending.slot_id,
            "received_at": format_time(pending.received_at),
            "pfx": base64.b64encode(pending.pfx_bytes).decode("ascii"),
        },
    )


def load_pending(home: PhoneHome, customer_id: str) -> PendingPairing | None:
    """The customer's pending pairing, if any."""
    path = home.pending_file(customer_id)
    data = read_json(path)
    if data is None:
        return None
    try:
        return PendingPairing(
            customer_id=str(data["customer_id"]),
            slot_id=str(data["slot_id"]),
            received_at=parse_time(str(data["received_at"])),
            pfx_bytes=base64.b64decode(str(data["pfx"]), validate=True),
        )
    except (KeyError, ValueError, binascii.Error):
        raise PhoneStoreCorrupt(msg("phone.pending.damaged", path=path)) from None


def require_pending(home: PhoneHome, customer_id: str) -> PendingPairing:
    """The customer's pending pairing, or ``NoPendingPairing``."""
    pending = load_pending(home, customer_id)
    if pending is None:
        raise NoPendingPairing(msg("phone.pending.none", id=customer_id))
    return pending


def discard_pending(home: PhoneHome, customer_id: str) -> bool:
    """Forget the customer's pending pairing; whether there was one."""
    return remove_file(home.pending_file(customer_id))
