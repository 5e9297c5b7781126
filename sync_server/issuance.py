"""Issuing a certificate from a customer's CSR: vet the request, sign it, store the row.

Apply and renewal both end here (apply signs before its write transaction, renewal inside it,
since the new certificate's end follows the old one's). ``vet_csr`` is the rule for what the
CA signs (pure): a PKCS#10 request whose signature verifies under its own key (proof of
possession), whose only CN is the customer ID, with an RSA 2048-8192 or EC P-256/P-384 key.
The wire models bound the PEM's type and length before a request gets this far.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import insert
from sqlmodel import Session, SQLModel

from sync_server.ca import new_serial
from sync_server.errors import ErrorCode, ServiceError
from sync_server.host import Host
from sync_server.info import terms_audit_detail
from sync_server.models import Certificate, serial_tail
from sync_server.prepared import execute


def vet_csr(csr_pem: str, customer_id: str) -> x509.CertificateSigningRequest:
    """Parse a CSR and check proof of possession, subject and key; refuse with a clear code."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError:
        raise ServiceError(
            ErrorCode.CSR_INVALID, "csr_pem is not a PEM PKCS#10 certificate request."
        ) from None
    try:
        signature_ok = csr.is_signature_valid
    except Exception:  # an unsupported signature algorithm cannot be verified
        signature_ok = False
    if not signature_ok:
        raise ServiceError(
            ErrorCode.CSR_SIGNATURE_INVALID,
            "The request's signature does not verify under its own key.",
        )
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or names[0].value != customer_id:
        raise ServiceError(
            ErrorCode.CSR_SUBJECT_MISMATCH,
            f"The request's CN must be the customer ID {customer_id}.",
        )
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if not 2048 <= key.key_size <= 8192:
            raise ServiceError(
                ErrorCode.CSR_KEY_UNSUPPORTED, "RSA keys must have 2048 to 8192 bits."
            )
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1 | ec.SECP384R1):
            raise ServiceError(ErrorCode.CSR_KEY_UNSUPPORTED, "EC keys must be on P-256 or P-384.")
    else:
        raise ServiceError(
            ErrorCode.CSR_KEY_UNSUPPORTED, "The key must be RSA (2048+) or EC P-256/P-384."
        )
    return csr


def sign_certificate(
    host: Host,
    csr: x509.CertificateSigningRequest,
    *,
    customer_id: str,
    not_before: datetime,
    not_after: datetime,
    via: str,
) -> Certificate:
    """Sign ``csr`` for the customer with the host's CA: the certificate row, not yet stored.

    Apply signs before its write transaction, so that the transaction (which holds SQLite's
    one writer) is only reads and writes; a certificate signed for a refused apply is never
    stored nor sent, so it exists nowhere.
    """
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
    return Certificate.model_construct(
        serial=str(serial),
        serial_tail=serial_tail(serial),
        customer_id=customer_id,
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
        not_before=not_before,
        not_after=not_after,
        issued_at=not_before,
        issued_via=via,
        cert_pem=issued.public_bytes(serialization.Encoding.PEM).decode(),
    )


def store_certificate(host: Host, session: Session, cert: Certificate) -> Certificate:
    """Insert ``cert`` (from ``sign_certificate``) in ``session``'s transaction, issued now.

    One Core INSERT, run at once: no ORM object to track and flush at commit (that was a good
    part of an apply's Python time). Returns the row as stored, a plain value.
    """
    values: dict[str, Any] = {column: getattr(cert, column) for column in _STORED_COLUMNS}
    values["issued_at"] = host.now()
    execute(session, _INSERT_CERTIFICATE, values)
    return Certificate.model_construct(**values)


def issue_certificate(
    host: Host,
    session: Session,
    csr: x509.CertificateSigningRequest,
    *,
    customer_id: str,
    not_before: datetime,
    not_after: datetime,
    via: str,
) -> Certificate:
    """Sign ``csr`` for the customer with the host's CA and insert its row in ``session``'s
    transaction (committed with it); returns the row's values as a ``Certificate``."""
    signed = sign_certificate(
        host, csr, customer_id=customer_id, not_before=not_before, not_after=not_after, via=via
    )
    return store_certificate(host, session, signed)


_STORED_COLUMNS = (
    "serial",
    "serial_tail",
    "customer_id",
    "fingerprint_sha256",
    "not_before",
    "not_after",
    "issued_at",
    "issued_via",
    "cert_pem",
)
_INSERT_CERTIFICATE = insert(SQLModel.metadata.tables["certificate"])


def issue_audit_detail(cert: Certificate | None, terms_version: str | None) -> str:
    """The audit detail of an apply or a renewal: the serial issued (if any) and the terms."""
    serial = f"serial {cert.serial} " if cert is not None else ""
    return serial + terms_audit_detail(terms_version)
