"""The phone signs orders with its copy, asking for the PFX password as its setting says;
``status`` compares the phone's certificate with the host's; login and logout."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from agent_support import agent_alive, agents_in, wait_until_gone
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from keyring.backend import KeyringBackend
from mobile_stub_support import CUSTOMER_A, LOGIN_PASSWORD, PFX_PASSWORD, Customer, Phone, World

from sync_client.api import SyncClient
from sync_client.errors import ServerRefused
from sync_client.key_agent import AgentHandle
from sync_client.pfx import load_pfx
from sync_server.revocation import revoke

ORDER = ("order", "--symbol", "2330", "--side", "buy", "--qty", "1000", "--price", "612.50")


@pytest.fixture
def paired(world: World, alice: Customer, phone: Phone) -> Phone:
    phone.login(CUSTOMER_A)
    result = phone.pair(world.send(alice).payload)
    assert result.rc == 0, result.err
    return phone


def _orders_posted(world: World) -> int:
    return sum(1 for p in world.request_paths() if p == "POST /api/v1/orders")


def test_setting_2_asks_on_the_first_order_after_each_login(paired: Phone) -> None:
    first = paired.run(*ORDER, input=PFX_PASSWORD + "\n")
    assert first.rc == 0, first.err
    assert first.json["password_asked"] is True and first.unread_input == ""

    second = paired.run(*ORDER)  # no input at all: it must not ask
    assert second.rc == 0, second.err
    assert second.json["password_asked"] is False
    assert second.json["client_order_id"] != first.json["client_order_id"]

    assert paired.run("logout").rc == 0
    paired.login(CUSTOMER_A)
    not_typed = paired.run(*ORDER)
    assert not_typed.rc == 1 and not_typed.code == "input_missing"
    typed = paired.run(*ORDER, input=PFX_PASSWORD + "\n")
    assert typed.rc == 0 and typed.json["password_asked"] is True


def _key_forms(customer: Customer) -> list[bytes]:
    """Every plain encoding of the customer's private key (PKCS#8 and traditional, DER and
    PEM, the raw EC scalar) and each of them in base64."""
    key = load_pfx(customer.pfx_bytes, PFX_PASSWORD).key
    forms = [
        key.private_bytes(encoding, fmt, serialization.NoEncryption())
        for encoding in (serialization.Encoding.DER, serialization.Encoding.PEM)
        for fmt in (
            serialization.PrivateFormat.PKCS8,
            serialization.PrivateFormat.TraditionalOpenSSL,
        )
    ]
    if isinstance(key, ec.EllipticCurvePrivateKey):
        forms.append(key.private_numbers().private_value.to_bytes(32, "big"))
    return forms + [base64.b64encode(form) for form in forms]


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _files(folder: Path) -> dict[Path, bytes]:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _agent(phone: Phone) -> AgentHandle:
    return AgentHandle.from_json(json.loads((phone.home / "session-agent.json").read_text()))


def test_setting_2_signs_through_the_key_agent_until_logout(
    paired: Phone, alice: Customer, no_agents_left: Path
) -> None:
    assert paired.run(*ORDER, input=PFX_PASSWORD + "\n").json["password_asked"] is True
    handle_file = paired.home / "session-agent.json"
    assert stat.S_IMODE(handle_file.stat().st_mode) == 0o600
    agent = _agent(paired)
    assert agent_alive(agent.pid) and agents_in(no_agents_left) == [agent.pid]
    # The key that signed the next order is the agent's: without it, the order would ask.
    second = paired.run(*ORDER)
    assert second.rc == 0 and second.json["password_asked"] is False

    # Neither the key nor the password is anywhere on the phone's disk or in the runtime
    # folder; the old sealed key is gone, and the session file holds what it always did.
    stored = _all_bytes(paired.home) + _all_bytes(no_agents_left)
    for form in _key_forms(alice):
        assert form not in stored
    assert PFX_PASSWORD.encode() not in stored and b"PRIVATE KEY" not in stored
    assert not (paired.home / "session-key").exists()
    session = json.loads((paired.home / "session.json").read_text())
    assert set(session) == {"server_url", "customer_id", "token", "expires_at", "security_setting"}

    assert paired.run("logout").rc == 0
    assert not handle_file.exists() and not (paired.home / "session.json").exists()
    assert wait_until_gone(agent.pid)  # the agent ended with the session
    assert not Path(agent.socket_path).parent.exists()


def test_a_copy_of_the_phone_s_home_signs_nothing_without_the_password(
    paired: Phone, world: World, make_phone: Callable[[str], Phone]
) -> None:
    """The home copied during the session, token and agent handle included (a backup,
    another machine or user): without the original phone's running agent it cannot sign."""
    assert paired.run(*ORDER, input=PFX_PASSWORD + "\n").rc == 0
    copy = make_phone("copy")
    shutil.copytree(paired.home, copy.home)
    # The other machine has no such agent; here the original one ends (as at a reboot).
    agent = _agent(copy)
    os.kill(agent.pid, signal.SIGTERM)
    assert wait_until_gone(agent.pid)

    before, posted = _files(copy.home), _orders_posted(world)
    asked = copy.run(*ORDER)  # the session token is still good: only the password is missing
    assert asked.rc == 1 and asked.code == "input_missing"
    wrong = copy.run(*ORDER, input="wrong-password\n")
    assert wrong.rc == 1 and wrong.code == "wrong_password"
    assert _orders_posted(world) == posted and _files(copy.home) == before
    # The original phone, its agent gone, asks too.
    assert paired.run(*ORDER).code == "input_missing"
    # With the password it is an ordinary order: the PFX password was always the barrier.
    typed = copy.run(*ORDER, input=PFX_PASSWORD + "\n")
    assert typed.rc == 0 and typed.json["password_asked"] is True


