"""Security setting 2 between processes: the unlocked key, kept only as ciphertext whose key
lives at the server and dies with the login session.

Setting 2 asks for the PFX password on the first order of a login and not again until logout.
A phone app keeps the unlocked key in memory; ``pc-client`` and ``mobile-stub`` run one process
per command, so the key has to wait on disk between two orders. It waits sealed under the
login session's *unlock secret* (``GET /api/v1/sessions/current/unlock-secret``): 256 bits the
server keeps for the session and forgets at logout, and refuses to hand out once the session
has ended or expired. The file alone opens nothing; with the secret gone it never will.

    blob = 0x01 || nonce (12 bytes) || AES-256-GCM(k, nonce, PKCS#8 DER of the key, aad)
    k    = HKDF-SHA256(ikm = unlock secret, salt = none, info = "certsync-session-key-v1")
    aad  = UTF-8 of "certsync-session-key-v1\\n<customer_id>\\n<certificate fingerprint>"

The associated data binds the blob to one customer and one certificate (SHA-256 of its DER,
lower-case hex): a blob moved to another customer's store, or kept across a renewal or an
import, fails to open instead of handing back a key for the wrong certificate. A fresh random
nonce per blob is safe: each login's key seals a handful of blobs at most.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync_client.errors import InvalidInput, SessionKeyInvalid
from sync_client.i18n import N_, msg
from sync_client.keys import PrivateKey

SESSION_KEY_DOMAIN = "certsync-session-key-v1"
SECRET_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# An RSA-4096 key is under 2.5 KB of PKCS#8 DER; anything much larger is not ours.
MAX_BLOB_BYTES = 16 * 1024

_VERSION_BYTE = b"\x01"
_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES
_INVALID = N_("sdk.session_key.invalid")


def _cipher(secret: bytes) -> AESGCM:
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=SESSION_KEY_DOMAIN.encode("ascii")
    )
    return AESGCM(hkdf.derive(secret))


def _aad(customer_id: str, cert_fingerprint: str) -> bytes:
    return "\n".join((SESSION_KEY_DOMAIN, customer_id, cert_fingerprint)).encode("utf-8")


def wrap_session_key(
    key: PrivateKey, secret: bytes, *, customer_id: str, cert_fingerprint: str
) -> bytes:
    """Seal ``key`` under the session's unlock ``secret`` for one customer and certificate.

    Raises ``InvalidInput`` for a secret that is not 32 bytes (the length only is named).
    """
    if len(secret) != SECRET_BYTES:
        raise InvalidInput(
            msg("sdk.session_key.secret_length", expected=SECRET_BYTES, actual=len(secret))
        )
    plaintext = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(secret).encrypt(nonce, plaintext, _aad(customer_id, cert_fingerprint))
    return _VERSION_BYTE + nonce + sealed


def unwrap_session_key(
    blob: bytes, secret: bytes, *, customer_id: str, cert_fingerprint: str
) -> PrivateKey:
    """The key sealed by ``wrap_session_key`` with the same secret, customer and certificate.

    Every failure is ``SessionKeyInvalid`` (code ``session_key_invalid``): a secret of another
    session or of the wrong length, another customer or certificate, a changed byte, an
    unknown version, a plaintext that is not an RSA or EC key. The causes are not told apart;
    for the caller each one means "ask for the PFX password again".
    """
    if (
        len(secret) != SECRET_BYTES
        or not _OVERHEAD < len(blob) <= MAX_BLOB_BYTES
        or blob[:1] != _VERSION_BYTE
    ):
        raise SessionKeyInvalid(msg(_INVALID))
    nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        plaintext = _cipher(secret).decrypt(nonce, sealed, _aad(customer_id, cert_fingerprint))
    except InvalidTag:
        raise SessionKeyInvalid(msg(_INVALID)) from None
    try:
        key = serialization.load_der_private_key(plaintext, password=None)
    except (ValueError, TypeError):
        raise SessionKeyInvalid(msg(_INVALID)) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SessionKeyInvalid(msg(_INVALID))
    return key
