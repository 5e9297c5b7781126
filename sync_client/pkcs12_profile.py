"""The one PKCS#12 profile this SDK writes, shared by PFX files and sealed pending keys.

PBES2 with PBKDF2 (HMAC-SHA-256) and AES-256-CBC for every bag, and an HMAC-SHA-256 MAC, all
with the same iteration count (600,000 by default). cryptography writes the MAC with a fixed
2,048 iterations whatever we ask, so ``serialize_pkcs12`` always re-MACs the result with the
full count (``pkcs12_mac``): the MAC key comes from the same password, and a cheap MAC would
let someone holding the file test guesses 300 times faster than the bags allow.

Both ``sync_client.pfx`` (key, certificate and chain) and ``sync_client.keys`` (a key alone,
kept between an apply or renewal and its end) write through here. It lives in its own module
because ``pfx`` imports ``keys``: neither could import the other for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from sync_client.errors import InvalidInput
from sync_client.i18n import msg
from sync_client.pkcs12_mac import strengthen_mac

# OWASP's 2023 figure for PBKDF2-HMAC-SHA256. It costs the customer well under a second once,
# and an attacker who copied the file that much per guess.
DEFAULT_PFX_ITERATIONS = 600_000


def pkcs12_encryption(password: str, iterations: int) -> serialization.KeySerializationEncryption:
    """PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC bags and a SHA-256 MAC, ``iterations`` rounds."""
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(iterations)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode("utf-8"))
    )


def serialize_pkcs12(
    *,
    name: bytes | None,
    key: pkcs12.PKCS12PrivateKeyTypes | None,
    cert: x509.Certificate | None,
    cas: Sequence[x509.Certificate] | None,
    password: str,
    iterations: int,
) -> bytes:
    """DER PKCS#12 in our profile, its MAC recomputed with ``iterations`` rounds.

    Refuses an empty password and a non-positive iteration count (``InvalidInput``): nothing
    is ever written unprotected or with a meaningless KDF.
    """
    if not password:
        raise InvalidInput(msg("sdk.pkcs12.password_needed"))
    if iterations < 1:
        raise InvalidInput(msg("sdk.pkcs12.iterations"))
    der = pkcs12.serialize_key_and_certificates(
        name, key, cert, list(cas) if cas else None, pkcs12_encryption(password, iterations)
    )
    return strengthen_mac(der, password, iterations)


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


def looks_like_pkcs12(data: bytes) -> bool:
    """Whether ``data`` has the outer shape of a PKCS#12 file, whatever the password.

    That shape is a SEQUENCE spanning the whole input that opens with ``version 3`` and then a
    SEQUENCE (the ``authSafe`` ContentInfo).
    cryptography raises the same ``ValueError`` type for a wrong password and for bytes that
    are no PKCS#12 at all, and its messages are not an API. A file with the right outer shape
    whose MAC or bags fail to open is, in practice, a wrong password: the PKCS#12 MAC is keyed
    by the password, so a corrupted inside cannot be told from a wrong password by anyone.
    """
    header = _outer_sequence_header(data)
    return header is not None and data[header : header + 4] == b"\x02\x01\x03\x30"