def test_a_copy_put_back_after_logout_asks_for_the_password(
    paired: Phone, world: World, tmp_path: Path
) -> None:
    assert paired.run(*ORDER, input=PFX_PASSWORD + "\n").rc == 0
    copy = tmp_path / "copy"
    shutil.copytree(paired.home, copy)
    agent = _agent(paired)
    assert paired.run("logout").rc == 0
    assert wait_until_gone(agent.pid)

    shutil.rmtree(paired.home)
    shutil.copytree(copy, paired.home)
    posted = _orders_posted(world)
    assert paired.run(*ORDER).code == "input_missing"  # the ended session's token is refused
    assert _orders_posted(world) == posted


def test_a_new_login_ends_the_agent_kept_for_the_previous_one(paired: Phone) -> None:
    assert paired.run(*ORDER, input=PFX_PASSWORD + "\n").rc == 0
    assert paired.run(*ORDER).json["password_asked"] is False
    agent = _agent(paired)
    (paired.home / "session-key").write_bytes(b"\x01" + b"\0" * 60)  # an older version's file
    paired.login(CUSTOMER_A)  # no logout in between
    assert not (paired.home / "session-agent.json").exists()
    assert not (paired.home / "session-key").exists()
    assert wait_until_gone(agent.pid)
    assert paired.run(*ORDER).code == "input_missing"


def test_a_damaged_or_stale_handle_means_asking_again(paired: Phone) -> None:
    assert paired.run(*ORDER, input=PFX_PASSWORD + "\n").rc == 0
    handle_file = paired.home / "session-agent.json"
    handle = json.loads(handle_file.read_text())
    for damaged in (
        "{ not json",
        json.dumps({**handle, "nonce": base64.b64encode(os.urandom(32)).decode()}),  # wrong
        json.dumps({**handle, "socket": "relative/agent.sock"}),
    ):
        handle_file.write_text(damaged)
        assert paired.run(*ORDER).code == "input_missing"
    # Typing the password starts a new agent and replaces the handle with its own. (The first
    # agent, whose nonce this phone no longer has, ends at its idle timeout or the session's end.)
    again = paired.run(*ORDER, input=PFX_PASSWORD + "\n")
    assert again.rc == 0 and again.json["password_asked"] is True
    assert paired.run(*ORDER).json["password_asked"] is False


