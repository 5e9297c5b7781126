"""The phone stand-in's edges: pure verdict rules, prompts, its home folder, error output, and
the boundary that keeps it a client of the protocol only."""

from __future__ import annotations

import ast
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest

import mobile_stub
from mobile_stub.cli import main
from mobile_stub.prompts import read_secret
from mobile_stub.store import PhoneHome, default_home
from mobile_stub.verdict import match_verdict
from sync_client.api import HostCertificate, HostStatus
from sync_client.errors import InputMissing

PACKAGE_DIR = Path(mobile_stub.__file__).resolve().parent


def _host(code: int, fingerprint: str | None = "aa" * 32) -> HostStatus:
    cert = None
    if fingerprint is not None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        cert = HostCertificate(
            customer_id="A123456789",
            serial=1,
            serial_display="1 (0x01)",
            subject_cn="A123456789",
            not_before=now,
            not_after=now,
            fingerprint_sha256=fingerprint,
            status="valid",
            cert_pem="",
        )
    label = {0: "valid", 31: "expiring", 40: "none", 41: "expired", 42: "revoked"}[code]
    return HostStatus("A123456789", code, label, cert, None, "")


@pytest.mark.parametrize(
    ("host", "on_phone", "phone_fingerprint", "verdict"),
    [
        (_host(0), True, "aa" * 32, "match"),
        (_host(31), True, "aa" * 32, "match"),  # expiring soon is still valid
        (_host(0), True, "bb" * 32, "mismatch"),
        (_host(42), True, "aa" * 32, "mismatch"),  # the same certificate, revoked at the host
        (_host(41), True, "aa" * 32, "mismatch"),
        (_host(40, None), True, "aa" * 32, "mismatch"),
        (_host(0), False, None, "none_on_phone"),
        (_host(40, None), False, None, "none_on_phone"),
        (_host(0), True, None, "unreadable"),
    ],
)
def test_match_verdict(
    host: HostStatus, on_phone: bool, phone_fingerprint: str | None, verdict: str
) -> None:
    result = match_verdict(host, on_phone=on_phone, phone_fingerprint=phone_fingerprint)
    assert result.code == verdict
    assert (result.advice is None) == (verdict == "match")


def test_prompts_read_one_line_each_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("first\r\n\nthird"))
    assert read_secret("A") == "first"
    assert read_secret("B") == ""  # an empty line is an (empty) answer
    assert read_secret("C") == "third"
    with pytest.raises(InputMissing) as exc:
        read_secret("PFX password")
    assert exc.value.code == "input_missing"


def test_home_comes_from_the_environment_else_the_data_folder(tmp_path: Path) -> None:
    assert default_home({"MOBILE_STUB_HOME": str(tmp_path)}) == tmp_path
    fallback = default_home({})
    assert fallback.name == "certsync-mobile-stub"
    home = PhoneHome(tmp_path / "h")
    assert home.keystore_pfx("A123456789").name == "A123456789.pfx"


def test_the_home_flag_beats_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env_home, flag_home = tmp_path / "env", tmp_path / "flag"
    (flag_home).mkdir()
    (flag_home / "session.json").write_text("not json")
    monkeypatch.setenv("MOBILE_STUB_HOME", str(env_home))
    assert main(["--json", "--home", str(flag_home), "status"]) == 1
    assert json.loads(capsys.readouterr().out)["error"] == "phone_store_corrupt"
    assert main(["--json", "status"]) == 1
    assert json.loads(capsys.readouterr().out)["error"] == "not_logged_in"
    assert not env_home.exists()  # reading commands create nothing


def _transport_failing_with(error: Exception) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise error

    return httpx2.Client(transport=httpx2.MockTransport(handler), base_url="http://127.0.0.1:9")


def test_unreachable_server_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("password\n"))
    with _transport_failing_with(httpx2.ConnectError("refused")) as http:
        rc = main(["--home", str(tmp_path), "login", "A123456789"], http=http)
    captured = capsys.readouterr()
    assert rc == 1
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("error: ")
    assert captured.err.rstrip().endswith("[server_unreachable]")
    assert "password" not in captured.err


def test_unexpected_errors_show_a_traceback_only_with_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for debug in (False, True):
        monkeypatch.setattr(sys, "stdin", io.StringIO("password\n"))
        argv = ["--home", str(tmp_path), "--json", *(["--debug"] if debug else []), "login"]
        with _transport_failing_with(RuntimeError("boom")) as http:
            rc = main([*argv, "A123456789"], http=http)
        captured = capsys.readouterr()
        assert rc == 70
        assert json.loads(captured.out)["error"] == "internal_error"
        assert ("Traceback" in captured.err) is debug
        assert captured.err.splitlines()[-1].startswith("error: unexpected RuntimeError")


def test_help_lists_the_commands_and_the_prompts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("login", "logout", "pair", "status", "order", "security-setting"):
        assert command in out
    assert main(["pair", "--help"]) == 0
    assert "Prompts:" in capsys.readouterr().out


def test_the_package_talks_to_the_server_only_through_the_protocol() -> None:
    for path in PACKAGE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("sync_server", "pc_client")), (path.name, name)


def test_the_real_package_is_under_test() -> None:
    # tests/mobile_stub shares the package's name; see conftest.py.
    assert PACKAGE_DIR.name == "mobile_stub" and (PACKAGE_DIR / "cli.py").exists()
    assert "tests" not in PACKAGE_DIR.parts
