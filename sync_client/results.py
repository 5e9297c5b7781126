"""What the SDK's calls return (``sync_client.api``): frozen values built from the wire's
response models, in the types the clients work with (``int`` serials, ``datetime`` times)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509

from sync_client.protocol import StatusCode
from sync_client.wire.certificates import CertificateObject, IssuedResponse
from sync_client.wire.info import InfoResponse


@dataclass(frozen=True)
class HostCertificate:
    """The certificate object of the protocol."""

    customer_id: str
    serial: int
    serial_display: str
    subject_cn: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    status: str
    cert_pem: str

    @classmethod
    def from_wire(cls, data: CertificateObject) -> HostCertificate:
        return cls(
            customer_id=data.customer_id,
            serial=int(data.serial),
            serial_display=data.serial_display,
            subject_cn=data.subject_cn,
            not_before=data.not_before,
            not_after=data.not_after,
            fingerprint_sha256=data.fingerprint_sha256,
            status=data.status,
            cert_pem=data.cert_pem,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostCertificate:
        """Raises ``pydantic.ValidationError`` (a ``ValueError``) on another shape."""
        return cls.from_wire(CertificateObject.model_validate(data))

    def load(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem.encode())


@dataclass(frozen=True)
class HostStatus:
    customer_id: str
    code: int
    label: str
    certificate: HostCertificate | None
    renewal_opens_at: datetime | None
    chain_pem: str

    @property
    def is_valid(self) -> bool:
        return StatusCode(self.code).is_valid


@dataclass(frozen=True)
class Issued:
    certificate: HostCertificate
    chain_pem: str

    @classmethod
    def from_wire(cls, data: IssuedResponse) -> Issued:
        return cls(HostCertificate.from_wire(data.certificate), data.chain_pem)

    def chain(self) -> list[x509.Certificate]:
        return x509.load_pem_x509_certificates(self.chain_pem.encode())


@dataclass(frozen=True)
class LoginResult:
    token: str
    customer_id: str
    device_kind: str
    expires_at: datetime
    renewal_reminder: dict[str, Any] | None  # as it came: not_after, serial_display

    def __repr__(self) -> str:
        return f"LoginResult(customer_id={self.customer_id!r}, device_kind={self.device_kind!r})"


@dataclass(frozen=True)
class RenewalChallenge:
    challenge_id: str
    nonce: str
    expires_at: datetime


@dataclass(frozen=True)
class SlotState:
    slot_id: str
    state: str  # open, claimed, expired, cancelled
    expires_at: datetime


@dataclass(frozen=True)
class ClaimedSlot:
    """A won claim: the envelope, and the certificate fingerprint the slot was opened for
    (bound into the envelope's associated data)."""

    slot_id: str
    certificate_fingerprint: str
    ciphertext: bytes = field(repr=False)


@dataclass(frozen=True)
class BrokerageInfo:
    """``GET /info``: the operator's words. Each ``dict`` maps a language (``zh-TW``, ``en``)
    to its text; ``terms_version`` is what ``apply`` and ``renew`` send back."""

    brokerage_name: dict[str, str]
    service_phone: str
    service_hours: dict[str, str]
    terms_version: str
    terms_text: dict[str, str]

    @classmethod
    def from_wire(cls, data: InfoResponse) -> BrokerageInfo:
        return cls(
            brokerage_name=dict(data.brokerage_name),
            service_phone=data.service_phone,
            service_hours=dict(data.service_hours),
            terms_version=data.terms.version,
            terms_text=dict(data.terms.text),
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BrokerageInfo:
        """Raises ``pydantic.ValidationError`` (a ``ValueError``) on a body of another shape."""
        return cls.from_wire(InfoResponse.model_validate(data))
