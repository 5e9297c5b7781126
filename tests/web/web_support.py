"""The page's in-process test harness: the real server and the real page, no sockets.

``server`` is the real sync-server app (real CA, temporary SQLite) behind a ``TestClient``;
``page`` is ``create_web_app`` for one launch against it, behind another ``TestClient`` that
speaks as the customer's browser would: from 127.0.0.1, to ``127.0.0.1:PORT``, sending its
``Origin`` on every POST. ``page.launch()`` exchanges the launch secret for the cookie. The
browser tests (``test_browser_e2e.py``) need none of this: they start the real programs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from starlette.testclient import TestClient

from pc_client.app import Options
from pc_client.web.app import create_web_app
from pc_client.web.settings import WebSettings
from sync_server import customers, enrollment

PORT = 48123
BASE = f"http://127.0.0.1:{PORT}"
CUSTOMER = "A123456789"
LOGIN_PASSWORD = "login-pass-123"
PFX_PASSWORD = "pfxpass1"


@dataclass
class Server:
    host: Any
    http: TestClient

    def add_customer(self, customer_id: str = CUSTOMER) -> None:
        customers.create_customer(
            self.host, customer_id=customer_id, name="Web Customer", password=LOGIN_PASSWORD,
            actor="staff:test",
        )  # fmt: skip

    def slip(self, customer_id: str = CUSTOMER) -> str:
        return enrollment.issue_enrollment_code(self.host, customer_id, actor="staff:test").code


@dataclass
class Page:
    """The customer's browser on one launch of the page."""

    settings: WebSettings
    client: TestClient
    closed: list[bool] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.settings.options.home

    def launch(self) -> httpx2.Response:
        return self.client.get(f"/launch/{self.settings.launch_secret}")

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx2.Response:
        headers = {"Origin": BASE, **kwargs.pop("headers", {})}
        return self.client.post(path, data=data or {}, headers=headers, **kwargs)

    def login(self) -> httpx2.Response:
        return self.post("/login", {"customer_id": CUSTOMER, "password": LOGIN_PASSWORD})

    def apply(self, slip: str, password: str = PFX_PASSWORD) -> httpx2.Response:
        assert self.post("/apply", {"enrollment_code": slip}).status_code == 200
        assert self.post("/apply/terms", {"agree": "yes"}).status_code == 200
        return self.post(
            "/apply/password",
            {"new_password": password, "new_password_again": password, "security_setting": "2"},
        )


def make_page(home: Path, server: Server, *, language: str = "zh-TW") -> Page:
    closed: list[bool] = []
    settings = WebSettings(
        options=Options(home=home, server_url="http://testserver", pfx_iterations=1000),
        port=PORT,
        language="zh-TW" if language == "zh-TW" else "en",
        http=server.http,
        on_close=lambda: closed.append(True),
    )
    client = TestClient(
        create_web_app(settings), base_url=BASE, client=("127.0.0.1", 50123),
        follow_redirects=True,
    )  # fmt: skip
    return Page(settings, client, closed)
