"""``order``: signed orders, and when the security setting asks for the PFX password."""

from __future__ import annotations

import json

import pytest
from keyring_backend import FileKeyring
from pc_harness import CUSTOMER, PFX_PASSWORD, Pc

from sync_client.security import SecuritySetting, password_needed

ORDER = ["order", "--symbol", "2330", "--side", "buy", "--qty", "1000", "--price", "612.50"]


def _set(pc: Pc, setting: int) -> None:
    pc.ok("security-setting", str(setting), input=f"{PFX_PASSWORD}\n")
    pc.login()  # takes effect from the next login


def _home_text(pc: Pc) -> bytes:
    return b"".join(data for data, _ in pc.snapshot().values())


def test_order_is_signed_and_accepted(enrolled: Pc) -> None:
    result = enrolled.run(*ORDER, input=f"{PFX_PASSWORD}\n", json_output=False)

    assert result.code == 0, result.err
    assert "accepted: buy 1000 2330 at 612.50" in result.out
    data = enrolled.ok(*ORDER[:-1], "612.5", input=f"{PFX_PASSWORD}\n")
    assert data["order"]["price"] == "612.5"
    assert data["order"]["symbol"] == "2330" and len(data["order"]["client_order_id"]) == 32
    assert data["serial"] == str(enrolled.open_pfx(PFX_PASSWORD).serial)


def test_setting_1_asks_every_time(enrolled: Pc) -> None:
    _set(enrolled, 1)
    first = enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")
    assert first["password_asked"] is True
    assert enrolled.run(*ORDER, input="").error == "input_missing"
    assert enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")["order_id"] != first["order_id"]


def test_setting_2_asks_once_per_login_with_a_credential_store(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    first = enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")
    second = enrolled.ok(*ORDER, input="")

    assert first["password_asked"] is True and second["password_asked"] is False
    session = json.loads((enrolled.home / "session.json").read_text())
    assert session["password_asked"] is True
    assert PFX_PASSWORD.encode() not in _home_text(enrolled)  # never on disk in the store
    assert credential_store.entries()["certsync"][f"{CUSTOMER}@session"] == PFX_PASSWORD

    enrolled.login()  # a new session asks again
    assert enrolled.run(*ORDER, input="").error == "input_missing"
    assert enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")["password_asked"] is True
    enrolled.ok("logout")
    assert f"{CUSTOMER}@session" not in credential_store.entries()["certsync"]


def test_setting_2_without_a_credential_store_asks_again_and_says_why(enrolled: Pc) -> None:
    enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")

    again = enrolled.run(*ORDER, input=f"{PFX_PASSWORD}\n", json_output=False)

    assert again.code == 0
    assert "no credential store" in again.out
    assert PFX_PASSWORD.encode() not in _home_text(enrolled)


def test_setting_3_never_asks(enrolled: Pc, credential_store: FileKeyring) -> None:
    _set(enrolled, 3)
    assert enrolled.ok(*ORDER, input="")["password_asked"] is False
    assert enrolled.ok(*ORDER, input="")["password_asked"] is False


def test_setting_3_without_the_remembered_password(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    _set(enrolled, 3)
    credential_store.delete_password("certsync", CUSTOMER)
    assert enrolled.run(*ORDER, input="").error == "password_not_remembered"
    credential_store.set_password("certsync", CUSTOMER, "stalepass1")
    assert enrolled.run(*ORDER, input="").error == "wrong_password"


def test_a_new_setting_waits_for_the_next_login(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    enrolled.ok("security-setting", "1", input=f"{PFX_PASSWORD}\n")
    # This session started with setting 2: asked once, then not again.
    assert enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")["password_asked"] is True
    assert enrolled.ok(*ORDER, input="")["password_asked"] is False

    enrolled.login()  # now setting 1: every order asks
    assert enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")["password_asked"] is True
    assert enrolled.run(*ORDER, input="").error == "input_missing"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--symbol", "TOO-LONG-SYMBOL!", "--side", "buy", "--qty", "1", "--price", "1"],
         "invalid_input"),
        (["--symbol", "2330", "--side", "buy", "--qty", "1", "--price", "1.234"],
         "invalid_input"),
        (["--symbol", "2330", "--side", "buy", "--qty", "1", "--price", "abc"], "invalid_input"),
        (["--symbol", "2330", "--side", "buy", "--qty", "0", "--price", "1"], "usage"),
    ],
)  # fmt: skip
def test_bad_orders_are_refused_before_asking(enrolled: Pc, args: list[str], code: str) -> None:
    before = enrolled.snapshot()
    assert enrolled.run("order", *args, input="").error == code
    assert enrolled.snapshot() == before


def test_wrong_password_sends_nothing(enrolled: Pc) -> None:
    before = enrolled.snapshot()
    assert enrolled.run(*ORDER, input="wrongpass1\n").error == "wrong_password"
    assert enrolled.snapshot() == before
    assert ("order", "ok") not in enrolled.server.audit_actions()


def test_revoked_certificate_is_refused_by_the_server(enrolled: Pc) -> None:
    enrolled.server.revoke(enrolled.open_pfx(PFX_PASSWORD).serial)
    before = enrolled.snapshot()
    assert enrolled.run(*ORDER, input=f"{PFX_PASSWORD}\n").error == "certificate_not_valid"
    assert enrolled.snapshot() == before


def test_order_without_a_certificate(pc: Pc, customer: str) -> None:
    pc.login()
    assert pc.run(*ORDER, input=f"{PFX_PASSWORD}\n").error == "no_local_certificate"


def test_password_needed_rule() -> None:
    assert password_needed(SecuritySetting.EVERY_ORDER, asked_this_session=True)
    assert password_needed(SecuritySetting.FIRST_ORDER, asked_this_session=False)
    assert not password_needed(SecuritySetting.FIRST_ORDER, asked_this_session=True)
    assert not password_needed(SecuritySetting.NEVER, asked_this_session=False)
