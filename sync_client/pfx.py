"""PKCS#12 (PFX) files: the customer's key, certificate and CA chain under one password.

We choose the encryption explicitly instead of taking a library default: PBES2 with PBKDF2
(HMAC-SHA-256) and AES-256-CBC for both the key and the certificate bags, and an HMAC-SHA-256
MAC, all with 600 000 iterations. OpenSSL 3, Windows 10 (1709+) and current iOS/Android read it.
The old RC2/3DES + SHA-1 profile is what a default would give some tools, and the PFX is all
that protects the key on disk and in the relay.

cryptography (50) writes the MAC with a fixed 2,048 iterations; since the MAC key comes from
the same password, that would let someone holding the file test guesses 300 times cheaper.
``build_pfx`` therefore recomputes the MAC with the full count (``pkcs12_mac``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sync_client.errors import InvalidInput, PfxInvalid, WrongPfxPassword
from sync_client.keys import PrivateKey, certificate_fingerprint, key_matches_certificate
from sync_client.pkcs12_mac import strengthen_mac
from sync_client.protocol import format_serial

# OWASP's 2023 figure for PBKDF2-HMAC-SHA256. It costs the customer well under a second once,
# and an attacker who copied the file that much per guess.
DEFAULT_PFX_ITERATIONS = 600_000


def _common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        return None
    value = names[0].value
    return value if isinstance(value, str) else None


@dataclass(frozen=True, repr=False)
class LoadedPfx:
    """The contents of a PFX file: a private key, its certificate, and the CA chain.

    Built only when the key matches the certificate and the certificate names one customer.
    The ``repr`` shows who and until when, never key material.
    """

    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if _common_name(self.cert) is None:
            raise PfxInvalid("The certificate in the PFX file does not name one customer (CN).")
        if not key_matches_certificate(self.key, self.cert):
            raise PfxInvalid("The private key in the PFX file does not match its certificate.")

    @property
    def customer_id(self) -> str:
        """The certificate's CN, which the protocol sets to the customer ID."""
        name = _common_name(self.cert)
        assert name is not None  # checked in __post_init__
        return name

    @property
    def serial(self) -> int:
        return self.cert.serial_number

    @property
    def serial_display(self) -> str:
        return format_serial(self.cert.serial_number)

    @property
    def not_before(self) -> datetime:
        return self.cert.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.cert.not_valid_after_utc

    @property
    def fingerprint_sha256(self) -> str:
        return certificate_fingerprint(self.cert)

    def __repr__(self) -> str:
        return (
            f"LoadedPfx(customer_id={self.customer_id!r}, serial={self.serial_display!r}, "
            f"not_after={self.not_after.isoformat()!r}, chain_length={len(self.chain)})"
        )


def build_pfx(
    *,
    customer_id: str,
    key: PrivateKey,
    cert: x509.Certificate,
    chain: Sequence[x509.Certificate],
    password: str,
    iterations: int = DEFAULT_PFX_ITERATIONS,
) -> bytes:
    """A PKCS#12 file holding ``key``, ``cert`` (friendly name ``customer_id``) and ``chain``.

    Refuses an empty password (``InvalidInput``): a PFX is never written unprotected. Refuses a
    key that does not match the certificate (``PfxInvalid``): such a file could never sign.
    """
    if not password:
        raise InvalidInput("A PFX password is needed.")
    if iterations < 1:
        raise InvalidInput("The PFX iteration count must be positive.")
    if not key_matches_certificate(key, cert):
        raise PfxInvalid("The private key does not match the certificate.")
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(iterations)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode("utf-8"))
    )
    pfx_der = pkcs12.serialize_key_and_certificates(
        customer_id.encode("utf-8"), key, cert, list(chain), encryption
    )
    return strengthen_mac(pfx_der, password, iterations)


def _outer_sequence_header(data: bytes) -> int | None:
    """The header length of the SEQUENCE that must span all of ``data``, or None if it does not."""
    if len(data) < 2 or data[0] != 0x30:
        return None
    first = data[1]
    if first == 0x80:
        # BER indefinite length: some older exporters write PKCS#12 this way. Its end is only
        # found by parsing the contents, which is cryptography's job; the end marker must do.
        return 2 if data[-2:] == b"\x00\x00" else None
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count > 4 or len(data) < 2 + count:
            return None
        header, length = 2 + count, int.from_bytes(data[2 : 2 + count], "big")
    return header if header + length == len(data) else None


def _looks_like_pkcs12(data: bytes) -> bool:
    """Whether ``data`` has the outer shape of a PFX, whatever the password.

    That shape is a SEQUENCE spanning the whole input that opens with ``version 3`` and then a
    SEQUENCE (the ``authSafe`` ContentInfo).
    cryptography raises the same ``ValueError`` type for a wrong password and for bytes that
    are no PKCS#12 at all, and its messages are not an API. A file with the right outer shape
    whose MAC or bags fail to open is, in practice, a wrong password: the PKCS#12 MAC is keyed
    by the password, so a corrupted inside cannot be told from a wrong password by anyone.
    """
    header = _outer_sequence_header(data)
    return header is not None and data[header : header + 4] == b"\x02\x01\x03\x30"


def load_pfx(pfx_bytes: bytes, password: str) -> LoadedPfx:
    """Open a PKCS#12 file and check that it holds a matching key and certificate.

    Raises ``WrongPfxPassword`` when the password does not open it, ``PfxInvalid`` when the
    bytes are not PKCS#12, or it lacks a key or a certificate, or the two do not match, or the
    key is neither RSA nor EC. No message ever contains the password.
    """
    try:
        loaded = pkcs12.load_pkcs12(pfx_bytes, password.encode("utf-8"))
    except ValueError:
        # ``from None``: the chained cryptography error adds nothing a user could act on.
        if _looks_like_pkcs12(pfx_bytes):
            raise WrongPfxPassword("The PFX password is wrong.") from None
        raise PfxInvalid("The file is not a PKCS#12 (PFX) file.") from None
    if loaded.key is None:
        raise PfxInvalid("The PFX file holds no private key.")
    if loaded.cert is None:
        raise PfxInvalid("The PFX file holds no certificate.")
    key = loaded.key
    if not isinstance(key, PrivateKey):
        raise PfxInvalid("The private key in the PFX file is neither RSA nor EC.")
    chain = tuple(extra.certificate for extra in loaded.additional_certs)
    return LoadedPfx(key=key, cert=loaded.cert.certificate, chain=chain)
