"""The issuing CA: generated on first start or the operator's; issues leaves, signs CRLs.

Two nouns, ``CA`` and the ``CertificateProfile`` it applies, and a few verbs. The leaf profile
is the customer's order-signing certificate: every extension is spelled out with its
``critical`` flag chosen on purpose.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sync_client.fsio import write_file_atomic
from sync_server.errors import ConfigError

CaKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

KEY_FILE = "ca.key.pem"
CERT_FILE = "ca.cert.pem"


def new_serial() -> int:
    """A positive serial with 64 random bits; the top bit set keeps every serial 65 bits wide."""
    return (1 << 64) | secrets.randbits(64)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags


class CA:
    """An issuing CA: its key, its certificate, and the chain above it (issuer first)."""

    def __init__(
        self, key: CaKey, cert: x509.Certificate, chain: Sequence[x509.Certificate] = ()
    ) -> None:
        if key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) != cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ):
            raise ConfigError("The CA key does not match the CA certificate.")
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            raise ConfigError("The CA certificate has no BasicConstraints extension.") from None
        if not constraints.ca:
            raise ConfigError("The CA certificate is not a CA (BasicConstraints CA:false).")
        self._key = key
        self.cert = cert
        self.chain = tuple(chain)
        self.fingerprint_sha256 = hashlib.sha256(
            cert.public_bytes(serialization.Encoding.DER)
        ).hexdigest()
        self._ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())

    def __repr__(self) -> str:
        return f"CA(subject={self.cert.subject.rfc4514_string()!r})"

    # -- construction -------------------------------------------------------------------

    @classmethod
    def generate(
        cls, *, common_name: str = "CertSync Issuing CA", now: datetime | None = None
    ) -> CA:
        """A self-signed CA with an EC P-256 key, valid 10 years."""
        now = _aware(now or datetime.now(UTC))
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CertSync"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(new_serial())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=3650))
            # pathlen 0: this CA issues customers' certificates, never another CA.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def from_pem(
        cls, *, key_pem: bytes, cert_pem: bytes, chain_pem: bytes = b"", passphrase: str | None
    ) -> CA:
        try:
            key = serialization.load_pem_private_key(
                key_pem, passphrase.encode() if passphrase else None
            )
        except TypeError:
            raise ConfigError(
                "The CA key is encrypted: set SYNC_CA_KEY_PASSPHRASE."
                if passphrase is None
                else "The CA key is not encrypted, but SYNC_CA_KEY_PASSPHRASE is set."
            ) from None
        except ValueError:
            raise ConfigError(
                "The CA key cannot be read (wrong SYNC_CA_KEY_PASSPHRASE, or not a PEM key)."
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ConfigError("The CA key must be RSA or EC.")
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
            chain = x509.load_pem_x509_certificates(chain_pem) if chain_pem.strip() else []
        except ValueError:
            raise ConfigError("The CA certificate or chain is not PEM.") from None
        return cls(key, cert, chain)

    @classmethod
    def load_or_create(
        cls,
        data_dir: Path,
        *,
        passphrase: str | None,
        key_file: Path | None = None,
        cert_file: Path | None = None,
        chain_file: Path | None = None,
    ) -> CA:
        """The operator's CA if files are named, else ``data_dir``'s, generated if absent."""
        if key_file is not None and cert_file is not None:
            try:
                return cls.from_pem(
                    key_pem=key_file.read_bytes(),
                    cert_pem=cert_file.read_bytes(),
                    chain_pem=chain_file.read_bytes() if chain_file else b"",
                    passphrase=passphrase,
                )
            except OSError as exc:
                raise ConfigError(
                    f"Cannot read the CA files: {exc.strerror}: {exc.filename}"
                ) from None
        key_path, cert_path = data_dir / KEY_FILE, data_dir / CERT_FILE
        if key_path.exists() or cert_path.exists():
            return cls.from_pem(
                key_pem=key_path.read_bytes(),
                cert_pem=cert_path.read_bytes(),
                passphrase=passphrase,
            )
        ca = cls.generate()
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_file_atomic(key_path, ca.private_key_pem(passphrase), mode=0o600)
        write_file_atomic(cert_path, ca.cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
        return ca

    def private_key_pem(self, passphrase: str | None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase.encode())
            if passphrase
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    # -- issuing ------------------------------------------------------------------------

    @functools.cached_property
    def chain_pem(self) -> str:
        """The issuing CA first, then the certificates above it.

        Cached: every status, apply and renewal answer carries it, and the chain never changes
        for the life of the object.
        """
        return "".join(
            c.public_bytes(serialization.Encoding.PEM).decode() for c in (self.cert, *self.chain)
        )

    def issue_certificate(
        self,
        csr: x509.CertificateSigningRequest,
        *,
        subject_cn: str,
        serial: int,
        not_before: datetime,
        not_after: datetime,
        crl_url: str | None = None,
    ) -> x509.Certificate:
        """Sign a customer's order-signing certificate. The CSR must already be vetted."""
        public_key = csr.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise ValueError("unsupported key type")
        builder = (
            x509.CertificateBuilder()
            # The subject is rebuilt from the vetted CN alone: nothing else the customer put
            # in the request reaches the certificate.
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(_aware(not_before))
            .not_valid_after(_aware(not_after))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # Orders are signed, never encrypted to: signature and non-repudiation only.
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            # Not critical, so software that does not know the EKU still validates the chain.
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(self._ski),
                critical=False,
            )
        )
        if crl_url:
            builder = builder.add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(crl_url)],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
        return builder.sign(self._key, hashes.SHA256())

    def build_crl(
        self, revoked: Iterable[RevokedEntry], *, now: datetime, next_update: timedelta
    ) -> x509.CertificateRevocationList:
        now = _aware(now)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now)
            .next_update(now + next_update)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(self._ski),
                critical=False,
            )
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        )
        for entry in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(entry.serial)
                .revocation_date(_aware(entry.revoked_at))
                .add_extension(x509.CRLReason(entry.reason), critical=False)
                .build()
            )
        return builder.sign(self._key, hashes.SHA256())
