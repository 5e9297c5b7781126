"""Taiwan national ID and resident certificate numbers (docs/PROTOCOL.md, "Customer ID")."""

from __future__ import annotations

import pytest

from sync_client.errors import InvalidInput, InvalidNationalId
from sync_client.national_id import is_valid_national_id, normalize_national_id

VALID = [
    "A123456789",  # the example in PROTOCOL.md
    "B212345670",  # national ID, second digit 2
    "F112345672",
    "A812345671",  # resident certificate, new format (8/9)
    "AC12345679",  # resident certificate, old format (second letter A-D)
    "FD12345676",
]


@pytest.mark.parametrize("value", VALID)
def test_valid_ids(value: str) -> None:
    assert normalize_national_id(value) == value
    assert is_valid_national_id(value)


@pytest.mark.parametrize("value", ["A123456788", "B212345671", "AC12345678", "A812345670"])
def test_wrong_check_digit(value: str) -> None:
    with pytest.raises(InvalidNationalId) as caught:
        normalize_national_id(value)
    assert caught.value.code == "invalid_national_id"
    assert not is_valid_national_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "A12345678",  # too short
        "A1234567890",  # too long
        "A323456789",  # 3 cannot be the second character
        "A023456789",
        "AE12345678",  # an old-format second letter is A-D only
        "1123456789",
        "A12345678X",
        "\uff21123456789",  # full-width letter A
    ],
)
def test_malformed(value: str) -> None:
    with pytest.raises(InvalidNationalId):
        normalize_national_id(value)
    assert not is_valid_national_id(value)


def test_lowercase_and_spaces_normalize() -> None:
    assert normalize_national_id("a123456789") == "A123456789"
    assert normalize_national_id("  ac12345679\n") == "AC12345679"
    # is_valid_national_id judges the value as it stands: it must already be normalized.
    assert not is_valid_national_id("a123456789")


def test_is_an_invalid_input() -> None:
    # Callers that catch every bad user value catch this one too.
    with pytest.raises(InvalidInput):
        normalize_national_id("nope")


@pytest.mark.parametrize("value", ["A12345678\uff19", "A1\u0662\u0663456789"])
def test_non_ascii_digits_are_refused(value: str) -> None:
    # Full-width or Arabic-Indic digits pass the check digit through int(), and the
    # "normalized" ID would then differ from the one on the certificate.
    with pytest.raises(InvalidNationalId):
        normalize_national_id(value)


@pytest.mark.parametrize(
    "look_alike",
    [
        "ſ123456784",  # LATIN SMALL LETTER LONG S upper-cases to S
        "ı123456789",  # DOTLESS I upper-cases to I
        "Ａ123456789",  # FULLWIDTH A
        "A１23456789",  # FULLWIDTH DIGIT ONE
        "A123456789\u00a0",  # NO-BREAK SPACE is not stripped
        "\u3000A123456789",  # IDEOGRAPHIC SPACE
    ],
)
def test_a_non_ascii_look_alike_is_refused_not_folded_onto_a_real_id(look_alike: str) -> None:
    with pytest.raises(InvalidNationalId):
        normalize_national_id(look_alike)


def test_ascii_blanks_around_and_lower_case_are_still_accepted() -> None:
    assert normalize_national_id(" \ta123456789\t ") == "A123456789"
