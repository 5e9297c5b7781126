"""The command-line contract (one-line errors, --json, exit codes) and login / logout."""

from __future__ import annotations

import io
import json
import stat
from datetime import timedelta

import httpx2
import pytest
from pc_harness import CUSTOMER, LOGIN_PASSWORD, PFX_PASSWORD, Pc, Server

from pc_client.cli import main
from pc_client.records import Session

pytestmark = pytest.mark.usefixtures("customer")


def test_login_keeps_a_private_session_and_remembers_the_customer(pc: Pc) -> None:
    data = pc.login()

    assert data["customer_id"] == CUSTOMER
    assert data["security_setting"] == 2
    assert data["renewal_reminder"] is None
    session_file = pc.home / "session.json"
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(pc.home.stat().st_mode) == 0o700
    session = json.loads(session_file.read_text())
    assert session["customer_id"] == CUSTOMER and session["token"]
    assert not (pc.home / "session-agent.json").exists()  # setting 2 has unlocked nothing yet
    settings = json.loads((pc.home / "settings.json").read_text())
    assert settings["customer_id"] == CUSTOMER
    assert settings["server_url"] == "http://127.0.0.1:8000"
    # The session's repr never shows the token.
    assert session["token"] not in repr(Session.from_json(session))


def test_login_text_output_and_case_folding(pc: Pc) -> None:
    result = pc.run("login", CUSTOMER.lower(), input=f"{LOGIN_PASSWORD}\n", json_output=False)

    assert result.code == 0, result.err
    assert f"Logged in as {CUSTOMER}" in result.out
    assert "Security setting for this session: 2" in result.out
    assert LOGIN_PASSWORD not in result.out + result.err


def test_wrong_login_password_is_one_line_and_writes_nothing(pc: Pc) -> None:
    result = pc.run("login", CUSTOMER, input="not-the-password\n", json_output=False)

    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith("error: ") and result.err.rstrip().endswith("[login_failed]")
    assert "Traceback" not in result.err
    assert pc.snapshot() == {}


def test_json_errors_are_one_object_on_stdout(pc: Pc) -> None:
    result = pc.run("login", CUSTOMER, input="not-the-password\n")

    assert result.code == 1
    assert result.data["error"] == "login_failed"
    assert result.data["message"]
    assert result.err.rstrip().endswith("[login_failed]")


def test_invalid_customer_id_is_refused_before_asking(pc: Pc) -> None:
    result = pc.run("login", "A123456788")

    assert result.error == "invalid_national_id"
    assert pc.snapshot() == {}


def test_missing_answer_on_stdin_names_the_prompt(pc: Pc) -> None:
    result = pc.run("login", CUSTOMER, input="")

    assert result.error == "input_missing"
    assert "Login password" in result.data["message"]
    assert pc.snapshot() == {}


def test_commands_that_need_a_session_refuse_without_one(pc: Pc) -> None:
    for args in (
        ["status"],
        ["apply"],
        ["renew"],
        ["redownload"],
        ["export", str(pc.home)],
        ["import", str(pc.home)],
        ["order", "--symbol", "2330", "--side", "buy", "--qty", "1", "--price", "10"],
    ):
        result = pc.run(*args)
        assert result.code == 1, args
        assert result.error == "not_logged_in", args
    assert pc.snapshot() == {}


