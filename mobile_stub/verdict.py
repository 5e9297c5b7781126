"""The phone's certificate against the host's records: what ``pair`` accepts, what ``status`` says.

Pure functions over values already fetched, so each rule can be tested without a server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from mobile_stub.errors import PairingRefused
from mobile_stub.messages import status_label
from sync_client.api import HostStatus
from sync_client.chain import issued_by_ca
from sync_client.codes import ErrorCode
from sync_client.errors import ClientCode
from sync_client.i18n import msg
from sync_client.keys import key_matches_certificate
from sync_client.pfx import LoadedPfx
from sync_client.verdict import check_match

MATCH = "match"
NONE_ON_PHONE = "none_on_phone"
MISMATCH = "mismatch"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Verdict:
    """The outcome of the certificate check (function 1), as the phone shows it: ``code`` for
    programs, ``message`` and ``advice`` in the customer's language."""

    code: str
    message: str
    advice: str | None = None


def check_received_pfx(
    loaded: LoadedPfx,
    *,
    customer_id: str,
    host: HostStatus,
    ca_certs: Sequence[x509.Certificate],
) -> None:
    """Refuse a received PFX the phone must not store; return quietly if it may.

    Checks, in order: the key belongs to the certificate (``pfx_invalid``, normally already
    refused when the PFX was opened), the certificate names the logged-in customer
    (``pfx_wrong_customer``), it was issued by the host's CA ``ca_certs`` (``GET /api/v1/ca``,
    never the certificates inside the PFX; ``pfx_foreign_ca``), and it is the host's current
    valid certificate (``certificate_not_current``).
    """
    if not key_matches_certificate(loaded.key, loaded.cert):
        raise PairingRefused(msg("phone.pair.key_mismatch"), code=ClientCode.PFX_INVALID)
    if loaded.customer_id != customer_id:
        raise PairingRefused(
            msg("phone.pair.wrong_customer", owner=loaded.customer_id, id=customer_id),
            code=ClientCode.PFX_WRONG_CUSTOMER,
        )
    if not issued_by_ca(loaded.cert, ca_certs):
        raise PairingRefused(msg("phone.pair.foreign_ca"), code=ClientCode.PFX_FOREIGN_CA)
    current = host.certificate
    if not host.is_valid or current is None:
        raise PairingRefused(
            msg(
                "phone.pair.host_not_valid",
                id=customer_id,
                status=status_label(host.code, host.label),
            ),
            code=ErrorCode.CERTIFICATE_NOT_CURRENT,
        )
    if current.fingerprint_sha256 != loaded.fingerprint_sha256:
        raise PairingRefused(
            msg(
                "phone.pair.not_current",
                serial=current.serial_display,
                advice=msg("phone.advice.pair_again"),
            ),
            code=ErrorCode.CERTIFICATE_NOT_CURRENT,
        )


def match_verdict(host: HostStatus, *, on_phone: bool, phone_fingerprint: str | None) -> Verdict:
    """Compare the host's current certificate with the phone's.

    ``on_phone`` says whether the keystore has a file for the customer; ``phone_fingerprint``
    is its certificate's SHA-256, or ``None`` when the file cannot be described.
    """
    if not on_phone:
        return Verdict(
            NONE_ON_PHONE, msg("phone.verdict.none_on_phone"), msg("phone.advice.pair_again")
        )
    if phone_fingerprint is None:
        return Verdict(UNREADABLE, msg("phone.verdict.unreadable"), msg("phone.advice.pair_again"))
    check = check_match(
        host_code=host.code,
        host_fingerprint=host.certificate.fingerprint_sha256 if host.certificate else None,
        local_fingerprint=phone_fingerprint,
    )
    # On the phone "match" means usable: the host's latest certificate, and a valid one.
    if check.usable:
        return Verdict(MATCH, msg("phone.verdict.match"))
    # 憑證不相符, the original's own words, shared with pc-client.
    return Verdict(MISMATCH, msg("verdict.mismatch"), msg("phone.advice.pair_again"))
