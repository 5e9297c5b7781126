"""The phone stand-in pins the CA it first logged in with, as a phone app would.

First login pins (and shows the fingerprint); the same CA passes; a server with another CA
under the same address is refused before the password or the token is sent, with the phone's
home unchanged; ``login --accept-new-ca`` repins. The "other server" is a second real app.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from mobile_stub_support import CUSTOMER_A, LOGIN_PASSWORD, FakeClock, Phone, World

from sync_client.pinning import read_pins, show_fingerprint

PINS = "ca_pins.json"


def home_files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


@pytest.fixture
def impostor(tmp_path: Path, clock: FakeClock) -> World:
    other = World(tmp_path / "impostor", clock)
    other.add_customer(CUSTOMER_A)
    return other


def test_first_login_pins_and_the_same_ca_passes(world: World, alice: object, phone: Phone) -> None:
    first = phone.login(CUSTOMER_A).json
    assert first["ca_pin"] == "pinned"
    assert first["ca_fingerprint"] == show_fingerprint(world.host.ca.fingerprint_sha256)
    pin_file = phone.home / PINS
    assert stat.S_IMODE(pin_file.stat().st_mode) == 0o600
    assert list(read_pins(pin_file).values()) == [world.host.ca.fingerprint_sha256]
    assert phone.login(CUSTOMER_A).json["ca_pin"] == "same"
    assert phone.run("status").rc == 0
    text = phone.run("logout", as_json=False)
    assert text.rc == 0


def test_a_refused_login_pins_nothing(world: World, alice: object, phone: Phone) -> None:
    result = phone.run("login", CUSTOMER_A, input="wrong-password\n")
    assert result.code == "login_failed"
    assert not (phone.home / PINS).exists()


def test_another_ca_is_refused_with_the_home_unchanged_then_accepted(
    world: World,
    alice: object,
    phone: Phone,
    impostor: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    phone.login(CUSTOMER_A)
    before = home_files(phone.home)
    swapped = Phone(impostor, phone.home, monkeypatch, capsys)
    sent_before = len(impostor.requests)

    for args in (("status",), ("login", CUSTOMER_A)):
        result = swapped.run(*args, input=LOGIN_PASSWORD + "\n")
        assert result.rc == 1, result.err
        assert result.code == "ca_changed"
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
        assert home_files(phone.home) == before
    # The impostor was only asked for its CA: no password, no token.
    asked = [f"{r.method} {r.url.path}" for r in impostor.requests[sent_before:]]
    assert set(asked) == {"GET /api/v1/ca"}
    assert not any("authorization" in r.headers for r in impostor.requests[sent_before:])

    words = swapped.run("status", as_json=False)
    assert "not the one this computer first enrolled with" in words.err

    accepted = swapped.run("login", CUSTOMER_A, "--accept-new-ca", input=LOGIN_PASSWORD + "\n")
    assert accepted.rc == 0, accepted.err
    assert accepted.json["ca_pin"] == "repinned"
    assert list(read_pins(phone.home / PINS).values()) == [impostor.host.ca.fingerprint_sha256]
    assert swapped.run("status").rc == 0
    assert phone.run("status").code == "ca_changed"
