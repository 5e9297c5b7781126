"""``--server`` as both clients take it (``sync_client.server_url``): usable addresses pass,
the others are one line with a stable code, and nothing is written or sent.

The command-line cases run the real ``pc-client`` and ``mobile-stub`` in process; a refused
address stops the run before the store folder or the phone's home is created.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx2
import pytest

from mobile_stub.cli import main as phone_main
from pc_client.cli import main as pc_main
from sync_client.errors import ClientCode, ServerUrlInvalid
from sync_client.i18n import use_language
from sync_client.server_url import check_server_url, is_loopback


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://certsync.example.com", "https://certsync.example.com"),
        ("https://certsync.example.com:8443/", "https://certsync.example.com:8443"),
        ("HTTPS://Broker.Example/certsync/", "https://Broker.Example/certsync"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.9.8.7:1", "http://127.9.8.7:1"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("http://LOCALHOST", "http://LOCALHOST"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://10.0.0.5", "https://10.0.0.5"),
    ],
)
def test_usable_addresses_pass(text: str, expected: str) -> None:
    assert check_server_url(text, insecure_http=False) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", ClientCode.SERVER_URL_INVALID),
        ("certsync.example.com", ClientCode.SERVER_URL_INVALID),  # no scheme
        ("127.0.0.1:8000", ClientCode.SERVER_URL_INVALID),  # no scheme either
        ("ftp://certsync.example.com", ClientCode.SERVER_URL_INVALID),
        ("file:///etc/passwd", ClientCode.SERVER_URL_INVALID),
        ("https://", ClientCode.SERVER_URL_INVALID),  # no host
        ("https://:8443", ClientCode.SERVER_URL_INVALID),
        ("https://exa mple.com", ClientCode.SERVER_URL_INVALID),  # a blank
        (" https://example.com", ClientCode.SERVER_URL_INVALID),
        ("https://example.com\n", ClientCode.SERVER_URL_INVALID),  # a pasted line break
        ("https://例子.example", ClientCode.SERVER_URL_INVALID),
        ("https://user:hunter2@example.com", ClientCode.SERVER_URL_INVALID),
        ("https://example.com/?next=x", ClientCode.SERVER_URL_INVALID),
        ("https://example.com/#frag", ClientCode.SERVER_URL_INVALID),
        ("https://example.com:99999", ClientCode.SERVER_URL_INVALID),
        ("https://example.com:port", ClientCode.SERVER_URL_INVALID),
        ("https://example.com:", ClientCode.SERVER_URL_INVALID),
        ("https://exa!mple.com", ClientCode.SERVER_URL_INVALID),
        ("http://certsync.example.com", ClientCode.INSECURE_HTTP),
        ("http://10.0.0.5:8000", ClientCode.INSECURE_HTTP),
        ("http://128.0.0.1", ClientCode.INSECURE_HTTP),  # just outside 127.0.0.0/8
        ("http://localhost.example.com", ClientCode.INSECURE_HTTP),
    ],
)
def test_unusable_addresses_are_refused_with_a_code(text: str, code: ClientCode) -> None:
    with pytest.raises(ServerUrlInvalid) as refused:
        check_server_url(text, insecure_http=False)
    assert refused.value.code == code
    assert "\n" not in refused.value.message


def test_insecure_http_allows_plain_http_elsewhere_and_nothing_else() -> None:
    assert (
        check_server_url("http://certsync.example.com:8000/", insecure_http=True)
        == "http://certsync.example.com:8000"
    )
    with pytest.raises(ServerUrlInvalid) as refused:
        check_server_url("ftp://certsync.example.com", insecure_http=True)
    assert refused.value.code == ClientCode.SERVER_URL_INVALID


def test_a_password_in_the_address_is_not_repeated() -> None:
    for language in ("en", "zh-TW"):
        with use_language(language), pytest.raises(ServerUrlInvalid) as refused:
            check_server_url("https://alice:hunter2@example.com", insecure_http=False)
        assert "hunter2" not in refused.value.message
        assert "alice" not in refused.value.message


def test_loopback_is_this_computer_only() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.255.0.1") and is_loopback("::1")
    assert is_loopback("localhost") and is_loopback("LocalHost")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")
    assert not is_loopback("::2")


def _pc(home: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    # An unusable transport: a refused address must be stopped before anything connects.
    never = httpx2.Client(transport=httpx2.MockTransport(_no_request))
    code = pc_main(
        ["--home", str(home), "--json", *args],
        http=never,
        stdin=io.StringIO("password\n"),
        environ={},
    )
    out = capsys.readouterr()
    return code, out.out, out.err


def _no_request(request: httpx2.Request) -> httpx2.Response:
    raise AssertionError(f"nothing may be sent: {request.method} {request.url}")


@pytest.mark.parametrize(
    ("server", "code"),
    [
        ("certsync.example.com", "server_url_invalid"),
        ("ftp://certsync.example.com", "server_url_invalid"),
        ("https://user:pw@certsync.example.com", "server_url_invalid"),
        ("http://certsync.example.com", "insecure_http"),
    ],
)
def test_pc_client_refuses_a_bad_server_in_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: str, code: str
) -> None:
    home = tmp_path / "BTS"
    rc, out, err = _pc(home, "--server", server, "login", "A123456789", capsys=capsys)
    assert rc == 1
    assert json.loads(out)["error"] == code
    assert err.count("\n") == 1 and err.rstrip().endswith(f"[{code}]")
    assert "Traceback" not in err
    assert not home.exists()


def test_pc_client_insecure_http_flag_lets_plain_http_through(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "BTS"
    rc, out, _ = _pc(
        home, "--server", "http://certsync.example.com", "--insecure-http", "logout",
        capsys=capsys,
    )  # fmt: skip
    assert rc == 0, out
    assert json.loads(out) == {"logged_out": False}


def test_a_damaged_remembered_server_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "BTS"
    home.mkdir(mode=0o700)
    settings = home / "settings.json"
    settings.write_text(json.dumps({"server_url": "http://attacker.example"}))
    before = settings.read_bytes()
    rc, out, _ = _pc(home, "login", "A123456789", capsys=capsys)
    assert rc == 1
    assert json.loads(out)["error"] == "insecure_http"
    assert settings.read_bytes() == before
    assert sorted(p.name for p in home.iterdir()) == ["settings.json"]


@pytest.mark.parametrize(
    ("argv", "environ", "code"),
    [
        (["--server", "certsync.example.com"], {}, "server_url_invalid"),
        (["--server", "http://certsync.example.com"], {}, "insecure_http"),
        ([], {"MOBILE_STUB_SERVER": "http://certsync.example.com"}, "insecure_http"),
        ([], {"MOBILE_STUB_SERVER": "https://certsync.example.com/?x"}, "server_url_invalid"),
    ],
)
def test_mobile_stub_refuses_a_bad_server_before_anything_is_sent(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    environ: dict[str, str],
    code: str,
) -> None:
    home = tmp_path / "phone"
    monkeypatch.setattr("sys.stdin", io.StringIO("password\n"))
    capsys.readouterr()
    rc = phone_main(["--home", str(home), "--json", *argv, "login", "A123456789"], environ=environ)
    out = capsys.readouterr()
    assert rc == 1
    assert json.loads(out.out)["error"] == code
    assert out.err.count("\n") == 1 and "Traceback" not in out.err
    assert not home.exists()
