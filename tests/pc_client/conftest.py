"""Fixtures for the pc-client tests: the real server in process, and PCs that run ``main``.

The credential store is process-wide in ``keyring``: every test starts with none (as on this
machine), and ``credential_store`` swaps in the file-backed stand-in (``keyring_backend``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail
from starlette.testclient import TestClient

# tests/ holds e2e_support, shared with the other clients' tests; these test folders are not
# packages, so put it on the path once (pytest adds only this folder).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keyring_backend import FileKeyring
from pc_harness import CUSTOMER, Clock, Pc, Server

from sync_server.app import create_app
from sync_server.host import open_host
from sync_server.settings import Settings


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``make_server(**settings)``: a real server with the given ``Settings`` fields."""
    made: list[TestClient] = []

    def make(**overrides: Any) -> Server:
        settings = Settings(
            data_dir=tmp_path / f"srv{len(made)}",
            password_kdf_memory_kib=1024,
            password_kdf_iterations=1,
            **overrides,
        )
        clock = Clock()
        host = open_host(settings, clock=clock)
        client = TestClient(create_app(host))
        made.append(client)
        return Server(host, client, clock)

    yield make
    for client in made:
        client.close()


@pytest.fixture
def server(make_server: Callable[..., Server]) -> Server:
    """Default settings: a certificate is valid for a year, so renewal is closed."""
    return make_server()


@pytest.fixture
def renewal_server(make_server: Callable[..., Server]) -> Server:
    """Certificates valid for 20 days: inside the 30-day window from the start."""
    return make_server(certificate_validity=timedelta(days=20))


@pytest.fixture
def pc(tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]) -> Pc:
    return Pc(tmp_path / "BTS", server, capsys)


@pytest.fixture
def customer(server: Server) -> str:
    server.add_customer()
    return CUSTOMER


@pytest.fixture
def enrolled(pc: Pc, customer: str) -> Pc:
    """A PC logged in as the customer, holding a fresh certificate (EC, ``PFX_PASSWORD``)."""
    pc.login()
    pc.apply()
    return pc


@pytest.fixture
def renewal_pc(tmp_path: Path, renewal_server: Server, capsys: pytest.CaptureFixture[str]) -> Pc:
    """A PC with a certificate inside its renewal window."""
    renewal_server.add_customer()
    pc = Pc(tmp_path / "BTS", renewal_server, capsys)
    pc.login()
    pc.apply()
    return pc


@pytest.fixture(autouse=True)
def no_credential_store() -> Iterator[None]:
    """Start every test without a credential store, as this machine is."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def credential_store(tmp_path: Path) -> FileKeyring:
    """A working credential store (file-backed stand-in) for this test."""
    store = FileKeyring(tmp_path / "keyring")
    keyring.set_keyring(store)
    return store