def test_logout_ends_the_session_on_the_server_too(pc: Pc) -> None:
    pc.login()
    token = json.loads((pc.home / "session.json").read_text())["token"]

    data = pc.ok("logout")

    assert data == {"logged_out": True, "customer_id": CUSTOMER, "server_told": True}
    assert not (pc.home / "session.json").exists()
    response = pc.server.http.get(
        "/api/v1/certificate/status", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert pc.ok("logout") == {"logged_out": False}


def test_logout_forgets_locally_when_the_server_is_unreachable(pc: Pc) -> None:
    pc.login()

    result = pc.run("logout", http=_unreachable())

    assert result.code == 0
    assert result.data["server_told"] is False
    assert not (pc.home / "session.json").exists()


def test_relogin_replaces_and_ends_the_previous_session(pc: Pc) -> None:
    pc.login()
    first = json.loads((pc.home / "session.json").read_text())["token"]
    pc.login()
    second = json.loads((pc.home / "session.json").read_text())["token"]

    assert first != second
    response = pc.server.http.get(
        "/api/v1/certificate/status", headers={"Authorization": f"Bearer {first}"}
    )
    assert response.status_code == 401


def _unreachable() -> httpx2.Client:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    return httpx2.Client(transport=httpx2.MockTransport(refuse), base_url="http://127.0.0.1:9")


def test_unreachable_server_is_named_in_one_line(pc: Pc) -> None:
    # No injected client: a real connection attempt to a closed loopback port.
    argv = ["--home", str(pc.home), "--server", "http://127.0.0.1:9", "login", CUSTOMER]
    code = main(argv, stdin=io.StringIO("x\n"), environ={})
    captured = pc.capsys.readouterr()

    assert code == 1
    assert "http://127.0.0.1:9" in captured.err
    assert captured.err.rstrip().endswith("[server_unreachable]")
    assert captured.err.count("\n") == 1
    assert pc.snapshot() == {}

    code = main(["--json", *argv], stdin=io.StringIO("x\n"), environ={})
    assert json.loads(pc.capsys.readouterr().out)["error"] == "server_unreachable"


def test_server_url_is_remembered_after_first_use(pc: Pc) -> None:
    pc.ok(
        "--server", "https://certsync.example:8443/", "login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n"
    )

    settings = json.loads((pc.home / "settings.json").read_text())
    assert settings["server_url"] == "https://certsync.example:8443"
    # Later commands use the remembered URL, so the session still applies.
    assert pc.ok("status")["customer_id"] == CUSTOMER
    # Another URL is another server: the session does not carry over.
    result = pc.run("--server", "https://elsewhere:1", "status")
    assert result.error == "not_logged_in"


def test_pc_client_home_environment_variable(pc: Pc) -> None:
    pc.environ["PC_CLIENT_HOME"] = str(pc.home)
    result = pc.run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n", home=False)

    assert result.code == 0
    assert (pc.home / "session.json").exists()


def test_usage_errors_exit_2(pc: Pc) -> None:
    result = pc.run("order", "--side", "hold")
    assert result.code == 2
    assert result.error == "usage"

    plain = pc.run("no-such-command", json_output=False)
    assert plain.code == 2
    assert "No such command" in plain.err


def test_unexpected_errors_are_one_line_unless_debug(pc: Pc) -> None:
    def explode(request: httpx2.Request) -> httpx2.Response:
        raise RuntimeError("boom")

    broken = httpx2.Client(transport=httpx2.MockTransport(explode), base_url="http://testserver")

    quiet = pc.run("login", CUSTOMER, input="x\n", json_output=False, http=broken)
    assert quiet.code == 70
    assert quiet.err.strip() == (
        "error: Unexpected RuntimeError; run again with --debug for details. [internal_error]"
    )

    loud = pc.run("--debug", "login", CUSTOMER, input="x\n", json_output=False, http=broken)
    assert loud.code == 70
    assert "Traceback" in loud.err and "boom" in loud.err


def test_bad_iteration_override_is_refused(pc: Pc) -> None:
    pc.environ["PC_CLIENT_PFX_ITERATIONS"] = "lots"
    assert pc.run("logout").error == "invalid_environment"


def test_help_lists_every_command_and_prompt_order(pc: Pc) -> None:
    result = pc.run("--help", json_output=False)
    assert result.code == 0
    for command in (
        "login", "logout", "status", "apply", "redownload", "renew", "export", "import",
        "passwd", "security-setting", "doctor", "order",
    ):  # fmt: skip
        assert command in result.out
    assert "PC_CLIENT_TEST_PAUSE_AT" in result.out

    renew_help = pc.run("renew", "--help", json_output=False).out
    order_of = [renew_help.index(s) for s in ("agree", "current PFX", "new PFX password\n")]
    assert order_of == sorted(order_of)


def test_login_reminds_when_renewal_is_open(renewal_pc: Pc) -> None:
    data = renewal_pc.login()
    assert data["renewal_reminder"]["serial_display"]

    text = renewal_pc.run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n", json_output=False)
    assert "Renew it now with `pc-client renew`" in text.out


def test_session_expiry_is_the_servers(pc: Pc, server: Server) -> None:
    pc.login()
    server.clock.advance(timedelta(hours=9))  # beyond the 8-hour session

    result = pc.run("status")

    assert result.error == "unauthenticated"


def test_no_secret_reaches_the_output(enrolled: Pc) -> None:
    """STYLE 7: passwords, codes and tokens never appear in what pc-client prints."""
    token = json.loads((enrolled.home / "session.json").read_text())["token"]
    outputs = []
    for args, answers in (
        (["status"], ""),
        (["passwd"], f"{PFX_PASSWORD}\nnewpass77\nnewpass77\n"),
        (["export", str(enrolled.home.parent)], "newpass77\n"),
        (["passwd"], "wrongpass9\nx\nx\n"),
    ):
        for json_output in (True, False):
            if args == ["export", str(enrolled.home.parent)] and not json_output:
                continue
            result = enrolled.run(*args, input=answers, json_output=json_output)
            outputs.append(result.out + result.err)
    text = "\n".join(outputs)
    for secret in (token, PFX_PASSWORD, "newpass77", "wrongpass9", LOGIN_PASSWORD):
        assert secret not in text
