"""``passwd`` (function 8) and ``security-setting`` (function 9)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from keyring_backend import FileKeyring
from pc_harness import CUSTOMER, NEW_PFX_PASSWORD, PFX_PASSWORD, Pc, Server

from sync_client.errors import WrongPfxPassword

PASSWD_ANSWERS = f"{PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n"


def test_passwd_changes_the_file_password(enrolled: Pc) -> None:
    serial = enrolled.open_pfx(PFX_PASSWORD).serial

    result = enrolled.run("passwd", input=PASSWD_ANSWERS, json_output=False)

    assert result.code == 0, result.err
    assert "was changed" in result.out
    assert enrolled.open_pfx(NEW_PFX_PASSWORD).serial == serial
    with pytest.raises(WrongPfxPassword):
        enrolled.open_pfx(PFX_PASSWORD)
    assert subprocess.run(
        ["openssl", "pkcs12", "-info", "-noout", "-in", str(enrolled.pfx_path()),
         "-passin", f"pass:{NEW_PFX_PASSWORD}"], capture_output=True, check=False,
    ).returncode == 0  # fmt: skip
    assert not list(enrolled.home.glob(".*"))
    assert enrolled.ok("status")["verdict"] == "match"  # still registered


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        (f"wrongpass1\n{NEW_PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n", "wrong_password"),
        (f"{PFX_PASSWORD}\nnewpass1\nnewpass2\n", "passwords_differ"),
        (f"{PFX_PASSWORD}\nab1\nab1\n", "password_too_short"),
        (f"{PFX_PASSWORD}\nnew密碼1\nnew密碼1\n", "password_characters"),
        (f"{PFX_PASSWORD}\n", "input_missing"),
    ],
)
def test_passwd_refusals_change_nothing(enrolled: Pc, answers: str, code: str) -> None:
    before = enrolled.snapshot()

    result = enrolled.run("passwd", input=answers)

    assert result.error == code
    assert enrolled.snapshot() == before


def test_passwd_works_logged_out_for_the_last_customer(enrolled: Pc) -> None:
    enrolled.ok("logout")
    enrolled.ok("passwd", input=PASSWD_ANSWERS)
    assert enrolled.open_pfx(NEW_PFX_PASSWORD)


def test_passwd_uses_the_minimum_seen_at_login_when_offline(
    make_server: Callable[..., Server], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server(pfx_password_min_length=8)
    server.add_customer()
    pc = Pc(tmp_path / "BTS", server, capsys)
    pc.login()
    pc.apply("longpass1")

    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    offline = httpx2.Client(transport=httpx2.MockTransport(refuse), base_url="http://x")
    short = pc.run("passwd", input="longpass1\nshort12\nshort12\n", http=offline)
    assert short.error == "password_too_short"
    assert "8 characters" in short.data["message"]
    assert pc.run("passwd", input="longpass1\nlonger123\nlonger123\n", http=offline).code == 0
    assert pc.open_pfx("longer123")


def test_passwd_without_a_certificate(pc: Pc, customer: str) -> None:
    pc.login()
    result = pc.run("passwd", input=PASSWD_ANSWERS)
    assert result.error == "no_local_certificate"


def test_passwd_before_anyone_logged_in(pc: Pc) -> None:
    assert pc.run("passwd", input=PASSWD_ANSWERS).error == "not_logged_in"


def test_passwd_updates_a_remembered_password(enrolled: Pc, credential_store: FileKeyring) -> None:
    enrolled.ok("security-setting", "3", input=f"{PFX_PASSWORD}\n")
    enrolled.ok("passwd", input=PASSWD_ANSWERS)
    assert credential_store.entries()["certsync"][CUSTOMER] == NEW_PFX_PASSWORD


# -- security setting -----------------------------------------------------------------------


def test_show_the_current_setting(enrolled: Pc) -> None:
    data = enrolled.ok("security-setting")
    assert data["security_setting"] == 2
    assert data["session_security_setting"] == 2
    assert data["credential_store_available"] is False
    text = enrolled.run("security-setting", json_output=False).out
    assert "Security setting 2: ask on the first order after each login." in text


def test_choosing_takes_effect_from_the_next_login(enrolled: Pc) -> None:
    result = enrolled.run("security-setting", "1", input=f"{PFX_PASSWORD}\n", json_output=False)
    assert result.code == 0
    assert "takes effect from the next login" in result.out

    shown = enrolled.ok("security-setting")
    assert shown["security_setting"] == 1 and shown["session_security_setting"] == 2
    assert json.loads((enrolled.home / "session.json").read_text())["security_setting"] == 2

    enrolled.login()
    assert enrolled.ok("security-setting")["session_security_setting"] == 1


@pytest.mark.parametrize(
    ("args", "answers", "code"),
    [
        (["1"], "wrongpass1\n", "wrong_password"),
        (["1"], "", "input_missing"),
        (["4"], f"{PFX_PASSWORD}\n", "invalid_input"),
        (["x"], f"{PFX_PASSWORD}\n", "invalid_input"),
        (["3"], f"{PFX_PASSWORD}\n", "credential_store_unavailable"),
    ],
)
def test_setting_refusals_change_nothing(
    enrolled: Pc, args: list[str], answers: str, code: str
) -> None:
    before = enrolled.snapshot()
    assert enrolled.run("security-setting", *args, input=answers).error == code
    assert enrolled.snapshot() == before


def test_setting_3_with_a_credential_store(enrolled: Pc, credential_store: FileKeyring) -> None:
    enrolled.ok("security-setting", "3", input=f"{PFX_PASSWORD}\n")

    assert credential_store.entries()["certsync"][CUSTOMER] == PFX_PASSWORD
    # Leaving setting 3 forgets the password at the next login, when the change takes effect.
    enrolled.ok("security-setting", "1", input=f"{PFX_PASSWORD}\n")
    assert CUSTOMER in credential_store.entries()["certsync"]
    enrolled.login()
    assert CUSTOMER not in credential_store.entries()["certsync"]


def test_setting_needs_a_certificate(pc: Pc, server: Server, customer: str) -> None:
    pc.login()
    assert pc.run("security-setting", "1", input=f"{PFX_PASSWORD}\n").error == (
        "no_local_certificate"
    )
