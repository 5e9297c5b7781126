"""Whether a certificate was issued by the brokerage's CA: the check before a client keeps it.

A PKCS#12 file anyone can make (``openssl pkcs12 -export``) may hold a key and a certificate
that match each other and name the customer, yet were never issued by the brokerage. Both
clients (``pc-client import``, the phone receiving a PFX through the relay) must refuse such a
file before it replaces anything, instead of installing it and reporting success.

``issued_by_ca(cert, ca_certs)`` answers yes only when one of ``ca_certs`` (the host's chain,
``GET /api/v1/ca``) is a CA certificate (basicConstraints ``ca=true``; keyCertSign when it
has a keyUsage) that was valid when ``cert`` was issued, whose subject is ``cert``'s issuer,
and whose public key verifies ``cert``'s signature (cryptography's
``verify_directly_issued_by``, which checks the names and the signature together). ``cert``
itself must not be a CA. Its own validity is not required: an expired certificate of ours is
still ours, and ``status`` reports it as expired; a certificate whose start lies outside its
issuer's life is refused.

``certificates_from_pem`` reads the host's ``chain_pem``; both return plain values and raise
nothing for a foreign or malformed certificate, so callers decide the refusal and its words.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

__all__ = ["certificates_from_pem", "is_ca_certificate", "issued_by_ca"]


def certificates_from_pem(chain_pem: str) -> list[x509.Certificate]:
    """The certificates in a PEM text (the host's ``chain_pem``); ``[]`` when none parse."""
    try:
        return x509.load_pem_x509_certificates(chain_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return []


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def is_ca_certificate(cert: x509.Certificate) -> bool:
    """basicConstraints says ``ca=true``, and a keyUsage, when present, allows keyCertSign."""
    constraints = _basic_constraints(cert)
    if constraints is None or not constraints.ca:
        return False
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.key_cert_sign


def _directly_issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    if cert.issuer != ca.subject or not is_ca_certificate(ca):
        return False
    # The CA was valid when it issued the certificate. (Not "the certificate ends before the
    # CA": a CA near its own end may issue a year that outlives it; the host's rule, not ours.)
    if not ca.not_valid_before_utc <= cert.not_valid_before_utc <= ca.not_valid_after_utc:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        # ValueError: names differ or the signature algorithm is not one cryptography
        # verifies; TypeError: the issuer's key type cannot sign certificates.
        return False
    return True


def issued_by_ca(cert: x509.Certificate, ca_certs: Sequence[x509.Certificate]) -> bool:
    """Whether one of ``ca_certs`` issued ``cert`` (see the module docstring for the checks).

    ``cert`` must be an end-entity certificate: one that says ``ca=true`` is refused even when
    the CA signed it. An empty ``ca_certs`` is always ``False``.
    """
    constraints = _basic_constraints(cert)
    if constraints is not None and constraints.ca:
        return False
    return any(_directly_issued_by(cert, ca) for ca in ca_certs)
