"""Re-MAC a PKCS#12 file with as many iterations as its encryption.

cryptography (50) encrypts the bags with PBKDF2 at the iteration count we ask for, but writes
the file's integrity MAC with a fixed 2,048 iterations. The MAC key comes from the same
password, so an attacker holding the file would test password guesses against the cheap MAC
instead of the 600,000-round PBKDF2. ``strengthen_mac`` recomputes the MAC (HMAC-SHA-256, key
from the PKCS#12 KDF of RFC 7292 appendix B with ``iterations`` rounds) and rewrites ``MacData``;
OpenSSL and cryptography verify it as usual.

The DER handled here is the PFX's outer shape only (RFC 7292 §4)::

    PFX ::= SEQUENCE { version INTEGER, authSafe ContentInfo, macData MacData OPTIONAL }
    ContentInfo ::= SEQUENCE { contentType OID (data), content [0] EXPLICIT OCTET STRING }
    MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER }
"""

from __future__ import annotations

import hashlib
import hmac
import os

from sync_client.errors import PfxInvalid
from sync_client.i18n import msg

_SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")  # AlgorithmIdentifier
_BLOCK = 64  # SHA-256's block size: "v" in RFC 7292 appendix B
_MAC_ID = 3  # "the material is to be used as a MAC key"


def _read_tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """``(tag, value_start, value_end)`` of the DER element at ``offset``."""
    if offset + 2 > len(data):
        raise PfxInvalid(msg("sdk.pfx.truncated"))
    tag, first = data[offset], data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise PfxInvalid(msg("sdk.pfx.not_der"))
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    if start + length > len(data):
        raise PfxInvalid(msg("sdk.pfx.truncated"))
    return tag, start, start + length


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + value


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _repeat_to_blocks(data: bytes) -> bytes:
    if not data:
        return b""
    length = _BLOCK * ((len(data) + _BLOCK - 1) // _BLOCK)
    return (data * (length // len(data) + 1))[:length]


def pkcs12_mac_key(password: str, salt: bytes, iterations: int) -> bytes:
    """RFC 7292 B.2 with SHA-256, ID 3, 32 bytes (one hash block, so no ``I`` update rounds)."""
    bmp = password.encode("utf-16-be") + b"\x00\x00"
    digest = bytes([_MAC_ID]) * _BLOCK + _repeat_to_blocks(salt) + _repeat_to_blocks(bmp)
    for _ in range(iterations):
        digest = hashlib.sha256(digest).digest()
    return digest


def strengthen_mac(pfx_der: bytes, password: str, iterations: int) -> bytes:
    """The same PFX with an HMAC-SHA-256 MAC over ``iterations`` KDF rounds and a fresh salt."""
    tag, start, end = _read_tlv(pfx_der, 0)
    if tag != 0x30 or end != len(pfx_der):
        raise PfxInvalid(msg("sdk.pfx.not_sequence"))
    _, _, version_end = _read_tlv(pfx_der, start)
    _, info_start, auth_safe_end = _read_tlv(pfx_der, version_end)
    _, _, oid_end = _read_tlv(pfx_der, info_start)
    explicit_tag, explicit_start, _ = _read_tlv(pfx_der, oid_end)
    octets_tag, content_start, content_end = _read_tlv(pfx_der, explicit_start)
    if explicit_tag != 0xA0 or octets_tag != 0x04:
        raise PfxInvalid(msg("sdk.pfx.auth_safe"))
    salt = os.urandom(16)
    key = pkcs12_mac_key(password, salt, iterations)
    mac = hmac.new(key, pfx_der[content_start:content_end], hashlib.sha256).digest()
    mac_data = _tlv(
        0x30,
        _tlv(0x30, _SHA256_ALGORITHM + _tlv(0x04, mac)) + _tlv(0x04, salt) + _integer(iterations),
    )
    return _tlv(0x30, pfx_der[start:auth_safe_end] + mac_data)
