"""Fixtures for the page's in-process tests (the harness is ``web_support``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail
from starlette.testclient import TestClient
from web_support import Page, Server, make_page

from sync_server.app import create_app
from sync_server.host import open_host
from sync_server.settings import Settings


@pytest.fixture(autouse=True)
def no_credential_store() -> Iterator[None]:
    """As on this machine: no system credential store (setting 3 is refused)."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def server_overrides() -> dict[str, Any]:
    """``Settings`` fields a test changes (``@pytest.mark.parametrize("server_overrides", …)``)."""
    return {}


@pytest.fixture
def server(tmp_path: Path, server_overrides: dict[str, Any]) -> Iterator[Server]:
    settings = Settings(
        data_dir=tmp_path / "srv",
        password_kdf_memory_kib=1024,
        password_kdf_iterations=1,
        **server_overrides,
    )
    host = open_host(settings)
    with TestClient(create_app(host)) as http:
        yield Server(host, http)
    host.db.dispose()


@pytest.fixture
def page(tmp_path: Path, server: Server) -> Iterator[Page]:
    made = make_page(tmp_path / "BTS", server)
    with made.client:
        yield made
