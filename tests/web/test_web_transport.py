"""The page when the network is not what it should be: a server whose CA changed is refused
in words, and the status screen without the host still shows this computer's certificate.

The same operations as the command line (``log_in``, ``gather_status_or_local``); the page only
shows them. Real server, real page, in process; the unreachable host is a closed loopback port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from e2e_support import free_port
from starlette.testclient import TestClient
from web_support import CUSTOMER, LOGIN_PASSWORD, Page, Server, make_page

from sync_server.app import create_app
from sync_server.host import open_host
from sync_server.settings import Settings


@pytest.fixture
def enrolled(page: Page, server: Server) -> Page:
    server.add_customer()
    assert page.launch().status_code == 200
    assert page.login().status_code == 200
    done = page.apply(server.slip())
    assert done.status_code == 200, done.text
    return page


@pytest.fixture
def impostor(tmp_path: Path) -> Iterator[Server]:
    settings = Settings(
        data_dir=tmp_path / "impostor", password_kdf_memory_kib=1024, password_kdf_iterations=1
    )
    host = open_host(settings)
    with TestClient(create_app(host)) as http:
        other = Server(host, http)
        other.add_customer()
        yield other
    host.db.dispose()


def _files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def test_a_changed_ca_is_refused_in_words_on_the_page(
    enrolled: Page, impostor: Server, tmp_path: Path
) -> None:
    assert (enrolled.home / "ca_pins.json").is_file()  # the page's login pinned it
    enrolled.post("/logout")
    before = _files(enrolled.home)
    swapped = make_page(enrolled.home, impostor)
    with swapped.client:
        assert swapped.launch().status_code == 200
        refused = swapped.post("/login", {"customer_id": CUSTOMER, "password": LOGIN_PASSWORD})
        assert refused.status_code == 422
        assert "憑證中心（CA）與本電腦第一次註冊時的不同" in refused.text
        assert "ca_changed" not in refused.text  # words, not the code
    assert _files(enrolled.home) == before


def test_the_status_screen_without_the_host_shows_this_computers_part(
    enrolled: Page, server: Server
) -> None:
    online = enrolled.get("/")
    assert online.status_code == 200
    before = _files(enrolled.home)
    offline_http = httpx2.Client(base_url=f"http://127.0.0.1:{free_port()}", timeout=5)
    offline = make_page(enrolled.home, Server(server.host, offline_http))  # type: ignore[arg-type]
    with offline.client:
        shown = offline.launch()  # the launch link lands on the status screen
        assert offline.get("/").status_code == 503
    offline_http.close()
    assert shown.status_code == 503
    assert "用戶端的憑證資訊" in shown.text and "主機資料庫目前的憑證資訊" in shown.text
    assert "無法取得（主機未回應）" in shown.text
    assert "主機拒絕連線" in shown.text
    assert f"{CUSTOMER}.pfx" in shown.text
    assert "ConnectError" not in shown.text
    assert _files(enrolled.home) == before
