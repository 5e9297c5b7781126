"""The phone's certificate against the host's records: what ``pair`` accepts, what ``status`` says.

Pure functions over values already fetched, so each rule can be tested without a server.
"""

from __future__ import annotations

from dataclasses import dataclass

from mobile_stub.errors import PairingRefused
from sync_client.api import HostStatus
from sync_client.keys import key_matches_certificate
from sync_client.pfx import LoadedPfx
from sync_client.verdict import check_match

MATCH = "match"
NONE_ON_PHONE = "none_on_phone"
MISMATCH = "mismatch"
UNREADABLE = "unreadable"

_ADVICE = (
    "Put the latest valid certificate on this phone: run pc-client pair on the PC and "
    "mobile-stub pair here."
)


@dataclass(frozen=True)
class Verdict:
    """The outcome of the certificate check (function 1), as the phone shows it."""

    code: str
    message: str
    advice: str | None = None


def check_received_pfx(loaded: LoadedPfx, *, customer_id: str, host: HostStatus) -> None:
    """Refuse a received PFX the phone must not store; return quietly if it may.

    Checks, in order: the key belongs to the certificate (``pfx_invalid``, normally already
    refused when the PFX was opened), the certificate names the logged-in customer
    (``pfx_wrong_customer``), and it is the host's current valid certificate
    (``certificate_not_current``).
    """
    if not key_matches_certificate(loaded.key, loaded.cert):
        raise PairingRefused(
            "The private key in the received file does not match its certificate.",
            code="pfx_invalid",
        )
    if loaded.customer_id != customer_id:
        raise PairingRefused(
            f"The received certificate belongs to {loaded.customer_id}, but the phone is logged "
            f"in as {customer_id}.",
            code="pfx_wrong_customer",
        )
    current = host.certificate
    if not host.is_valid or current is None:
        raise PairingRefused(
            f"The host has no valid certificate for {customer_id} (status {host.code} "
            f"{host.label}); the received one cannot be used.",
            code="certificate_not_current",
        )
    if current.fingerprint_sha256 != loaded.fingerprint_sha256:
        raise PairingRefused(
            "The received certificate is not your current valid certificate at the host "
            f"(the host has serial {current.serial_display}). {_ADVICE}",
            code="certificate_not_current",
        )


def match_verdict(host: HostStatus, *, on_phone: bool, phone_fingerprint: str | None) -> Verdict:
    """Compare the host's current certificate with the phone's.

    ``on_phone`` says whether the keystore has a file for the customer; ``phone_fingerprint``
    is its certificate's SHA-256, or ``None`` when the file cannot be described.
    """
    if not on_phone:
        return Verdict(
            NONE_ON_PHONE,
            "No certificate on this phone matches the host (您的手機中沒有與主機相同之憑證).",
            _ADVICE,
        )
    if phone_fingerprint is None:
        return Verdict(
            UNREADABLE,
            "The certificate file on this phone cannot be described without its password.",
            _ADVICE,
        )
    check = check_match(
        host_code=host.code,
        host_fingerprint=host.certificate.fingerprint_sha256 if host.certificate else None,
        local_fingerprint=phone_fingerprint,
    )
    # On the phone "match" means usable: the host's latest certificate, and a valid one.
    if check.usable:
        return Verdict(MATCH, "The certificate on this phone matches the host (憑證相符).")
    return Verdict(MISMATCH, "Certificate mismatch (憑證不相符).", _ADVICE)
