"""PKCS#12 (PFX) files: the customer's key, certificate and CA chain under one password.

We choose the encryption explicitly instead of taking a library default: PBES2 with PBKDF2
(HMAC-SHA-256) and AES-256-CBC for both the key and the certificate bags, and an HMAC-SHA-256
MAC, all with 600 000 iterations, which is also the floor (``sync_client.kdf_floor``).
OpenSSL 3, Windows 10 (1709+) and current iOS/Android read it.
The old RC2/3DES + SHA-1 profile is what a default would give some tools, and the PFX is all
that protects the key on disk and in the relay.

cryptography (50) writes the MAC with a fixed 2,048 iterations; since the MAC key comes from
the same password, that would let someone holding the file test guesses 300 times cheaper.
``build_pfx`` therefore recomputes the MAC with the full count. The profile itself lives in
``pkcs12_profile``, shared with the sealed pending keys of ``sync_client.keys``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sync_client.errors import InvalidInput, PfxInvalid, WrongPfxPassword
from sync_client.i18n import msg
from sync_client.kdf_floor import require_iterations
from sync_client.keys import PrivateKey, certificate_fingerprint, key_matches_certificate
from sync_client.pkcs12_profile import DEFAULT_PFX_ITERATIONS, looks_like_pkcs12, serialize_pkcs12
from sync_client.protocol import format_serial

__all__ = ["DEFAULT_PFX_ITERATIONS", "LoadedPfx", "build_pfx", "load_pfx"]


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
            raise PfxInvalid(msg("sdk.pfx.no_cn"))
        if not key_matches_certificate(self.key, self.cert):
            raise PfxInvalid(msg("sdk.pfx.key_mismatch_file"))

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
    Refuses fewer ``iterations`` than ``sync_client.kdf_floor`` allows (``kdf_below_floor``).
    """
    if not password:
        raise InvalidInput(msg("sdk.pfx.password_needed"))
    require_iterations(iterations)
    if not key_matches_certificate(key, cert):
        raise PfxInvalid(msg("sdk.pfx.key_mismatch"))
    return serialize_pkcs12(
        name=customer_id.encode("utf-8"),
        key=key,
        cert=cert,
        cas=chain,
        password=password,
        iterations=iterations,
    )


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
        if looks_like_pkcs12(pfx_bytes):
            raise WrongPfxPassword(msg("sdk.pfx.wrong_password")) from None
        raise PfxInvalid(msg("sdk.pfx.not_pkcs12")) from None
    if loaded.key is None:
        raise PfxInvalid(msg("sdk.pfx.no_key"))
    if loaded.cert is None:
        raise PfxInvalid(msg("sdk.pfx.no_certificate"))
    key = loaded.key
    if not isinstance(key, PrivateKey):
        raise PfxInvalid(msg("sdk.pfx.unsupported_key"))
    chain = tuple(extra.certificate for extra in loaded.additional_certs)
    return LoadedPfx(key=key, cert=loaded.cert.certificate, chain=chain)
