"""Revocation: customer service names a certificate (by serial, the short form a customer reads
out, or the customer) and revokes it; the CRL lists it from then on (``crl``).

``parse_serial`` and ``short_serial`` are the pure rules for the serials staff type.
"""

from __future__ import annotations

import re

from sqlmodel import Session, select

from sync_client.protocol import format_serial
from sync_server import audit, crl
from sync_server.certificate_views import latest_certificate
from sync_server.customers import require_customer
from sync_server.errors import ErrorCode, ServiceError
from sync_server.host import Host
from sync_server.models import Certificate

REVOCATION_REASONS = crl.REASONS

_SHORT_SERIAL = re.compile(r"(?:0x|…|\.\.\.)?([0-9A-Fa-f]{6})")


# A whole serial: ASCII decimal or ``0x`` hex, at most 20 bytes (RFC 5280). Plain ``int()``
# would also take ``١٢٣``, ``1_000``, ``+5`` and ``-5``.
_WHOLE_SERIAL = re.compile(r"0[xX]([0-9A-Fa-f]{1,40})|([0-9]{1,49})", re.ASCII)


def parse_serial(text: str) -> str:
    """A serial as staff type it: decimal, ``0x…`` hex, or the display form ``123 (0x7B)``;
    its decimal form, or ``bad_request`` for anything else (zero included)."""
    raw = text.strip(" \t").split(" ")[0]
    match = _WHOLE_SERIAL.fullmatch(raw)
    value = 0
    if match is not None:
        value = int(match[1], 16) if match[1] is not None else int(match[2])
    if value <= 0:
        raise ServiceError(
            ErrorCode.BAD_REQUEST, f"{text[:60]!r} is not a certificate serial number."
        )
    return str(value)


def short_serial(text: str) -> str | None:
    """The short form's 6 hex digits, upper case (``018e1f`` → ``018E1F``), or ``None``."""
    match = _SHORT_SERIAL.fullmatch(text.strip())
    return match[1].upper() if match else None


def find_certificate(session: Session, text: str) -> Certificate:
    """The certificate staff mean by ``text``: its whole serial (decimal, ``0x`` hex, the display
    form) or the short form customers read out, the last 6 hex digits of the display form.

    A whole serial wins; a short one that ends several serials is ``serial_ambiguous`` (with the
    candidates, so staff can ask for more), one that ends none ``certificate_not_found``.
    """
    tail = short_serial(text)
    try:
        serial: str | None = parse_serial(text)
    except ServiceError:
        if tail is None:
            raise
        serial = None
    cert = session.get(Certificate, serial) if serial is not None else None
    if cert is not None:
        return cert
    if tail is not None:
        found = session.exec(select(Certificate).where(Certificate.serial_tail == tail)).all()
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            candidates = [f"{c.customer_id} {format_serial(int(c.serial))}" for c in found]
            raise ServiceError(
                ErrorCode.SERIAL_AMBIGUOUS,
                f"{len(found)} certificates end in {tail} ({'; '.join(candidates)}): "
                "type the whole serial, or revoke with --customer ID.",
                candidates=candidates,
            )
    shown = f"ends in {tail}" if serial is None and tail else f"has the serial {serial or text}"
    raise ServiceError(ErrorCode.CERTIFICATE_NOT_FOUND, f"No certificate {shown}.")


def revoke(
    host: Host,
    serial: str | None = None,
    *,
    reason: str,
    actor: str,
    customer_id: str | None = None,
) -> Certificate:
    """Revoke a certificate named by ``serial`` (see ``find_certificate``), or the customer's
    current one (``customer_id``): the latest issued, if it is not already revoked."""
    if reason not in REVOCATION_REASONS:
        raise ServiceError(
            ErrorCode.BAD_REQUEST, f"The reason must be one of: {', '.join(REVOCATION_REASONS)}."
        )
    if (serial is None) == (customer_id is None):
        raise ServiceError(
            ErrorCode.BAD_REQUEST, "Name the certificate by its serial or by its customer."
        )
    now = host.now()
    with host.db.write() as session:
        if serial is not None:
            cert = find_certificate(session, serial)
        else:
            assert customer_id is not None
            require_customer(session, customer_id)
            latest = latest_certificate(session, customer_id)
            if latest is None:
                raise ServiceError(
                    ErrorCode.NO_CERTIFICATE, f"The customer {customer_id} has no certificate."
                )
            cert = latest
        if cert.revoked_at is not None:
            raise ServiceError(
                ErrorCode.ALREADY_REVOKED, f"The certificate {cert.serial} is already revoked."
            )
        cert.revoked_at, cert.revocation_reason = now, reason
        session.add(cert)
        crl.note_revocation(session)
        audit.record(
            session,
            now=now,
            action="revoke",
            actor=actor,
            customer_id=cert.customer_id,
            detail=f"serial {cert.serial} reason {reason}",
        )
    return cert


def build_crl_der(host: Host) -> bytes:
    """A freshly signed CRL (DER); the server serves ``crl.CrlCache``'s instead."""
    return crl.sign_crl(host, now=host.now()).der
