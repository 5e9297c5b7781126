"""Certificates: status, apply, renewal, re-download, revocation and the CRL.

The rules are plain functions over values with ``now`` passed in (``status_of``,
``slip_refusal``, ``vet_csr``); the service functions around them do the I/O. A refusal
that must leave a trace (a wrong enrollment code, a spent challenge) is recorded and committed
first, then raised — so the trace survives and nothing else changes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from sync_client.keys import verify
from sync_client.protocol import StatusCode, format_serial, format_time, renewal_message
from sync_server import audit, crl
from sync_server.ca import new_serial
from sync_server.credentials import (
    hash_enrollment_code,
    hash_token,
    new_enrollment_code,
    new_id,
    normalize_enrollment_code,
    same_hash,
)
from sync_server.customers import Principal, require_live
from sync_server.errors import BadRequest, Conflict, Forbidden, NotFound, ServiceError
from sync_server.host import Host
from sync_server.info import accepted_terms_version, terms_audit_detail
from sync_server.models import (
    Certificate,
    Customer,
    EnrollmentCode,
    LoginSession,
    RedownloadGrant,
    RenewalChallenge,
)

REVOCATION_REASONS = crl.REASONS


# -- pure rules -------------------------------------------------------------------------


def status_of(cert: Certificate | None, *, now: datetime, window: Any) -> StatusCode:
    """The status code of a customer whose latest certificate is ``cert``."""
    if cert is None:
        return StatusCode.NONE
    if cert.revoked_at is not None:
        return StatusCode.REVOKED
    if cert.not_after <= now:
        return StatusCode.EXPIRED
    if cert.not_after - window <= now:
        return StatusCode.EXPIRING
    return StatusCode.VALID


def is_valid(code: StatusCode) -> bool:
    return code in (StatusCode.VALID, StatusCode.EXPIRING)


def vet_csr(csr_pem: object, customer_id: str) -> x509.CertificateSigningRequest:
    """Parse a CSR and check proof of possession, subject and key; refuse with a clear code."""
    if not isinstance(csr_pem, str) or len(csr_pem) > 16384:
        raise BadRequest("csr_invalid", "csr_pem must be a PEM certificate request.")
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError:
        raise BadRequest(
            "csr_invalid", "csr_pem is not a PEM PKCS#10 certificate request."
        ) from None
    try:
        signature_ok = csr.is_signature_valid
    except Exception:  # an unsupported signature algorithm cannot be verified
        signature_ok = False
    if not signature_ok:
        raise BadRequest(
            "csr_signature_invalid", "The request's signature does not verify under its own key."
        )
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or names[0].value != customer_id:
        raise BadRequest(
            "csr_subject_mismatch", f"The request's CN must be the customer ID {customer_id}."
        )
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if not 2048 <= key.key_size <= 8192:
            raise BadRequest("csr_key_unsupported", "RSA keys must have 2048 to 8192 bits.")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1 | ec.SECP384R1):
            raise BadRequest("csr_key_unsupported", "EC keys must be on P-256 or P-384.")
    else:
        raise BadRequest("csr_key_unsupported", "The key must be RSA (2048+) or EC P-256/P-384.")
    return csr


def csr_sha256(csr: x509.CertificateSigningRequest) -> str:
    return hashlib.sha256(csr.public_bytes(serialization.Encoding.DER)).hexdigest()


# -- views ------------------------------------------------------------------------------


def certificate_json(cert: Certificate, *, now: datetime, window: Any) -> dict[str, Any]:
    state = "superseded" if cert.superseded_at else status_of(cert, now=now, window=window).label
    return {
        "customer_id": cert.customer_id,
        "serial": cert.serial,
        "serial_display": format_serial(int(cert.serial)),
        "subject_cn": cert.customer_id,
        "not_before": format_time(cert.not_before),
        "not_after": format_time(cert.not_after),
        "fingerprint_sha256": cert.fingerprint_sha256,
        "status": state,
        "cert_pem": cert.cert_pem,
    }


# Built once: status, apply, renewal and re-download all run it, and building a SELECT costs
# more Python time than SQLite takes to answer it.
_LATEST_CERTIFICATE = (
    select(Certificate)
    .where(Certificate.customer_id == bindparam("customer_id"))
    .order_by(col(Certificate.issued_at).desc(), col(Certificate.not_after).desc())
    .limit(1)
)


def latest_certificate(session: Session, customer_id: str) -> Certificate | None:
    return session.exec(_LATEST_CERTIFICATE, params={"customer_id": customer_id}).first()


@dataclass(frozen=True)
class Status:
    customer_id: str
    code: StatusCode
    certificate: Certificate | None
    renewal_opens_at: datetime | None


def _status(customer_id: str, cert: Certificate | None, *, now: datetime, window: Any) -> Status:
    code = status_of(cert, now=now, window=window)
    opens = cert.not_after - window if cert is not None and is_valid(code) else None
    return Status(customer_id, code, cert, opens)


def get_status(host: Host, customer_id: str) -> Status:
    with host.db.read() as session:
        cert = latest_certificate(session, customer_id)
    return _status(customer_id, cert, now=host.now(), window=host.settings.renewal_window)


# The busiest call: the session and the latest certificate in one query, not two (each ORM
# round trip costs more Python time than SQLite takes to answer it).
_CALLER_STATUS = (
    select(LoginSession, Certificate)
    .outerjoin(Certificate, col(Certificate.customer_id) == col(LoginSession.customer_id))
    .where(col(LoginSession.token_hash) == bindparam("token_hash"))
    .order_by(col(Certificate.issued_at).desc(), col(Certificate.not_after).desc())
    .limit(1)
)


def status_for_token(host: Host, token: str) -> Status:
    """The status of the customer behind a bearer token, or ``unauthenticated``."""
    with host.db.read() as session:
        row = session.exec(_CALLER_STATUS, params={"token_hash": hash_token(token)}).first()
    now = host.now()
    login = require_live(row[0] if row else None, now)
    cert = row[1] if row else None
    return _status(login.customer_id, cert, now=now, window=host.settings.renewal_window)


def status_json(host: Host, status: Status) -> dict[str, Any]:
    now, window = host.now(), host.settings.renewal_window
    return {
        "customer_id": status.customer_id,
        "code": int(status.code),
        "label": status.code.label,
        "certificate": (
            certificate_json(status.certificate, now=now, window=window)
            if status.certificate
            else None
        ),
        "renewal_opens_at": format_time(status.renewal_opens_at)
        if status.renewal_opens_at
        else None,
        "chain_pem": host.ca.chain_pem,
    }


def issued_json(host: Host, cert: Certificate) -> dict[str, Any]:
    return {
        "certificate": certificate_json(cert, now=host.now(), window=host.settings.renewal_window),
        "chain_pem": host.ca.chain_pem,
    }


def _issue(
    host: Host,
    session: Session,
    csr: x509.CertificateSigningRequest,
    *,
    customer_id: str,
    not_before: datetime,
    not_after: datetime,
    via: str,
) -> Certificate:
    serial = new_serial()
    issued = host.ca.issue_certificate(
        csr,
        subject_cn=customer_id,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        crl_url=host.crl_url,
    )
    der = issued.public_bytes(serialization.Encoding.DER)
    row = Certificate(
        serial=str(serial),
        customer_id=customer_id,
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
        not_before=not_before,
        not_after=not_after,
        issued_at=host.now(),
        issued_via=via,
        cert_pem=issued.public_bytes(serialization.Encoding.PEM).decode(),
    )
    session.add(row)
    return row


# -- enrollment slips -------------------------------------------------------------------


@dataclass(frozen=True)
class EnrollmentSlip:
    customer_id: str
    code: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"EnrollmentSlip(customer_id={self.customer_id!r}, code='*****')"


def issue_enrollment_code(host: Host, customer_id: str, *, actor: str) -> EnrollmentSlip:
    """A new slip for the customer; any earlier slip stops working."""
    now = host.now()
    code = new_enrollment_code()
    expires_at = now + host.settings.enrollment_code_lifetime
    with host.db.write() as session:
        _require_customer(session, customer_id)
        session.exec(
            update(EnrollmentCode)
            .where(col(EnrollmentCode.customer_id) == customer_id)
            .where(col(EnrollmentCode.superseded_at).is_(None))
            .values(superseded_at=now)
        )
        session.add(
            EnrollmentCode(
                customer_id=customer_id,
                code_hash=hash_enrollment_code(customer_id, code),
                created_at=now,
                expires_at=expires_at,
                issued_by=actor,
            )
        )
        audit.record(
            session, now=now, action="enrollment_code_issue", actor=actor, customer_id=customer_id
        )
    return EnrollmentSlip(customer_id, code, expires_at)


def _require_customer(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer_not_found", f"There is no customer {customer_id}.")
    return customer


# Built once, like ``_LATEST_CERTIFICATE``: every apply reads the customer's current slip.
_CURRENT_SLIP = (
    select(EnrollmentCode)
    .where(EnrollmentCode.customer_id == bindparam("customer_id"))
    .where(col(EnrollmentCode.superseded_at).is_(None))
    .order_by(col(EnrollmentCode.id).desc())
    .limit(1)
)
_SUPERSEDED_SLIP_HASHES = (
    select(EnrollmentCode.code_hash)
    .where(EnrollmentCode.customer_id == bindparam("customer_id"))
    .where(col(EnrollmentCode.superseded_at).is_not(None))
)


def _code_locked() -> ServiceError:
    return Forbidden(
        "enrollment_code_locked", "Too many wrong enrollment codes: ask the branch for a new slip."
    )


def slip_refusal(slip: EnrollmentCode, *, now: datetime, max_attempts: int) -> ServiceError | None:
    """Why the customer's current slip cannot be used at ``now``, or ``None`` if it can.

    Used, locked (``max_attempts`` wrong codes) or expired: whatever code is typed, the slip
    is dead, so the code is not even compared (and a try is not counted).
    """
    if slip.used_at is not None:
        return Forbidden("enrollment_code_used", "This enrollment code was already used.")
    if slip.failed_attempts >= max_attempts:
        return _code_locked()
    if slip.expires_at <= now:
        return Forbidden(
            "enrollment_code_expired",
            "The enrollment code has expired: ask the branch for a new slip.",
        )
    return None


def _already_valid(
    latest: Certificate | None, *, now: datetime, window: Any
) -> ServiceError | None:
    """Apply (and the slip check before it) is only for a customer without a valid certificate."""
    if is_valid(status_of(latest, now=now, window=window)):
        return Conflict(
            "certificate_already_valid",
            "You already hold a valid certificate; renew it or re-download it instead.",
        )
    return None


def _require_code_shape(enrollment_code: object) -> str:
    if not isinstance(enrollment_code, str) or not 1 <= len(enrollment_code) <= 64:
        raise BadRequest("bad_request", "enrollment_code must be a string.")
    return enrollment_code


def _take_enrollment_code(
    host: Host, session: Session, customer_id: str, typed: str, now: datetime, *, consume: bool
) -> EnrollmentCode | ServiceError:
    """The customer's current slip if ``typed`` is its code and the slip is usable (used up
    when ``consume``), or the refusal to record and raise.

    A wrong code counts as a try against the current slip. The code of a slip that a newer
    one replaced does not: it is no guess, the customer holds an old slip, and is told so.
    """
    max_attempts = host.settings.enrollment_max_attempts
    slip = session.exec(_CURRENT_SLIP, params={"customer_id": customer_id}).first()
    if slip is not None:
        refusal = slip_refusal(slip, now=now, max_attempts=max_attempts)
        if refusal is not None:
            return refusal
    typed_hash = hash_enrollment_code(customer_id, normalize_enrollment_code(typed))
    if slip is None or not same_hash(typed_hash, slip.code_hash):
        superseded = session.exec(_SUPERSEDED_SLIP_HASHES, params={"customer_id": customer_id})
        if any(same_hash(typed_hash, old) for old in superseded.all()):
            return Forbidden(
                "enrollment_code_superseded",
                "A newer enrollment slip was issued to you: use the code on the newest slip.",
            )
        if slip is None:
            return Forbidden(
                "enrollment_code_invalid",
                "The enrollment code is wrong; check the slip (codes are case-sensitive).",
            )
        # Counted before the UPDATE: the session synchronizes ``slip`` with the new count.
        left = max_attempts - slip.failed_attempts - 1
        session.exec(
            update(EnrollmentCode)
            .where(col(EnrollmentCode.id) == slip.id)
            .values(failed_attempts=EnrollmentCode.failed_attempts + 1)
        )
        if left <= 0:
            return _code_locked()
        return Forbidden(
            "enrollment_code_invalid",
            f"The enrollment code is wrong (codes are case-sensitive); {left} tries left.",
            tries_left=left,
        )
    if consume:
        consumed = session.exec(
            update(EnrollmentCode)
            .where(col(EnrollmentCode.id) == slip.id)
            .where(col(EnrollmentCode.used_at).is_(None))
            .where(col(EnrollmentCode.superseded_at).is_(None))
            .where(col(EnrollmentCode.failed_attempts) < max_attempts)
            .values(used_at=now)
        )
        if consumed.rowcount != 1:  # another request (maybe on another instance) won the slip
            return Forbidden("enrollment_code_used", "This enrollment code was already used.")
    return slip


def check_enrollment_code(host: Host, principal: Principal, *, enrollment_code: object) -> datetime:
    """Check the code on the customer's slip before the other prompts; returns its expiry.

    The slip is not used up. Everything else is as at apply: a wrong code counts as a try (the
    same counter), a superseded slip is told apart, and every check is in the audit trail.
    """
    customer_id = principal.customer_id
    typed = _require_code_shape(enrollment_code)
    now = host.now()
    refusal: ServiceError | None = None
    expires_at: datetime | None = None
    with host.db.write() as session:
        latest = latest_certificate(session, customer_id)
        refusal = _already_valid(latest, now=now, window=host.settings.renewal_window)
        if refusal is None:
            taken = _take_enrollment_code(host, session, customer_id, typed, now, consume=False)
            if isinstance(taken, ServiceError):
                refusal = taken
            else:
                expires_at = taken.expires_at
        audit.record(
            session,
            now=now,
            action="enrollment_check",
            outcome=refusal.code if refusal else "ok",
            customer_id=customer_id,
            device_kind=principal.device_kind,
        )
    if refusal is not None:
        raise refusal
    assert expires_at is not None
    return expires_at


# -- apply ------------------------------------------------------------------------------


def _audit_detail(cert: Certificate | None, terms_version: str | None) -> str:
    serial = f"serial {cert.serial} " if cert is not None else ""
    return serial + terms_audit_detail(terms_version)


def apply(
    host: Host,
    principal: Principal,
    *,
    enrollment_code: object,
    terms_accepted: object,
    csr_pem: object,
    terms_version: object = None,
) -> Certificate:
    """Issue a first (or fresh) certificate against the customer's enrollment slip.

    ``terms_version`` is the version of the terms the customer accepted; ``None`` from a
    client too old to send it (recorded as unknown), refused when it is not the current one.
    """
    customer_id = principal.customer_id
    if terms_accepted is not True:
        raise BadRequest("terms_not_accepted", "You must accept the terms to apply.")
    accepted = accepted_terms_version(terms_version, current=host.settings.info.terms_version)
    typed = _require_code_shape(enrollment_code)
    csr = vet_csr(csr_pem, customer_id)
    now = host.now()
    refusal: ServiceError | None = None
    issued: Certificate | None = None
    with host.db.write() as session:
        latest = latest_certificate(session, customer_id)
        refusal = _already_valid(latest, now=now, window=host.settings.renewal_window)
        if refusal is None:
            taken = _take_enrollment_code(host, session, customer_id, typed, now, consume=True)
            refusal = taken if isinstance(taken, ServiceError) else None
        if refusal is None:
            issued = _issue(
                host,
                session,
                csr,
                customer_id=customer_id,
                not_before=now,
                not_after=now + host.settings.certificate_validity,
                via="apply",
            )
            if latest is not None and latest.superseded_at is None:
                latest.superseded_at, latest.superseded_by = now, issued.serial
                session.add(latest)
        audit.record(
            session,
            now=now,
            action="apply",
            outcome=refusal.code if refusal else "ok",
            customer_id=customer_id,
            device_kind=principal.device_kind,
            detail=_audit_detail(issued, accepted),
        )
    if refusal is not None:
        raise refusal
    assert issued is not None
    return issued


# -- renewal ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    id: str
    nonce_b64: str
    expires_at: datetime


def _renewal_refusal(
    cert: Certificate | None, code: StatusCode, opens: datetime | None
) -> ServiceError:
    if cert is None:
        return NotFound("no_certificate", "You have no certificate to renew; apply for one.")
    if opens is not None and code == StatusCode.VALID:
        return Conflict(
            "renewal_not_open",
            f"Renewal opens on {format_time(opens)[:10]}.",
            opens_at=format_time(opens),
        )
    return Conflict(
        "renewal_not_open",
        f"The certificate is {code.label}: it cannot be renewed; apply for a new one.",
    )


def create_renewal_challenge(host: Host, principal: Principal) -> Challenge:
    status = get_status(host, principal.customer_id)
    if status.code != StatusCode.EXPIRING or status.certificate is None:
        raise _renewal_refusal(status.certificate, status.code, status.renewal_opens_at)
    now = host.now()
    challenge = Challenge(
        id=new_id(16),
        nonce_b64=base64.b64encode(secrets.token_bytes(32)).decode(),
        expires_at=now + host.settings.challenge_lifetime,
    )
    with host.db.write() as session:
        session.add(
            RenewalChallenge(
                id=challenge.id,
                customer_id=principal.customer_id,
                certificate_serial=status.certificate.serial,
                nonce_b64=challenge.nonce_b64,
                created_at=now,
                expires_at=challenge.expires_at,
            )
        )
        audit.record(
            session,
            now=now,
            action="renewal_challenge",
            customer_id=principal.customer_id,
            device_kind=principal.device_kind,
        )
    return challenge


def renew(
    host: Host,
    principal: Principal,
    *,
    challenge_id: object,
    csr_pem: object,
    signature: object,
    terms_version: object = None,
) -> tuple[Certificate, bool]:
    """Renew the current certificate. Returns ``(certificate, created)``; a retry gets ``False``.

    ``terms_version`` as at ``apply``: checked before anything else, recorded in the audit.
    """
    customer_id = principal.customer_id
    if not isinstance(challenge_id, str) or not isinstance(signature, str):
        raise BadRequest("bad_request", "challenge_id and signature must be strings.")
    accepted = accepted_terms_version(terms_version, current=host.settings.info.terms_version)
    csr = vet_csr(csr_pem, customer_id)
    digest = csr_sha256(csr)
    try:
        signature_bytes = base64.b64decode(signature, validate=True)
    except ValueError:
        raise BadRequest("bad_request", "signature must be base64.") from None
    now = host.now()
    refusal: ServiceError | None = None
    result: Certificate | None = None
    created = False
    with host.db.write() as session:
        challenge = session.get(RenewalChallenge, challenge_id[:64])
        old = session.get(Certificate, challenge.certificate_serial) if challenge else None
        if challenge is None or challenge.customer_id != customer_id or old is None:
            refusal = Forbidden(
                "challenge_invalid", "The renewal challenge is unknown; start again."
            )
        elif challenge.used_at is not None:
            if challenge.csr_sha256 == digest and challenge.issued_serial:
                result = session.get(Certificate, challenge.issued_serial)  # a retry
            else:
                refusal = Conflict("challenge_used", "This renewal challenge was already used.")
        elif challenge.expires_at <= now:
            refusal = Forbidden("challenge_expired", "The renewal challenge expired; start again.")
        else:
            message = renewal_message(challenge.id, challenge.nonce_b64, digest)
            old_cert = x509.load_pem_x509_certificate(old.cert_pem.encode())
            code = status_of(old, now=now, window=host.settings.renewal_window)
            if old.superseded_at is not None or code != StatusCode.EXPIRING:
                refusal = _renewal_refusal(old, code, old.not_after - host.settings.renewal_window)
            elif not verify(old_cert.public_key(), signature_bytes, message):
                refusal = Forbidden(
                    "proof_invalid",
                    "The renewal was not signed with the current certificate's key.",
                )
            else:
                result, created, refusal = _renew_once(
                    host, session, challenge, old, csr, digest, now
                )
        audit.record(
            session,
            now=now,
            action="renew",
            outcome=refusal.code if refusal else ("ok" if created else "ok_retry"),
            customer_id=customer_id,
            device_kind=principal.device_kind,
            detail=_audit_detail(result, accepted),
        )
    if refusal is not None:
        raise refusal
    assert result is not None
    return result, created


def _renew_once(
    host: Host,
    session: Session,
    challenge: RenewalChallenge,
    old: Certificate,
    csr: x509.CertificateSigningRequest,
    digest: str,
    now: datetime,
) -> tuple[Certificate | None, bool, ServiceError | None]:
    taken = session.exec(
        update(RenewalChallenge)
        .where(col(RenewalChallenge.id) == challenge.id)
        .where(col(RenewalChallenge.used_at).is_(None))
        .values(used_at=now, csr_sha256=digest)
    )
    if taken.rowcount != 1:
        return None, False, Conflict("challenge_used", "This renewal challenge was already used.")
    new = _issue(
        host,
        session,
        csr,
        customer_id=old.customer_id,
        not_before=now,
        not_after=old.not_after + host.settings.certificate_validity,
        via="renew",
    )
    superseded = session.exec(
        update(Certificate)
        .where(col(Certificate.serial) == old.serial)
        .where(col(Certificate.superseded_at).is_(None))
        .where(col(Certificate.revoked_at).is_(None))
        .values(superseded_at=now, superseded_by=new.serial)
    )
    if superseded.rowcount != 1:
        session.rollback()
        return None, False, Conflict("renewal_not_open", "The certificate was already renewed.")
    session.exec(
        update(RenewalChallenge)
        .where(col(RenewalChallenge.id) == challenge.id)
        .values(issued_serial=new.serial)
    )
    return new, True, None


# -- re-download ------------------------------------------------------------------------


def open_redownload(host: Host, customer_id: str, *, actor: str) -> datetime:
    now = host.now()
    expires_at = now + host.settings.redownload_lifetime
    with host.db.write() as session:
        _require_customer(session, customer_id)
        if latest_certificate(session, customer_id) is None:
            raise NotFound("no_certificate", f"The customer {customer_id} has no certificate.")
        session.exec(
            update(RedownloadGrant)
            .where(col(RedownloadGrant.customer_id) == customer_id)
            .where(col(RedownloadGrant.superseded_at).is_(None))
            .values(superseded_at=now)
        )
        session.add(
            RedownloadGrant(
                customer_id=customer_id, opened_by=actor, created_at=now, expires_at=expires_at
            )
        )
        audit.record(
            session, now=now, action="redownload_open", actor=actor, customer_id=customer_id
        )
    return expires_at


def redownload(host: Host, principal: Principal) -> Certificate:
    customer_id = principal.customer_id
    now = host.now()
    refusal: ServiceError | None = None
    cert: Certificate | None = None
    with host.db.write() as session:
        grant = session.exec(
            select(RedownloadGrant)
            .where(RedownloadGrant.customer_id == customer_id)
            .where(col(RedownloadGrant.superseded_at).is_(None))
            .order_by(col(RedownloadGrant.id).desc())
            .limit(1)
        ).first()
        cert = latest_certificate(session, customer_id)
        if grant is None or cert is None:
            refusal = Forbidden(
                "redownload_not_open",
                "Re-download is not open for you: ask customer service to open it.",
            )
        elif grant.used_at is not None:
            refusal = Conflict(
                "redownload_used", "The re-download was already used: ask customer service again."
            )
        elif grant.expires_at <= now:
            refusal = Forbidden(
                "redownload_expired", "The re-download has expired: ask customer service again."
            )
        else:
            taken = session.exec(
                update(RedownloadGrant)
                .where(col(RedownloadGrant.id) == grant.id)
                .where(col(RedownloadGrant.used_at).is_(None))
                .values(used_at=now)
            )
            if taken.rowcount != 1:
                refusal = Conflict("redownload_used", "The re-download was already used.")
        audit.record(
            session,
            now=now,
            action="redownload",
            outcome=refusal.code if refusal else "ok",
            customer_id=customer_id,
            device_kind=principal.device_kind,
            detail=f"serial {cert.serial}" if cert and not refusal else "",
        )
    if refusal is not None:
        raise refusal
    assert cert is not None
    return cert


# -- revocation and the CRL -------------------------------------------------------------


_SHORT_SERIAL = re.compile(r"(?:0x|…|\.\.\.)?([0-9A-Fa-f]{6})")


def parse_serial(text: str) -> str:
    """A serial as staff type it: decimal, ``0x…`` hex, or the display form ``123 (0x7B)``."""
    raw = text.strip().split(" ")[0]
    try:
        value = int(raw, 16) if raw.lower().startswith("0x") else int(raw)
    except ValueError:
        raise BadRequest("bad_request", f"{text!r} is not a certificate serial number.") from None
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
    except BadRequest:
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
            raise Conflict(
                "serial_ambiguous",
                f"{len(found)} certificates end in {tail} ({'; '.join(candidates)}): "
                "type the whole serial, or revoke with --customer ID.",
                candidates=candidates,
            )
    shown = f"ends in {tail}" if serial is None and tail else f"has the serial {serial or text}"
    raise NotFound("certificate_not_found", f"No certificate {shown}.")


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
        raise BadRequest(
            "bad_request", f"The reason must be one of: {', '.join(REVOCATION_REASONS)}."
        )
    if (serial is None) == (customer_id is None):
        raise BadRequest("bad_request", "Name the certificate by its serial or by its customer.")
    now = host.now()
    with host.db.write() as session:
        if serial is not None:
            cert = find_certificate(session, serial)
        else:
            assert customer_id is not None
            _require_customer(session, customer_id)
            latest = latest_certificate(session, customer_id)
            if latest is None:
                raise NotFound("no_certificate", f"The customer {customer_id} has no certificate.")
            cert = latest
        if cert.revoked_at is not None:
            raise Conflict("already_revoked", f"The certificate {cert.serial} is already revoked.")
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


def list_certificates(host: Host, customer_id: str | None = None) -> list[Certificate]:
    with host.db.read() as session:
        query = select(Certificate).order_by(col(Certificate.issued_at))
        if customer_id is not None:
            query = query.where(Certificate.customer_id == customer_id)
        return list(session.exec(query).all())
