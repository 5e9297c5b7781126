"""The local service's defences, in process: the attacks on a web service on the customer's PC.

A page on any site the customer visits can make the browser send requests to 127.0.0.1, and
a DNS name rebound to 127.0.0.1 can make them look same-origin. Each attack here is refused
before a route runs, and nothing changes: the store's files are compared before and after.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_support import BASE, CUSTOMER, LOGIN_PASSWORD, PORT, Page, Server

from pc_client.commands.ui import bind_loopback
from pc_client.web.security import CONTENT_SECURITY_POLICY, cookie_name
from sync_client.errors import InvalidInput

WEB = Path(__file__).resolve().parents[2] / "pc_client" / "web"


def _files(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.iterdir())} if home.is_dir() else {}


@pytest.fixture
def logged_in(page: Page, server: Server) -> Page:
    server.add_customer()
    assert page.launch().status_code == 200
    response = page.login()
    assert response.status_code == 200 and "憑證查詢暨憑證資料檢核" in response.text
    return page


def test_the_launch_secret_becomes_an_httponly_strict_cookie_once(page: Page) -> None:
    first = page.client.get(f"/launch/{page.settings.launch_secret}", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{cookie_name(PORT)}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert page.settings.launch_secret not in cookie

    # The same browser, with its cookie, opening the link again: just the page.
    again = page.client.get(f"/launch/{page.settings.launch_secret}", follow_redirects=False)
    assert again.status_code == 303
    # Another browser (no cookie) with the same link: refused, the link is spent.
    with TestClient(page.client.app, base_url=BASE, client=("127.0.0.1", 1)) as stranger:
        spent = stranger.get(f"/launch/{page.settings.launch_secret}", follow_redirects=False)
        assert spent.status_code == 403
        assert "set-cookie" not in spent.headers
        assert stranger.get("/", follow_redirects=False).status_code == 403


def test_a_wrong_secret_is_refused(page: Page) -> None:
    response = page.client.get("/launch/not-the-secret", follow_redirects=False)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert page.launch().status_code == 200  # the right one still works afterwards


def test_without_the_cookie_nothing_is_served_and_nothing_changes(
    page: Page, server: Server, tmp_path: Path
) -> None:
    server.add_customer()
    for path in ("/", "/login", "/export/folders?path=/", "/pair/qr.png", "/static/certsync.css"):
        response = page.get(path, follow_redirects=False)
        assert response.status_code == 403, path
        assert "本頁" in response.text  # the catalogue's sentence, in the page's language
    before = _files(page.home)
    refused = page.post("/login", {"customer_id": CUSTOMER, "password": LOGIN_PASSWORD})
    assert refused.status_code == 403
    assert page.post("/language", {"language": "en", "next": "/"}).status_code == 403
    assert page.post("/close").status_code == 403
    assert _files(page.home) == before and not page.closed


def test_a_foreign_origin_is_refused_and_changes_nothing(logged_in: Page) -> None:
    page = logged_in
    before = _files(page.home)
    attacks = [
        {"Origin": "https://evil.example"},
        {"Origin": "http://127.0.0.1:1"},  # another local service
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Origin": BASE, "Sec-Fetch-Site": "cross-site"},
    ]
    for headers in attacks:
        for path, data in (
            ("/logout", {}),
            ("/language", {"language": "en", "next": "/"}),
            ("/close", {}),
            ("/doctor/fix", {"item": "all"}),
        ):
            response = page.client.post(path, data=data, headers=headers)
            assert response.status_code == 403, (path, headers)
    no_origin = page.client.post("/logout")  # a POST without any Origin
    assert no_origin.status_code == 403
    assert _files(page.home) == before
    assert (page.home / "session.json").exists() and not page.closed
    assert "憑證查詢暨憑證資料檢核" in page.get("/").text  # still logged in, still zh-TW


def test_a_rebound_host_name_is_refused_even_with_the_cookie(logged_in: Page) -> None:
    page = logged_in
    before = _files(page.home)
    for host in ("evil.example", f"evil.example:{PORT}", "127.0.0.1", f"127.0.0.1:{PORT + 1}"):
        get = page.get("/", headers={"Host": host})
        post = page.client.post(
            "/logout", headers={"Host": host, "Origin": f"http://{host}"}, data={}
        )
        assert get.status_code == 400 and post.status_code == 400, host
    assert _files(page.home) == before
    assert page.get("/", headers={"Host": f"localhost:{PORT}"}).status_code == 200


def test_a_rebound_host_cannot_spend_the_launch_secret(page: Page) -> None:
    secret = page.settings.launch_secret
    stolen = page.get(f"/launch/{secret}", headers={"Host": "evil.example"})
    assert stolen.status_code == 400
    assert page.launch().status_code == 200  # the customer's own launch still works


def test_a_peer_that_is_not_loopback_is_refused(page: Page) -> None:
    with TestClient(page.client.app, base_url=BASE) as remote:  # "testclient"
        assert remote.get(f"/launch/{page.settings.launch_secret}").status_code == 403


def test_every_answer_carries_the_security_headers(logged_in: Page) -> None:
    page = logged_in
    answers = [
        page.get("/"),
        page.get("/static/certsync.css"),
        page.get("/static/certsync.js"),
        page.get("/pair/state"),
        page.client.post("/logout"),  # a refusal
        page.get("/", headers={"Host": "evil.example"}),  # another refusal
    ]
    for response in answers:
        headers = response.headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_no_inline_script_or_style_and_nothing_from_the_internet() -> None:
    for path in [*(WEB / "templates").glob("*.html"), *(WEB / "static").iterdir()]:
        text = path.read_text("utf-8")
        assert not re.search(r"https?://", text), path  # every asset is ours
        if path.suffix == ".html":
            assert "<style" not in text and " style=" not in text, path
            assert not re.search(r"<script(?![^>]*\ssrc=)", text), path
            assert not re.search(r"\son[a-z]+=", text), path  # no onclick= and the like


def test_passwords_are_never_sent_back(logged_in: Page) -> None:
    page = logged_in
    secret = "Wrong-login-pw-123"
    refused = page.post("/login", {"customer_id": CUSTOMER, "password": secret})
    # Logged in already: the login page sends the customer on; a fresh login shows it again.
    assert secret not in refused.text
    page.post("/logout")
    page.post("/language", {"language": "zh-TW", "next": "/"})
    wrong = page.post("/login", {"customer_id": CUSTOMER, "password": secret})
    assert wrong.status_code == 422
    assert "身份證字號或登入密碼錯誤" in wrong.text
    assert secret not in wrong.text
    assert 'value="A123456789"' in wrong.text  # the ID is kept, the password is not
    assert not re.search(r'type="password"[^>]*value=', wrong.text)


def test_the_service_binds_loopback_only() -> None:
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.com", ""):  # noqa: S104
        with pytest.raises(InvalidInput) as refused:
            bind_loopback(host, 0)
        assert refused.value.code == "not_loopback"
    sock = bind_loopback("127.0.0.1", 0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1" and sock.getsockname()[1] > 0
    finally:
        sock.close()
