"""Server fixtures: the real app in process, on a temporary SQLite database, with a test clock.

``server`` is the one most tests want: it bundles the host, the app, a ``TestClient`` and the
clock, and has small factories (a customer, an enrollment slip, a logged-in ``SyncClient``, an
enrolled customer). Nothing here replaces our own code; the only stand-in is the clock, passed
to ``open_host`` the way the server takes it.

A test changes settings by overriding ``settings_overrides``, either per module with a fixture
of that name or per test with ``@pytest.mark.parametrize("settings_overrides", [{...}])``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# tests/ is on sys.path (pytest's default "prepend" import mode, tests/ has no __init__.py),
# so the server tests' package is importable as ``server``.
from agent_support import no_agents_left  # noqa: F401 (autouse: no key agent outlives a test)
from server.harness import FAST_KDF, Clock, ServerHarness
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sync_client import kdf_floor
from sync_client.api import SyncClient
from sync_client.i18n import DEFAULT_LANGUAGE, use_language
from sync_client.keys import PrivateKey, generate_private_key
from sync_server.app import create_app
from sync_server.host import Host, open_host
from sync_server.settings import Settings

# The KDF floor (600,000 rounds, ``sync_client.kdf_floor``) is lowered for the suite only: in
# this process by the private setter, and in the subprocesses the suite starts by the
# ``sitecustomize`` in tests/kdf_hook, which ``PYTHONPATH`` puts first (``os.environ`` here, so
# every ``dict(os.environ)`` a test builds for a subprocess carries it; ``e2e_support``'s
# ``fast_kdf_env`` says so explicitly). A test proving the floor holds builds its environment
# without it (tests/test_kdf_floor.py).
KDF_HOOK = Path(__file__).resolve().parent / "kdf_hook"
kdf_floor._lower_floor_for_tests(1)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(KDF_HOOK), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)


@pytest.fixture(autouse=True)
def plain_locale(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts in English and UTC, whatever the machine's locale and zone: no
    ``--lang`` variable, ``LANG=C.UTF-8``, ``TZ=UTC`` (for in-process runs and for the
    subprocesses that inherit this environment). A test that needs another language or zone
    sets it itself; the language chosen by an in-process run ends with the test."""
    for name in ("PC_CLIENT_LANG", "MOBILE_STUB_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("TZ", "UTC")
    _tzset()
    with use_language(DEFAULT_LANGUAGE):
        yield
    monkeypatch.undo()
    _tzset()


def _tzset() -> None:
    if hasattr(time, "tzset"):  # not on Windows, where TZ does not work this way
        time.tzset()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def settings(tmp_path: Path, settings_overrides: dict[str, Any]) -> Settings:
    return Settings(data_dir=tmp_path / "data", **{**FAST_KDF, **settings_overrides})


@pytest.fixture
def host(settings: Settings, clock: Clock) -> Iterator[Host]:
    host = open_host(settings, clock=clock)
    yield host
    host.db.dispose()


@pytest.fixture
def app(host: Host) -> Starlette:
    return create_app(host)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as client:  # runs the lifespan, as uvicorn would
        yield client


@pytest.fixture
def sdk(client: TestClient) -> SyncClient:
    return SyncClient(client)


@pytest.fixture
def server(host: Host, app: Starlette, client: TestClient, clock: Clock) -> ServerHarness:
    return ServerHarness(host, app, client, clock)


@pytest.fixture(scope="session")
def rsa_keys() -> list[PrivateKey]:
    """Three RSA-2048 keys, made once: RSA generation is the slow part of a test run."""
    return [generate_private_key("rsa") for _ in range(3)]