def test_a_refused_order_keeps_no_key(
    paired: Phone, world: World, alice: Customer, no_agents_left: Path
) -> None:
    revoke(world.host, str(alice.cert.serial_number), reason="key_compromise", actor="test")
    refused = paired.run(*ORDER, input=PFX_PASSWORD + "\n")
    assert refused.rc == 1 and refused.code == "certificate_not_valid"
    assert not (paired.home / "session-agent.json").exists()
    assert agents_in(no_agents_left) == []  # no agent was started


def test_setting_1_asks_on_every_order_from_the_next_login(paired: Phone, world: World) -> None:
    assert paired.run(*ORDER, input=PFX_PASSWORD + "\n").rc == 0
    changed = paired.run("security-setting", "1", input=PFX_PASSWORD + "\n")
    assert changed.rc == 0, changed.err
    assert changed.json == {
        "customer_id": CUSTOMER_A,
        "security_setting": 1,
        "session_security_setting": 2,
    }
    # This login still runs under setting 2: no question.
    assert paired.run(*ORDER).json["password_asked"] is False

    paired.run("logout")
    paired.login(CUSTOMER_A)
    shown = paired.run("security-setting")
    assert shown.json["security_setting"] == 1 and shown.json["session_security_setting"] == 1
    for _ in range(2):
        result = paired.run(*ORDER, input=PFX_PASSWORD + "\n")
        assert result.rc == 0 and result.json["password_asked"] is True
    posted = _orders_posted(world)
    assert paired.run(*ORDER).code == "input_missing"
    assert _orders_posted(world) == posted


def test_changing_the_setting_needs_the_right_pfx_password(paired: Phone) -> None:
    refused = paired.run("security-setting", "1", input="wrong\n")
    assert refused.rc == 1 and refused.code == "wrong_password"
    assert paired.run("security-setting").json["security_setting"] == 2


def test_setting_3_is_refused_without_a_credential_store(paired: Phone) -> None:
    refused = paired.run("security-setting", "3", input=PFX_PASSWORD + "\n")
    assert refused.code == "credential_store_unavailable"
    assert refused.unread_input == PFX_PASSWORD + "\n"  # refused before asking
    assert paired.run("security-setting").json["security_setting"] == 2


