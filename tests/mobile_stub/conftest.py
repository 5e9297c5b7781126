"""Fixtures for the phone tests: a fresh server per test, customers, and phones."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

# This folder is named like the package it tests. pytest (rootdir import mode "prepend")
# puts ``tests/`` on sys.path, where ``tests/mobile_stub`` would be taken for a namespace
# package called ``mobile_stub`` before the editable install's finder is asked. Putting the
# project root first makes ``import mobile_stub`` find the real (regular) package, which
# always wins over a namespace portion. ``pythonpath = ["."]`` in pyproject would do the same.
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)

from mobile_stub_support import CUSTOMER_A, Customer, FakeClock, Phone, World  # noqa: E402


@pytest.fixture(autouse=True)
def no_credential_store() -> Iterator[None]:
    """Like this machine: no OS credential store, whatever backend another test registered.

    keyring picks its process-wide default from every backend class ever imported, so a
    test backend defined elsewhere in the suite could otherwise become the phone's store.
    """
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """An English run unless a test asks for another language: whatever the locale of the
    machine running the tests, and with no remembered choice from the environment."""
    for name in ("LC_ALL", "LC_MESSAGES", "MOBILE_STUB_LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[World]:
    world = World(tmp_path, clock)
    try:
        yield world
    finally:
        world.http.close()
        world.host.db.dispose()


@pytest.fixture
def alice(world: World) -> Customer:
    """Customer A with a valid certificate on "the PC"."""
    return world.add_customer(CUSTOMER_A)


@pytest.fixture
def make_phone(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[[str], Phone]:
    """A factory: ``make_phone("name")`` is a phone with its own home folder."""
    monkeypatch.delenv("MOBILE_STUB_HOME", raising=False)
    monkeypatch.delenv("MOBILE_STUB_SERVER", raising=False)

    def make(name: str) -> Phone:
        return Phone(world, tmp_path / f"phone-{name}", monkeypatch, capsys)

    return make


@pytest.fixture
def phone(make_phone: Callable[[str], Phone]) -> Phone:
    return make_phone("one")
