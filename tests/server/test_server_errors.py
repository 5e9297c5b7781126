"""The server's error vocabulary is defined once: the operator's codes are ``ConfigCode``, listed
exactly in docs/OPERATIONS.md; the wire codes are ``ErrorCode``, each with its HTTP status."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sync_client.codes import ErrorCode
from sync_server.errors import ConfigCode, ConfigError, ServiceError, error_code

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "OPERATIONS.md"


def documented_config_codes() -> set[str]:
    """The codes in the first column of OPERATIONS.md's "Codes an operator sees" table."""
    text = OPERATIONS.read_text(encoding="utf-8")
    section = text.split("## Codes an operator sees", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows, "the table of operator codes is missing"
    return {code for row in rows for code in re.findall(r"`([a-z_]+)`", row.split("|")[1])}


def test_every_config_code_is_documented_and_every_documented_code_exists() -> None:
    assert documented_config_codes() == {code.value for code in ConfigCode}


def test_a_config_error_carries_its_code_and_refuses_an_unknown_one() -> None:
    assert ConfigError("The port is taken.", code="port_in_use").code is ConfigCode.PORT_IN_USE
    assert ConfigError("Bad setting.").code is ConfigCode.CONFIG
    with pytest.raises(ValueError):
        ConfigError("Spelled wrong.", code="port_is_used")


def test_a_service_error_takes_its_status_from_its_code() -> None:
    refusal = ServiceError(ErrorCode.SLOT_EXPIRED, "This QR code has expired.")
    assert (refusal.status, refusal.to_json()) == (
        410,
        {"error": "slot_expired", "message": "This QR code has expired."},
    )
    details = ServiceError(ErrorCode.ENROLLMENT_CODE_INVALID, "Wrong.", tries_left=2)
    assert details.to_json()["details"] == {"tries_left": 2}


def test_a_code_is_a_member_of_the_vocabulary() -> None:
    assert error_code("enrollment_code_used") is ErrorCode.ENROLLMENT_CODE_USED
    assert error_code(ErrorCode.ORDER_REPLAYED) is ErrorCode.ORDER_REPLAYED
    with pytest.raises(ValueError):
        error_code("no_such_code")
