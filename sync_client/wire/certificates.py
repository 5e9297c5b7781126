"""The certificate object and the status answer (docs/PROTOCOL.md, "The certificate object")."""

from __future__ import annotations

from typing import Literal

from sync_client.wire.base import Time, WireResponse

CertificateState = Literal["valid", "expiring", "expired", "revoked", "superseded"]
StatusLabel = Literal["valid", "expiring", "none", "expired", "revoked"]


class CertificateObject(WireResponse):
    """``serial`` is a decimal string (too wide for some JSON numbers); ``serial_display`` the
    decimal, then the upper-case hex padded to whole bytes."""

    customer_id: str
    serial: str
    serial_display: str
    subject_cn: str
    not_before: Time
    not_after: Time
    fingerprint_sha256: str
    status: CertificateState
    cert_pem: str


class StatusResponse(WireResponse):
    """``code`` 0 valid, 31 expiring, 40 none, 41 expired, 42 revoked (``label`` its name)."""

    customer_id: str
    code: Literal[0, 31, 40, 41, 42]
    label: StatusLabel
    certificate: CertificateObject | None
    renewal_opens_at: Time | None
    chain_pem: str


class IssuedResponse(WireResponse):
    """What apply, renewal and re-download answer: the certificate and the CA chain."""

    certificate: CertificateObject
    chain_pem: str
