"""Key pairs, CSRs, signatures, fingerprints and sealed keys, as docs/PROTOCOL.md uses them.

The protocol fixes one signature scheme per key type (renewal proofs and orders alike):
RSA signs with PKCS#1 v1.5 + SHA-256, EC with ECDSA + SHA-256 in DER form. ``sign`` and
``verify`` are the only places that mapping is written down on the client side.
"""

from __future__ import annotations

import hashlib
from typing import Literal, TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sync_client.errors import InvalidInput, WrongPfxPassword
from sync_client.i18n import msg
from sync_client.kdf_floor import require_iterations
from sync_client.pkcs12_profile import DEFAULT_PFX_ITERATIONS, looks_like_pkcs12, serialize_pkcs12

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyKind: TypeAlias = Literal["rsa", "ec"]

RSA_KEY_SIZE = 2048
RSA_PUBLIC_EXPONENT = 65537


def generate_private_key(kind: KeyKind = "rsa") -> PrivateKey:
    """A fresh key the server accepts: RSA-2048 (e = 65537) or EC P-256."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_SIZE)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise InvalidInput(msg("sdk.key.kind", kind=kind))


def build_csr_pem(key: PrivateKey, customer_id: str) -> str:
    """A PKCS#10 request, PEM, with subject ``CN=<customer_id>`` and nothing else.

    The server sets every extension of the issued certificate itself, so the request asks for
    none; it only proves possession of the key by its SHA-256 self-signature.
    """
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, customer_id)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def sign(key: PrivateKey, data: bytes) -> bytes:
    """Sign ``data`` the protocol's way: RSA PKCS#1 v1.5 + SHA-256, or ECDSA SHA-256 (DER)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    raise InvalidInput(msg("sdk.key.cannot_sign"))


def verify(public_key: PublicKeyTypes, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` over ``data`` verifies under ``public_key`` (same mapping as sign).

    Returns ``False``, never raises, for a bad signature or a key type the protocol does not use:
    a caller only ever needs yes or no.
    """
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            return True
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            return True
    except InvalidSignature:
        return False
    return False


def _spki_der(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_fingerprint(public_key: PublicKeyTypes) -> str:
    """SHA-256 of the key's SubjectPublicKeyInfo DER, lower-case hex."""
    return hashlib.sha256(_spki_der(public_key)).hexdigest()


def certificate_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, lower-case hex (the protocol's ``fingerprint_sha256``)."""
    return cert.fingerprint(hashes.SHA256()).hex()


def key_matches_certificate(key: PrivateKey, cert: x509.Certificate) -> bool:
    """Whether ``cert`` certifies ``key``'s public half.

    Comparing the SPKI DER covers the algorithm, the curve and every number of the key, so an
    RSA key never "matches" an EC certificate by accident.
    """
    return _spki_der(key.public_key()) == _spki_der(cert.public_key())


def seal_private_key(
    key: PrivateKey, password: str, *, iterations: int = DEFAULT_PFX_ITERATIONS
) -> bytes:
    """The key alone in a password-protected PKCS#12 file (DER), for a pending key kept
    between an apply or renewal and its end.

    The same profile as the customer's PFX (``pkcs12_profile``: PBES2, AES-256-CBC, SHA-256
    MAC, 600,000 PBKDF2 rounds by default, the MAC included): the pending key is protected by
    the new PFX password, and must cost an attacker as much per guess as the PFX does. Encrypted
    PKCS#8 from cryptography's ``BestAvailableEncryption`` would use only 2,048 rounds.
    ``openssl pkcs12 -info -nocerts`` reads it. Refuses an empty password (``InvalidInput``)
    and fewer ``iterations`` than ``sync_client.kdf_floor`` allows (``kdf_below_floor``).
    """
    if not password:
        raise InvalidInput(msg("sdk.key.password_needed"))
    require_iterations(iterations)
    return serialize_pkcs12(
        name=None, key=key, cert=None, cas=None, password=password, iterations=iterations
    )


def open_private_key(data: bytes, password: str) -> PrivateKey:
    """Inverse of ``seal_private_key``: the RSA or EC key inside.

    A wrong password raises ``WrongPfxPassword`` (code ``wrong_password``): to the user it is
    the same PFX password. Bytes that are not PKCS#12, or hold no key, or a key that is neither
    RSA nor EC, raise ``InvalidInput``. No message contains the password.
    """
    try:
        key, _, _ = pkcs12.load_key_and_certificates(data, password.encode("utf-8"))
    except ValueError:
        # cryptography raises ValueError both for a wrong password and for bytes that are not
        # PKCS#12; the outer shape tells the two apart (see ``looks_like_pkcs12``).
        if looks_like_pkcs12(data):
            raise WrongPfxPassword(msg("sdk.key.wrong_password")) from None
        raise InvalidInput(msg("sdk.key.not_pkcs12")) from None
    if key is None:
        raise InvalidInput(msg("sdk.key.no_key"))
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InvalidInput(msg("sdk.key.unsupported"))
    return key
