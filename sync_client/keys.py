"""Key pairs, CSRs, signatures and fingerprints, as docs/PROTOCOL.md uses them.

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
from cryptography.x509.oid import NameOID

from sync_client.errors import InvalidInput, WrongPfxPassword

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
    raise InvalidInput(f"The key kind must be 'rsa' or 'ec', not {kind!r}.")


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
    raise InvalidInput("Only RSA and EC keys can sign.")


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


def encrypt_private_key_pem(key: PrivateKey, password: str) -> bytes:
    """The key as encrypted PKCS#8 PEM, for a pending key kept between an apply and its end.

    ``BestAvailableEncryption`` lets cryptography choose a current KDF and cipher; the file only
    ever comes back to this same SDK, so interoperability does not constrain the choice.
    """
    if not password:
        raise InvalidInput("A password is needed to protect the private key.")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode("utf-8")),
    )


def decrypt_private_key_pem(data: bytes, password: str) -> PrivateKey:
    """Inverse of ``encrypt_private_key_pem``.

    A wrong password raises ``WrongPfxPassword`` (code ``wrong_password``): to the user it is
    the same PFX password. Anything that is not an encrypted RSA or EC key is ``InvalidInput``.
    """
    try:
        key = serialization.load_pem_private_key(data, password.encode("utf-8"))
    except TypeError:
        # cryptography raises TypeError when the PEM is not encrypted at all. We only ever
        # write encrypted keys, so a plain one is not ours; refuse rather than accept it.
        raise InvalidInput("The stored private key is not encrypted.") from None
    except ValueError as exc:
        # cryptography raises ValueError both for a wrong password and for a malformed file,
        # and its messages are not an API. A file framed as an encrypted PKCS#8 key is one we
        # wrote, so there the password is by far the likelier culprit.
        if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data:
            raise WrongPfxPassword("The password is wrong.", code="wrong_password") from None
        raise InvalidInput("The stored private key is not a PEM PKCS#8 key.") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InvalidInput("The stored private key is neither RSA nor EC.")
    return key
