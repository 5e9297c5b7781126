"""Apply: a customer without a valid certificate gets one against their enrollment slip.

In order: the terms (accepted, and the current version), the CSR (``issuance.vet_csr``) and its
signature (``issuance.sign_certificate``), then in one short write transaction the rules of
``enrollment`` (no valid certificate yet; the slip usable and its code right, used up here), the
new certificate's row, and the one it replaces marked superseded. A refusal after the slip check
is recorded and committed, then raised (the certificate signed for it is dropped unseen).
"""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlmodel import col

from sync_server import audit
from sync_server.customers import Principal
from sync_server.enrollment import take_slip
from sync_server.errors import ErrorCode, ServiceError
from sync_server.host import Host
from sync_server.info import accepted_terms_version
from sync_server.issuance import issue_audit_detail, sign_certificate, store_certificate, vet_csr
from sync_server.models import Certificate
from sync_server.prepared import execute


def apply(
    host: Host,
    principal: Principal,
    *,
    enrollment_code: str,
    terms_accepted: bool,
    csr_pem: str,
    terms_version: str | None = None,
) -> Certificate:
    """Issue a first (or fresh) certificate against the customer's enrollment slip.

    ``terms_version`` is the version of the terms the customer accepted; ``None`` from a
    client too old to send it (recorded as unknown), refused when it is not the current one.
    """
    customer_id = principal.customer_id
    if terms_accepted is not True:
        raise ServiceError(ErrorCode.TERMS_NOT_ACCEPTED, "You must accept the terms to apply.")
    accepted = accepted_terms_version(terms_version, current=host.settings.info.terms_version)
    csr = vet_csr(csr_pem, customer_id)
    now = host.now()
    # Signed before the write transaction, which then only reads and writes rows.
    signed = sign_certificate(
        host,
        csr,
        customer_id=customer_id,
        not_before=now,
        not_after=now + host.settings.certificate_validity,
        via="apply",
    )
    issued: Certificate | None = None
    with audit.attempt(
        host.db,
        now=now,
        action="apply",
        customer_id=customer_id,
        device_kind=principal.device_kind,
    ) as current:
        session = current.session
        latest, slip = take_slip(host, current, customer_id, enrollment_code, now, consume=True)
        if slip is not None:
            issued = store_certificate(host, session, signed)
            if latest is not None and latest.superseded_at is None:
                execute(
                    session,
                    _SUPERSEDE,
                    {"old_serial": latest.serial, "now": now, "new_serial": issued.serial},
                )
        current.detail = issue_audit_detail(issued, accepted)
    assert issued is not None
    return issued


# Built once, like the slip's UPDATEs: the certificate an apply replaces is marked superseded.
_SUPERSEDE = (
    update(Certificate)
    .where(col(Certificate.serial) == bindparam("old_serial"))
    .where(col(Certificate.superseded_at).is_(None))
    .values(superseded_at=bindparam("now"), superseded_by=bindparam("new_serial"))
)
