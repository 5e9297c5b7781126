"""Taiwan national ID and resident certificate numbers, with their check digit.

Formats (see docs/PROTOCOL.md, "Customer ID"):

- national ID: a letter, ``1`` or ``2``, eight digits (``A123456789``);
- resident certificate, new (2021): a letter, ``8`` or ``9``, eight digits;
- resident certificate, old: two letters, the second ``A``–``D``, eight digits.
"""

from __future__ import annotations

import re

from sync_client.errors import InvalidNationalId
from sync_client.i18n import msg

# The first letter's two-digit code. I, O, W, Z, X, Y sit out of order for historical reasons.
LETTER_CODES = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34,
    "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25,
    "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30, "Y": 31, "Z": 33,
}  # fmt: skip

_FORMAT = re.compile(r"[A-Z](?:[1289]|[A-D])[0-9]{8}", re.ASCII)
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1)


def _checksum_ok(value: str) -> bool:
    first = LETTER_CODES[value[0]]
    total = first // 10 + (first % 10) * 9
    second = value[1]
    middle = [LETTER_CODES[second] % 10 if second.isalpha() else int(second)]
    middle += [int(c) for c in value[2:9]]
    total += sum(w * d for w, d in zip(_WEIGHTS, middle, strict=True))
    total += int(value[9])
    return total % 10 == 0


# Only ASCII spaces and tabs are taken off the ends. Upper-casing comes after the ASCII check:
# Unicode case rules fold other letters onto ASCII ones (``ſ`` → ``S``, ``ı`` → ``I``), which
# would let a look-alike ID reach a real customer's account.
_ASCII_BLANKS = " \t\r\n"


def normalize_national_id(raw: str) -> str:
    """Return ``raw`` without surrounding ASCII blanks and upper-cased if it is a valid ID;
    raise ``InvalidNationalId`` (so for any non-ASCII character)."""
    value = raw.strip(_ASCII_BLANKS)
    if not value.isascii():
        raise InvalidNationalId(msg("sdk.national_id.format", value=value[:20]))
    value = value.upper()
    if not _FORMAT.fullmatch(value):
        raise InvalidNationalId(msg("sdk.national_id.format", value=value[:20]))
    if not _checksum_ok(value):
        raise InvalidNationalId(msg("sdk.national_id.check_digit", value=value))
    return value


def is_valid_national_id(raw: str) -> bool:
    """Whether ``raw`` is a valid ID as it stands (no case folding)."""
    try:
        return normalize_national_id(raw) == raw
    except InvalidNationalId:
        return False
