"""Renewal: inside the renewal window, the holder of the current certificate's key gets the
next one without a slip, by signing a one-time challenge together with the new CSR.

Two steps. ``create_renewal_challenge`` hands out a nonce that lives ``challenge_lifetime``;
``renew`` takes the CSR and a signature, under the current certificate's key, over
``renewal_message(challenge_id, nonce, sha256(CSR DER))``, and issues a certificate valid until
the old one's end plus a validity period. A challenge is used once; a retry of the same CSR after
a lost answer gets the same certificate back (``created`` is ``False``).

The rules are pure functions with ``now`` passed in: ``renewal_refusal`` (is renewal open for
this certificate) and ``challenge_refusal`` (can this challenge be answered with this CSR).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import Select, bindparam, insert, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, SQLModel, col

from sync_client.keys import verify
from sync_client.protocol import StatusCode, csr_sha256, format_time, renewal_message
from sync_server import audit, crl
from sync_server.certificate_views import get_status, status_of
from sync_server.credentials import new_id
from sync_server.customers import Principal
from sync_server.errors import ErrorCode, ServiceError
from sync_server.host import Host
from sync_server.info import accepted_terms_version
from sync_server.issuance import issue_audit_detail, issue_certificate, vet_csr
from sync_server.models import Certificate, RenewalChallenge
from sync_server.prepared import execute

# The revocation reason of a certificate that a renewal replaced (RFC 5280 superseded).
SUPERSEDED = "superseded"

# -- pure rules -------------------------------------------------------------------------


def renewal_refusal(
    cert: Certificate | None, *, now: datetime, window: timedelta
) -> ServiceError | None:
    """Why ``cert`` cannot be renewed at ``now``, or ``None`` if it can: only a certificate
    that no other replaced, inside its renewal window (``expiring``), is renewed."""
    if cert is None:
        return ServiceError(
            ErrorCode.NO_CERTIFICATE, "You have no certificate to renew; apply for one."
        )
    code = status_of(cert, now=now, window=window)
    if code == StatusCode.EXPIRING and cert.superseded_at is None:
        return None
    if code == StatusCode.VALID:
        opens = format_time(cert.not_after - window)
        return ServiceError(
            ErrorCode.RENEWAL_NOT_OPEN, f"Renewal opens on {opens[:10]}.", opens_at=opens
        )
    return ServiceError(
        ErrorCode.RENEWAL_NOT_OPEN,
        f"The certificate is {code.label}: it cannot be renewed; apply for a new one.",
    )


def challenge_refusal(
    challenge: RenewalChallenge | None,
    old: Certificate | None,
    *,
    customer_id: str,
    csr_digest: str,
    now: datetime,
) -> ServiceError | None:
    """Why ``challenge`` (for the certificate ``old``) cannot be answered by ``customer_id``
    with a CSR of digest ``csr_digest`` at ``now``, or ``None`` if it can: it is fresh, or it
    was used for this very CSR and the certificate issued (a retry, see ``is_retry``)."""
    if challenge is None or challenge.customer_id != customer_id or old is None:
        return ServiceError(
            ErrorCode.CHALLENGE_INVALID, "The renewal challenge is unknown; start again."
        )
    if challenge.used_at is not None:
        return None if is_retry(challenge, csr_digest) else _challenge_used()
    if challenge.expires_at <= now:
        return ServiceError(
            ErrorCode.CHALLENGE_EXPIRED, "The renewal challenge expired; start again."
        )
    return None


def is_retry(challenge: RenewalChallenge, csr_digest: str) -> bool:
    """Whether a used challenge is being answered again with the CSR it issued for."""
    return (
        challenge.used_at is not None
        and challenge.csr_sha256 == csr_digest
        and bool(challenge.issued_serial)
    )


def _challenge_used() -> ServiceError:
    return ServiceError(ErrorCode.CHALLENGE_USED, "This renewal challenge was already used.")


# -- the challenge ----------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    id: str
    nonce_b64: str
    expires_at: datetime


def create_renewal_challenge(host: Host, principal: Principal) -> Challenge:
    now = host.now()
    status = get_status(host, principal.customer_id)
    cert = status.certificate
    refusal = renewal_refusal(cert, now=now, window=host.settings.renewal_window)
    if refusal is not None:
        raise refusal
    assert cert is not None
    challenge = Challenge(
        id=new_id(16),
        nonce_b64=base64.b64encode(secrets.token_bytes(32)).decode(),
        expires_at=now + host.settings.challenge_lifetime,
    )
    with host.db.write() as session:
        session.connection().execute(
            _INSERT_CHALLENGE,
            {
                "id": challenge.id,
                "customer_id": principal.customer_id,
                "certificate_serial": cert.serial,
                "nonce_b64": challenge.nonce_b64,
                "created_at": now,
                "expires_at": challenge.expires_at,
            },
        )
        audit.record(
            session,
            now=now,
            action="renewal_challenge",
            customer_id=principal.customer_id,
            device_kind=principal.device_kind,
        )
    return challenge


# -- renewing ---------------------------------------------------------------------------


def renew(
    host: Host,
    principal: Principal,
    *,
    challenge_id: str,
    csr_pem: str,
    signature: bytes,
    terms_version: str | None = None,
) -> tuple[Certificate, bool]:
    """Renew the current certificate. Returns ``(certificate, created)``; a retry gets ``False``.

    ``terms_version`` as at ``apply``: checked before anything else, recorded in the audit.
    """
    customer_id = principal.customer_id
    accepted = accepted_terms_version(terms_version, current=host.settings.info.terms_version)
    csr = vet_csr(csr_pem, customer_id)
    digest = csr_sha256(csr)
    now = host.now()
    window = host.settings.renewal_window
    result: Certificate | None = None
    with audit.attempt(
        host.db,
        now=now,
        action="renew",
        customer_id=customer_id,
        device_kind=principal.device_kind,
    ) as current:
        session = current.session
        challenge = _value(
            RenewalChallenge, execute(session, _CHALLENGE, {"id": challenge_id[:64]})
        )
        old = (
            _value(
                Certificate,
                execute(session, _CERTIFICATE, {"serial": challenge.certificate_serial}),
            )
            if challenge
            else None
        )
        current.refusal = challenge_refusal(
            challenge, old, customer_id=customer_id, csr_digest=digest, now=now
        )
        if current.refusal is None:
            assert challenge is not None and old is not None
            if is_retry(challenge, digest):
                assert challenge.issued_serial is not None
                result = _value(
                    Certificate,
                    execute(session, _CERTIFICATE, {"serial": challenge.issued_serial}),
                )
                current.outcome = "ok_retry"
            else:
                message = renewal_message(challenge.id, challenge.nonce_b64, digest)
                current.refusal = renewal_refusal(old, now=now, window=window)
                if current.refusal is None:
                    current.refusal = _proof_refusal(old, signature, message)
                if current.refusal is None:
                    result, current.refusal = _renew_once(
                        host, session, challenge, old, csr, digest, now
                    )
        current.detail = issue_audit_detail(result, accepted)
    assert result is not None
    return result, current.outcome == "ok"


def _proof_refusal(old: Certificate, signature: bytes, message: bytes) -> ServiceError | None:
    """``proof_invalid`` unless ``signature`` over ``message`` verifies under ``old``'s key."""
    old_cert = x509.load_pem_x509_certificate(old.cert_pem.encode())
    if verify(old_cert.public_key(), signature, message):
        return None
    return ServiceError(
        ErrorCode.PROOF_INVALID, "The renewal was not signed with the current certificate's key."
    )


