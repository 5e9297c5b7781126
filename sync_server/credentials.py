"""Secrets the server hands out or checks: login passwords, session tokens, enrollment codes.

- Login passwords: Argon2id (memory-hard), PHC-encoded with its own salt and parameters.
- Session tokens, relay ids, challenge ids: 256 or 128 random bits; tokens are stored as SHA-256
  (a fast hash is enough for values nobody can guess).
- Enrollment codes: 12 characters from a 32-character alphabet without look-alikes
  (60 bits), printed in three groups of four, stored as SHA-256 over the customer ID and the
  code. Online guessing is stopped by the 5-try limit; an offline search of a stolen table has
  to beat 2^60 per customer before the code expires (7 days by default).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

# Codes are case-sensitive and copied by hand from a slip, so no two characters may be taken
# for each other: no 0/O/o, 1/I/l/i, 2/Z/z, 5/S/s, 8/B, 6/G/b, 9/g/q, T (for 7), no lower-case
# letter shaped like its capital (c k p u v w x y).
CODE_ALPHABET = "ACDEFHJKLMNPQRUVWXYadefhjmnrt347"
CODE_LENGTH = 12


def hash_password(password: str, *, memory_kib: int, iterations: int) -> str:
    kdf = Argon2id(
        salt=os.urandom(16), length=32, iterations=iterations, lanes=1, memory_cost=memory_kib
    )
    return kdf.derive_phc_encoded(password.encode())


def verify_password(password: str, encoded: str) -> bool:
    try:
        Argon2id.verify_phc_encoded(password.encode(), encoded)
    except (InvalidKey, ValueError):
        return False
    return True


def new_token() -> str:
    """A session token: 256 random bits, base64url."""
    return secrets.token_urlsafe(32)


def new_id(nbytes: int = 16) -> str:
    """A random identifier (128 bits by default), base64url without padding."""
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_enrollment_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_enrollment_code(code: str) -> str:
    """How the slip prints it: three groups of four (``AdC3-eFh4-KmNr``)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_enrollment_code(typed: str) -> str:
    """Drop the spaces and hyphens a customer may type; case is kept (codes are case-sensitive)."""
    return typed.replace("-", "").replace(" ", "").strip()


def hash_enrollment_code(customer_id: str, code: str) -> str:
    return hashlib.sha256(f"certsync-enrollment\n{customer_id}\n{code}".encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