class _MemoryKeyring(KeyringBackend):
    """A credential store that lives in this process: the OS store is an external edge."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


# keyring registers every backend class it sees and would pick this one (priority 1 beats the
# "fail" backend) as the process default. It must be used only where a test installs it.
KeyringBackend._classes.discard(_MemoryKeyring)


@pytest.fixture
def memory_keyring() -> Iterator[_MemoryKeyring]:
    previous = keyring.get_keyring()
    store = _MemoryKeyring()
    keyring.set_keyring(store)
    try:
        yield store
    finally:
        keyring.set_keyring(previous)


def test_setting_3_never_asks(paired: Phone, memory_keyring: _MemoryKeyring) -> None:
    assert paired.run("security-setting", "3", input=PFX_PASSWORD + "\n").rc == 0
    assert list(memory_keyring.items.values()) == [PFX_PASSWORD]
    paired.run("logout")
    paired.login(CUSTOMER_A)

    for _ in range(2):
        result = paired.run(*ORDER)
        assert result.rc == 0, result.err
        assert result.json["password_asked"] is False

    assert paired.run("security-setting", "2", input=PFX_PASSWORD + "\n").rc == 0
    assert memory_keyring.items == {}


def test_a_wrong_password_sends_no_order(paired: Phone, world: World) -> None:
    posted = _orders_posted(world)
    result = paired.run(*ORDER, input="wrong\n")
    assert result.rc == 1 and result.code == "wrong_password"
    assert _orders_posted(world) == posted
    # Nothing was unlocked for the session by the failed attempt.
    assert paired.run(*ORDER).code == "input_missing"


def test_order_without_a_certificate_on_the_phone(alice: Customer, phone: Phone) -> None:
    phone.login(CUSTOMER_A)
    assert phone.run(*ORDER, input=PFX_PASSWORD + "\n").code == "no_certificate_on_phone"


def test_bad_order_fields_are_refused_before_signing(paired: Phone, world: World) -> None:
    posted = _orders_posted(world)
    bad = paired.run(
        "order", "--symbol", "2330", "--side", "buy", "--qty", "1", "--price", "1.234",
        input=PFX_PASSWORD + "\n",
    )  # fmt: skip
    assert bad.rc == 1 and bad.code == "invalid_input"
    assert _orders_posted(world) == posted
    usage = paired.run("order", "--symbol", "2330", "--side", "hold", "--qty", "1", "--price", "1")
    assert usage.rc == 2 and usage.code == "usage"


def test_status_verdicts(world: World, alice: Customer, phone: Phone) -> None:
    phone.login(CUSTOMER_A)
    before = phone.run("status")
    assert before.rc == 0, before.err
    assert before.json["verdict"] == "none_on_phone"
    assert before.json["host"]["code"] == 0 and before.json["phone"]["present"] is False

    assert phone.pair(world.send(alice).payload).rc == 0
    matched = phone.run("status")
    assert matched.json["verdict"] == "match"
    assert matched.json["phone"]["serial_display"] == matched.json["host"]["serial_display"]
    assert matched.json["phone"]["file"] == f"{CUSTOMER_A}.pfx"

    text = phone.run("status", as_json=False)
    assert text.rc == 0
    assert "Verdict: The certificate on this phone matches the host" in text.out
    assert matched.json["host"]["serial_display"] in text.out

    revoke(world.host, str(alice.cert.serial_number), reason="key_compromise", actor="test")
    mismatched = phone.run("status")
    assert mismatched.json["verdict"] == "mismatch"
    assert mismatched.json["host"]["code"] == 42
    assert "pc-client pair" in mismatched.json["advice"]


def test_status_without_the_description_file_says_unreadable(paired: Phone) -> None:
    (paired.home / "keystore" / f"{CUSTOMER_A}.json").unlink()
    result = paired.run("status")
    assert result.json["verdict"] == "unreadable"
    assert result.json["phone"]["readable"] is False


def test_login_failures(world: World, alice: Customer, phone: Phone) -> None:
    wrong = phone.run("login", CUSTOMER_A, input="not-my-password\n")
    assert wrong.rc == 1 and wrong.code == "login_failed"
    assert not (phone.home / "session.json").exists()

    invalid = phone.run("login", "A123456788", input=LOGIN_PASSWORD + "\n")
    assert invalid.code == "invalid_national_id"
    assert invalid.unread_input == LOGIN_PASSWORD + "\n"  # refused before the prompt

    assert phone.run("login", CUSTOMER_A).code == "input_missing"


def test_login_session_file_is_private_and_logout_ends_it(
    world: World, alice: Customer, phone: Phone
) -> None:
    result = phone.login(CUSTOMER_A)
    assert result.json["customer_id"] == CUSTOMER_A
    assert result.json["security_setting"] == 2
    session_file = phone.home / "session.json"
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(phone.home.stat().st_mode) == 0o700
    assert LOGIN_PASSWORD not in session_file.read_text()

    out = phone.run("logout")
    assert out.json == {"logged_out": True, "server_notified": True}
    assert phone.run("status").code == "not_logged_in"
    assert phone.run("logout").json["logged_out"] is False


def test_a_session_ended_at_the_server_asks_to_log_in_again(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)
    world.clock.advance(hours=9)  # past the 8 h session lifetime
    result = phone.run("status")
    assert result.rc == 1 and result.code == "unauthenticated"
    assert "log in again" in result.json["message"]


def test_commands_refuse_another_server_than_the_session_s(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)
    result = phone.run("--server", "https://elsewhere.example:8000", "status")
    assert result.code == "wrong_server"


def test_a_new_login_ends_the_previous_session_and_replaces_a_damaged_file(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)
    old_token = json.loads((phone.home / "session.json").read_text())["token"]
    phone.login(CUSTOMER_A)
    with pytest.raises(ServerRefused) as refused:
        SyncClient(world.http, token=old_token).status()
    assert refused.value.code == "unauthenticated"

    (phone.home / "session.json").write_text("{ damaged")
    assert phone.run("status").code == "phone_store_corrupt"
    phone.login(CUSTOMER_A)
    assert phone.run("status").rc == 0
