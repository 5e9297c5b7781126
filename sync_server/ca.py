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
from sync_server.errors import ConfigCode, ConfigError

CaKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

KEY_FILE = "ca.key.pem"
CERT_FILE = "ca.cert.pem"
CHAIN_FILE = "ca.chain.pem"  # optional: the certificates above the CA (a restored backup's)


def _read_ca_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"The CA file {path} does not exist.", code=ConfigCode.CA_MISSING
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"The CA file {path} cannot be read: {exc.strerror}.", code=ConfigCode.CA_UNREADABLE
        ) from None


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
            raise ConfigError(
                "The CA key does not match the CA certificate.", code=ConfigCode.CA_INVALID
            )
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            raise ConfigError(
                "The CA certificate has no BasicConstraints extension.", code=ConfigCode.CA_INVALID
            ) from None
        if not constraints.ca:
            raise ConfigError(
                "The CA certificate is not a CA (BasicConstraints CA:false).",
                code=ConfigCode.CA_INVALID,
            )
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
            if passphrase is None:
                raise ConfigError(
                    "The CA key is encrypted: set SYNC_CA_KEY_PASSPHRASE.",
                    code=ConfigCode.CA_PASSPHRASE_NEEDED,
                ) from None
            raise ConfigError(
                "The CA key is not encrypted, but SYNC_CA_KEY_PASSPHRASE is set.",
                code=ConfigCode.CA_PASSPHRASE_UNEXPECTED,
            ) from None
        except ValueError:
            raise ConfigError(
                "The CA key cannot be read (wrong SYNC_CA_KEY_PASSPHRASE, or not a PEM key).",
                code=ConfigCode.CA_UNREADABLE,
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ConfigError("The CA key must be RSA or EC.", code=ConfigCode.CA_UNREADABLE)
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
            chain = x509.load_pem_x509_certificates(chain_pem) if chain_pem.strip() else []
        except ValueError:
            raise ConfigError(
                "The CA certificate or chain is not PEM.", code=ConfigCode.CA_UNREADABLE
            ) from None
        return cls(key, cert, chain)

    @classmethod
    def load_existing(
        cls,
        data_dir: Path,
        *,
        passphrase: str | None,
        key_file: Path | None = None,
        cert_file: Path | None = None,
        chain_file: Path | None = None,
    ) -> CA | None:
        """The operator's CA if files are named, else ``data_dir``'s; ``None`` if it has none.

        Reads only. A file that is named (or one of the data folder's pair) but cannot be read
        is a ``ConfigError`` naming it: ``ca_missing`` or ``ca_unreadable``.
        """
        if key_file is not None and cert_file is not None:
            files = [key_file, cert_file, *([chain_file] if chain_file else [])]
        else:
            key_path, cert_path = data_dir / KEY_FILE, data_dir / CERT_FILE
            if not key_path.exists() and not cert_path.exists():
                return None
            chain_path = data_dir / CHAIN_FILE
            files = [key_path, cert_path, *([chain_path] if chain_path.exists() else [])]
        key_pem, cert_pem, *rest = [_read_ca_file(path) for path in files]
        return cls.from_pem(
            key_pem=key_pem,
            cert_pem=cert_pem,
            chain_pem=rest[0] if rest else b"",
            passphrase=passphrase,
        )

    def save(self, data_dir: Path, *, passphrase: str | None) -> None:
        """Write the key (0600, encrypted under ``passphrase`` if given) and the certificate."""
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_file_atomic(data_dir / KEY_FILE, self.private_key_pem(passphrase), mode=0o600)
        write_file_atomic(
            data_dir / CERT_FILE, self.cert.public_bytes(serialization.Encoding.PEM), mode=0o644
        )

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
        ca = cls.load_existing(
            data_dir,
            passphrase=passphrase,
            key_file=key_file,
            cert_file=cert_file,
            chain_file=chain_file,
        )
        if ca is None:
            ca = cls.generate()
            ca.save(data_dir, passphrase=passphrase)
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
        self,
        revoked: Iterable[RevokedEntry],
        *,
        now: datetime,
        next_update: timedelta,
        number: int | None = None,
    ) -> x509.CertificateRevocationList:
        """A CRL listing ``revoked``; ``number`` is its CRLNumber (default: ``now`` in seconds)."""
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
            .add_extension(
                x509.CRLNumber(int(now.timestamp()) if number is None else number), critical=False
            )
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