def _renew_once(
    host: Host,
    session: Session,
    challenge: RenewalChallenge,
    old: Certificate,
    csr: x509.CertificateSigningRequest,
    digest: str,
    now: datetime,
) -> tuple[Certificate | None, ServiceError | None]:
    """Use the challenge up and issue the next certificate, superseding ``old`` — or the
    refusal, when a racing request (maybe on another instance) got there first."""
    taken = execute(
        session, _USE_CHALLENGE, {"challenge_id": challenge.id, "now": now, "digest": digest}
    ).first()
    if taken is None:
        return None, _challenge_used()
    new = issue_certificate(
        host,
        session,
        csr,
        customer_id=old.customer_id,
        not_before=now,
        not_after=old.not_after + host.settings.certificate_validity,
        via="renew",
    )
    superseded = execute(
        session, _SUPERSEDE, {"old_serial": old.serial, "now": now, "new_serial": new.serial}
    ).first()
    if superseded is None:
        session.rollback()
        return None, ServiceError(
            ErrorCode.RENEWAL_NOT_OPEN, "The certificate was already renewed."
        )
    crl.note_revocation(session)
    execute(session, _NOTE_ISSUED, {"challenge_id": challenge.id, "new_serial": new.serial})
    return new, None


# The statements of a renewal, built once (building one cost more Python time than running it),
# run as Core on the transaction's connection; rows are read as plain values, and only these
# UPDATEs write. The conditional ones decide a race, on however many instances.
def _columns(model: Any) -> tuple[Any, ...]:
    return tuple(model.__table__.columns)


_CHALLENGE: Select[Any] = sql_select(*_columns(RenewalChallenge)).where(
    col(RenewalChallenge.id) == bindparam("id")
)
_CERTIFICATE: Select[Any] = sql_select(*_columns(Certificate)).where(
    col(Certificate.serial) == bindparam("serial")
)
_INSERT_CHALLENGE = insert(SQLModel.metadata.tables["renewal_challenge"])
_USE_CHALLENGE = (
    update(RenewalChallenge)
    .where(col(RenewalChallenge.id) == bindparam("challenge_id"))
    .where(col(RenewalChallenge.used_at).is_(None))
    .values(used_at=bindparam("now"), csr_sha256=bindparam("digest"))
    .returning(col(RenewalChallenge.id))
)
_SUPERSEDE = (
    update(Certificate)
    .where(col(Certificate.serial) == bindparam("old_serial"))
    .where(col(Certificate.superseded_at).is_(None))
    .where(col(Certificate.revoked_at).is_(None))
    # Revoked as well (reason superseded), as brokers do: the old certificate is on the CRL
    # from this commit, so a copy left on a phone or a backup signs nothing anywhere.
    .values(
        superseded_at=bindparam("now"),
        superseded_by=bindparam("new_serial"),
        revoked_at=bindparam("now"),
        revocation_reason=SUPERSEDED,
    )
    .returning(col(Certificate.serial))
)
_NOTE_ISSUED = (
    update(RenewalChallenge)
    .where(col(RenewalChallenge.id) == bindparam("challenge_id"))
    .values(issued_serial=bindparam("new_serial"))
)


def _value(model: Any, result: Any) -> Any:
    """The first row of ``result`` as a plain ``model`` value (not tracked), or ``None``."""
    row = result.first()
    return None if row is None else model.model_construct(**row._asdict())
