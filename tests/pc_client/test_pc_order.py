"""``order``: signed orders, and when the security setting asks for the PFX password.

Each ``Pc.run`` is a fresh ``main()``: a new App, store and HTTP client, as a new ``pc-client``
process would have, so "not asked again" here means across processes."""

from __future__ import annotations

import json
import stat

import pytest
from agent_support import agent_alive, wait_until_gone
from cryptography.hazmat.primitives import serialization
from keyring_backend import FileKeyring
from pc_harness import CUSTOMER, NEW_PFX_PASSWORD, PFX_PASSWORD, Pc

from sync_client.key_agent import AgentHandle, stop_agent
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


def _key_forms(pc: Pc) -> list[bytes]:
    """Every plain encoding of the PFX's private key that could leak: PKCS#8 and the
    traditional forms, DER and PEM."""
    key = pc.open_pfx(PFX_PASSWORD).key
    forms = []
    for encoding in (serialization.Encoding.DER, serialization.Encoding.PEM):
        for fmt in (
            serialization.PrivateFormat.PKCS8,
            serialization.PrivateFormat.TraditionalOpenSSL,
        ):
            forms.append(key.private_bytes(encoding, fmt, serialization.NoEncryption()))
    return forms


def _agent(pc: Pc) -> AgentHandle:
    return AgentHandle.from_json(json.loads((pc.home / "session-agent.json").read_text()))


def test_setting_2_asks_once_per_login_and_needs_no_credential_store(enrolled: Pc) -> None:
    """This machine has no credential store: setting 2 still asks only on the first order."""
    first = enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")
    # Each run is a new App, store and client, as a new pc-client process would be.
    second = enrolled.ok(*ORDER, input="")
    third = enrolled.ok(*ORDER, input="")

    assert first["password_asked"] is True
    assert second["password_asked"] is False and third["password_asked"] is False
    assert len({first["order_id"], second["order_id"], third["order_id"]}) == 3
    assert second["serial"] == first["serial"]
    handle = enrolled.home / "session-agent.json"
    assert stat.S_IMODE(handle.stat().st_mode) == 0o600
    assert agent_alive(_agent(enrolled).pid)
    assert not (enrolled.home / "session-key").exists()  # no sealed key on disk any more
    assert PFX_PASSWORD.encode() not in _home_text(enrolled)  # never on disk in the store


def test_setting_2_asks_again_after_logout_and_login(enrolled: Pc) -> None:
    enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")
    assert enrolled.ok(*ORDER, input="")["password_asked"] is False
    agent = _agent(enrolled)

    enrolled.ok("logout")
    assert not (enrolled.home / "session-agent.json").exists()
    assert wait_until_gone(agent.pid)  # the agent ended with the session
    enrolled.login()
    assert enrolled.run(*ORDER, input="").error == "input_missing"
    assert enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")["password_asked"] is True
    assert enrolled.ok(*ORDER, input="")["password_asked"] is False
    agent = _agent(enrolled)

    enrolled.login()  # a new login without a logout: the agent kept for the old one goes too
    assert not (enrolled.home / "session-agent.json").exists()
    assert wait_until_gone(agent.pid)
    assert enrolled.run(*ORDER, input="").error == "input_missing"


def test_the_store_never_holds_the_key_and_an_old_handle_is_useless(enrolled: Pc) -> None:
    enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")
    stored = _home_text(enrolled)
    for form in _key_forms(enrolled):
        assert form not in stored
    assert b"PRIVATE KEY" not in stored and PFX_PASSWORD.encode() not in stored
    old = (enrolled.home / "session-agent.json").read_bytes()
    old_agent = _agent(enrolled)

    enrolled.ok("logout")
    assert wait_until_gone(old_agent.pid)
    enrolled.login()
    # Put back in the store by hand, the old handle does not spare the question.
    (enrolled.home / "session-agent.json").write_bytes(old)
    before = enrolled.snapshot()
    assert enrolled.run(*ORDER, input="").error == "input_missing"
    assert enrolled.snapshot() == before
    assert enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")["password_asked"] is True
    assert (enrolled.home / "session-agent.json").read_bytes() != old  # this login's agent


def test_a_damaged_or_dead_agent_means_asking_again(enrolled: Pc) -> None:
    enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")
    path = enrolled.home / "session-agent.json"
    good = path.read_bytes()
    path.write_text("{not json")

    before = enrolled.snapshot()
    assert enrolled.run(*ORDER, input="").error == "input_missing"
    assert enrolled.snapshot() == before
    path.write_bytes(good)
    assert enrolled.ok(*ORDER, input="")["password_asked"] is False  # the agent is still there

    assert stop_agent(_agent(enrolled))  # the agent ends (idle, reboot): the handle is useless
    assert enrolled.run(*ORDER, input="").error == "input_missing"
    assert enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")["password_asked"] is True
    assert enrolled.ok(*ORDER, input="")["password_asked"] is False


def test_setting_2_leaves_the_credential_store_alone(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    enrolled.ok(*ORDER, input=f"{PFX_PASSWORD}\n")
    assert enrolled.ok(*ORDER, input="")["password_asked"] is False
    assert credential_store.entries().get("certsync", {}) == {}


def test_setting_2_after_a_renewal_asks_for_the_new_certificate(renewal_pc: Pc) -> None:
    """The agent started before the renewal holds the old certificate's key: it is not used,
    and the next order's agent replaces it."""
    renewal_pc.ok(*ORDER, input=f"{PFX_PASSWORD}\n")
    old_agent = _agent(renewal_pc)
    renewal_pc.ok(
        "renew", "--agree", input=f"{PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n{NEW_PFX_PASSWORD}\n"
    )
    assert renewal_pc.run(*ORDER, input="").error == "input_missing"
    renewed = renewal_pc.ok(*ORDER, input=f"{NEW_PFX_PASSWORD}\n")
    assert wait_until_gone(old_agent.pid) and _agent(renewal_pc).pid != old_agent.pid
    assert renewed["password_asked"] is True
    assert renewed["serial"] == str(renewal_pc.open_pfx(NEW_PFX_PASSWORD).serial)
    assert renewal_pc.ok(*ORDER, input="")["serial"] == renewed["serial"]


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
