"""The pure rules (new passwords) the commands share (catalogue: tests/test_catalogue.py)."""

from __future__ import annotations

import pytest

from pc_client.errors import PasswordRejected
from pc_client.passwords import check_new_password
from sync_client.cli_text import localize
from sync_client.i18n import use_language


@pytest.mark.parametrize(
    ("password", "again", "code"),
    [
        ("abc", "abc", "password_too_short"),
        ("a" * 65, "a" * 65, "password_too_long"),
        ("abc 1", "abc 1", "password_characters"),
        ("abcd\t1", "abcd\t1", "password_characters"),
        ("密碼密碼", "密碼密碼", "password_characters"),
        ("abcd1", "abcd2", "passwords_differ"),
    ],
)
def test_new_password_rules(password: str, again: str, code: str) -> None:
    with pytest.raises(PasswordRejected) as caught:
        check_new_password(password, again, min_length=4)
    assert caught.value.code == code
    assert password not in caught.value.message


def test_new_password_accepted() -> None:
    assert check_new_password("Ab12", "Ab12", min_length=4) == "Ab12"
    assert check_new_password("New-2026!", "New-2026!", min_length=4) == "New-2026!"
    assert check_new_password("a" * 64, "a" * 64, min_length=4) == "a" * 64


def test_the_lazy_command_table_matches_each_commands_own_help() -> None:
    import re
    from importlib import import_module

    from pc_client.cli import COMMANDS

    for name, (module, attribute, summary) in COMMANDS.items():
        command = getattr(import_module(f"pc_client.commands.{module}"), attribute)
        with use_language("en"):  # an earlier test may have shown it in Chinese
            localize(command)
        assert command.name == name
        assert re.sub(r"\s+", " ", command.help or "").startswith(summary), name
