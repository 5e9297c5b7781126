"""The rules for a new PFX password (pure): the original's, with the server's minimum length.

A new PFX password has at least ``min_length`` characters (the server's policy, 4 by default),
at most 64, and is typed twice. Its characters are printable ASCII: letters, digits and the
keyboard's symbols (``New-2026!``), as PRODUCT.md's function 2 allows. Not non-ASCII, because
the same password must open the file on the phone and in other PKCS#12 readers, whose handling
of non-ASCII passwords differs; and not spaces, which a person cannot see they typed twice.
"""

from __future__ import annotations

from pc_client.errors import PasswordRejected, PcCode
from pc_client.messages import msg

MAX_LENGTH = 64
PRINTABLE_FIRST, PRINTABLE_LAST = "!", "~"  # printable ASCII, space excluded


def check_new_password(password: str, again: str, *, min_length: int) -> str:
    """Return ``password`` if it may become a PFX password; raise ``PasswordRejected``."""
    if len(password) < min_length:
        raise PasswordRejected(
            msg("password.too_short", min_length=min_length), code=PcCode.PASSWORD_TOO_SHORT
        )
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(
            msg("password.too_long", max_length=MAX_LENGTH), code=PcCode.PASSWORD_TOO_LONG
        )
    if not all(PRINTABLE_FIRST <= char <= PRINTABLE_LAST for char in password):
        raise PasswordRejected(msg("password.characters"), code=PcCode.PASSWORD_CHARACTERS)
    if password != again:
        raise PasswordRejected(msg("password.differ"), code=PcCode.PASSWORDS_DIFFER)
    return password
