"""``sync-server admin`` reads a piped password once, or twice the same: never the first of two.

A terminal asks for the confirmation itself (click re-asks until the two match). A script may
pipe one line, or the password and its confirmation; two different lines are refused with
``password_confirmation_differs`` (exit 2, one line) and nothing is created or changed.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sync_server.cli import main

from .harness import national_id

CUSTOMER = national_id(5151)
PASSWORD = "typed-at-the-counter-1"

Admin = Callable[..., tuple[int, str, str]]


@pytest.fixture
def admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Admin:
    for name in list(os.environ):
        if name.startswith("SYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SYNC_DATA_DIR", str(tmp_path / "data"))
    assert main(["init"]) == 0
    capsys.readouterr()

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))  # not a TTY: lines are answers
        code = main(["admin", "--staff", "alice", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def refused_in_one_line(run: tuple[int, str, str], code: str) -> None:
    exit_code, out, err = run
    assert exit_code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("error: ") and line.endswith(f"[{code}]"), line
    assert PASSWORD not in err and "other-password" not in err


def customers(admin: Admin) -> str:
    code, out, _ = admin("customers")
    assert code == 0
    return out


def test_two_different_password_lines_create_no_customer(admin: Admin) -> None:
    run = admin("customer-add", CUSTOMER, "--name", "T", stdin=f"{PASSWORD}\nother-password\n")
    refused_in_one_line(run, "password_confirmation_differs")
    assert CUSTOMER not in customers(admin)
    # an empty second line differs too
    run = admin("customer-add", CUSTOMER, "--name", "T", stdin=f"{PASSWORD}\n\n")
    refused_in_one_line(run, "password_confirmation_differs")
    assert CUSTOMER not in customers(admin)


@pytest.mark.parametrize("stdin", [f"{PASSWORD}\n", f"{PASSWORD}\n{PASSWORD}\n", PASSWORD])
def test_one_line_or_twice_the_same_creates_the_customer(admin: Admin, stdin: str) -> None:
    code, _, err = admin("customer-add", CUSTOMER, "--name", "T", stdin=stdin)
    assert code == 0, err
    assert CUSTOMER in customers(admin)


def test_a_new_password_given_differently_twice_changes_nothing(admin: Admin) -> None:
    assert admin("customer-add", CUSTOMER, "--name", "T", stdin=f"{PASSWORD}\n")[0] == 0
    run = admin("customer-passwd", CUSTOMER, stdin="new-password-1\nnew-password-2\n")
    refused_in_one_line(run, "password_confirmation_differs")
    assert "password_set" not in admin("audit")[1]  # nothing was changed
    code, _, err = admin("customer-passwd", CUSTOMER, stdin="new-password-1\nnew-password-1\n")
    assert code == 0, err
    assert "password_set" in admin("audit")[1]
