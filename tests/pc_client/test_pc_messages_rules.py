"""The message catalog, and the pure rules (new passwords) that the commands share."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pc_client
from pc_client.commands.doctor import CHECKS
from pc_client.errors import PasswordRejected
from pc_client.messages import EN, ZH_TW, msg, placeholders
from pc_client.passwords import check_new_password
from sync_client.protocol import StatusCode
from sync_client.security import SecuritySetting
from sync_client.verdict import Verdict

SOURCE = Path(pc_client.__file__).parent


def test_every_message_id_used_in_the_code_exists() -> None:
    used: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        used |= set(re.findall(r'msg\(\s*"([a-z0-9_.]+)"', path.read_text()))
    assert used, "the pattern found nothing"
    # Ids built at run time ("verdict." + value, f"doctor.{item}.name") end with a dot here.
    assert {u for u in used if not u.endswith(".")} - set(EN) == set()


def test_ids_built_at_run_time_exist() -> None:
    for verdict in Verdict:
        assert f"verdict.{verdict.value}" in EN
    for code in StatusCode:
        assert f"status.label.{code.label}" in EN
    for item in CHECKS:
        for part in ("name", "purpose", "recommended"):
            assert f"doctor.{item}.{part}" in EN
    for setting in SecuritySetting:
        assert f"setting.description.{int(setting)}" in EN


def test_translations_match_the_english_placeholders() -> None:
    assert set(ZH_TW) <= set(EN)
    for key, template in ZH_TW.items():
        assert placeholders(template) == placeholders(EN[key]), key


def test_the_originals_phrases_are_kept() -> None:
    assert ZH_TW["verdict.no_local_match"] == "您的電腦中沒有與主機相同之憑證"
    assert ZH_TW["verdict.mismatch"] == "憑證不相符"
    assert ZH_TW["status.label.valid"] == "有效憑證"
    assert ZH_TW["status.label.expiring"] == "即將到期"
    assert EN["verdict.no_local_match"] == "No certificate on this computer matches the host."
    assert EN["verdict.mismatch"] == "Certificate mismatch."


def test_msg_fills_values() -> None:
    assert msg("password.too_short", min_length=6) == (
        "The new PFX password needs at least 6 characters."
    )


@pytest.mark.parametrize(
    ("password", "again", "code"),
    [
        ("abc", "abc", "password_too_short"),
        ("a" * 65, "a" * 65, "password_too_long"),
        ("abc 1", "abc 1", "password_characters"),
        ("abcd-1", "abcd-1", "password_characters"),
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
    assert check_new_password("a" * 64, "a" * 64, min_length=4) == "a" * 64


def test_the_lazy_command_table_matches_each_commands_own_help() -> None:
    import re
    from importlib import import_module

    from pc_client.cli import COMMANDS

    for name, (module, attribute, summary) in COMMANDS.items():
        command = getattr(import_module(f"pc_client.commands.{module}"), attribute)
        assert command.name == name
        assert re.sub(r"\s+", " ", command.help or "").startswith(summary), name
