"""The one command-line runner (``sync_client.cli_runner``): the same ladder in all three programs.

    0 ok · 1 a known error, one line ``error: <message> [<code>]`` · 2 usage · 70 unexpected
    (traceback only with --debug) · 130 Ctrl-C; ``--json``: exactly one JSON object on stdout

First the runner itself, on a small group of its own; then the three real programs, each asked
the same things (a usage error, Ctrl-C at a prompt). The only fake is the keyboard: a standard
input that is interrupted while a prompt reads it.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from mobile_stub.cli import main as mobile_main
from pc_client.cli import main as pc_main
from sync_client.cli_runner import Answer, Failure, Program, run
from sync_client.codes import ErrorCode
from sync_client.errors import ClientCode, InvalidInput, ServerRefused
from sync_client.i18n import use_language
from sync_client.prompts import Prompter
from sync_server.cli import main as server_main


@click.group()
@click.option("--json", "as_json", is_flag=True)
@click.option("--debug", is_flag=True)
def toy(as_json: bool, debug: bool) -> None:
    """A group to run through the runner."""


@toy.command()
def fine() -> Answer:
    return Answer({"ok": True}, ["all fine"])


@toy.command()
def problem() -> Answer:
    return Answer({"error": "toy_problem", "message": "Something is off."}, [], exit_code=1)


@toy.command()
def refused() -> None:
    raise ServerRefused("slot_expired", "The slot expired.", status=410, details={"x": 1})


@toy.command()
def invalid() -> None:
    raise InvalidInput("That is not a number.")


@toy.command()
def broken() -> None:
    raise RuntimeError("boom")


@toy.command()
def operator() -> None:
    raise LookupError("the operator's to fix")


def _explain(exc: BaseException) -> Failure | None:
    if isinstance(exc, LookupError):
        return Failure(ClientCode.USAGE, str(exc), None, 2)
    return None


PROGRAM = Program("toy", explain=_explain)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with use_language("en"):
        code = run(toy, list(args), program=PROGRAM)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_answer_is_printed_as_text_or_one_json_object(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(capsys, "fine") == (0, "all fine\n", "")
    code, out, err = _run(capsys, "--json", "fine")
    assert (code, json.loads(out), err) == (0, {"ok": True}, "")


def test_a_reported_problem_is_its_object_and_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--json", "problem")
    assert code == 1 and json.loads(out)["error"] == "toy_problem"
    assert err == "error: Something is off. [toy_problem]\n"


def test_known_errors_are_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "invalid")
    assert (code, out, err) == (1, "", "error: That is not a number. [invalid_input]\n")
    code, out, err = _run(capsys, "--json", "refused")
    assert code == 1
    # The server's refusal in the catalogue's words for its code, its details kept.
    assert json.loads(out) == {
        "error": "slot_expired",
        "message": err.removeprefix("error: ").removesuffix(" [slot_expired]\n"),
        "details": {"x": 1},
    }
    assert "The slot expired." not in err  # the catalogue's sentence, not the server's English


def test_a_program_decides_which_known_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "operator")
    assert (code, err) == (2, "error: the operator's to fix [usage]\n")


def test_unexpected_errors_are_one_line_and_a_traceback_only_with_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "broken")
    assert code == 70 and out == ""
    assert err == (
        "error: Unexpected RuntimeError; run again with --debug for details. [internal_error]\n"
    )
    code, out, err = _run(capsys, "--json", "--debug", "broken")
    assert code == 70 and json.loads(out)["error"] == ErrorCode.INTERNAL_ERROR
    assert "Traceback" in err and "boom" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "nothing-like-it")
    assert code == 2 and "No such command" in err and "Usage:" in err
    code, out, err = _run(capsys, "--json", "nothing-like-it")
    assert code == 2 and json.loads(out)["error"] == "usage"
    assert len(err.splitlines()) == 1


# -- the prompts ---------------------------------------------------------------------------------


def test_prompts_read_one_line_each_and_name_a_missing_answer() -> None:
    prompter = Prompter(io.StringIO("secret\r\n\nyes\n"))
    assert not prompter.interactive
    assert prompter.secret("Password", twice=True) == "secret"  # a script types it once
    assert prompter.text("Setting", default="2") == "2"
    assert prompter.confirm("Agree?") is True
    with use_language("en"), pytest.raises(InvalidInput) as missing:
        prompter.secret("PFX password")
    assert missing.value.code == ClientCode.INPUT_MISSING
    assert "PFX password" in missing.value.message


# -- the three programs, asked the same things --------------------------------------------------


class _Interrupted(io.StringIO):
    """Standard input at the moment the person presses Ctrl-C."""

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise KeyboardInterrupt


def _pc(argv: list[str], tmp_path: Path) -> int:
    return pc_main(
        ["--home", str(tmp_path / "BTS"), *argv],
        stdin=_Interrupted(),
        environ={"LANG": "en_US.UTF-8"},
    )


def _phone(argv: list[str], tmp_path: Path) -> int:
    return mobile_main(
        ["--home", str(tmp_path / "phone"), *argv],
        stdin=_Interrupted(),
        environ={"LANG": "en_US.UTF-8"},
    )


PROGRAMS: dict[str, Callable[[list[str], Path], int]] = {"pc-client": _pc, "mobile-stub": _phone}


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_a_usage_error_exits_2_with_one_json_object(
    program: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--json", "order", "--symbol", "2330", "--side", "hold", "--qty", "1", "--price", "1"]
    assert PROGRAMS[program](argv, tmp_path) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"] == "usage"
    assert captured.err.rstrip().endswith("[usage]")


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_ctrl_c_at_a_prompt_exits_130(
    program: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert PROGRAMS[program](["--json", "login", "A123456789"], tmp_path) == 130
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"] == "interrupted"
    assert captured.err.strip().splitlines()[-1] == "error: Interrupted. [interrupted]"


def test_the_server_cli_has_the_same_ladder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [n for n in os.environ if n.startswith("SYNC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SYNC_DATA_DIR", str(tmp_path / "data"))
    assert server_main(["init"]) == 0
    capsys.readouterr()
    # Usage: 2, and with --json one object.
    assert server_main(["admin", "--json", "customer-add", "A123456789"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"] == "usage" and "--name" in captured.err
    # Ctrl-C at the password prompt: 130.
    monkeypatch.setattr(sys, "stdin", _Interrupted())
    assert server_main(["admin", "customer-add", "A123456789", "--name", "T"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: Interrupted. [interrupted]"
    # A refusal: 1, one line, and with --json one object.
    assert server_main(["admin", "--json", "enrollment-code", "A123456789"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"] == "customer_not_found"
    assert captured.err.count("\n") == 1 and captured.err.rstrip().endswith("[customer_not_found]")
    # The end of standard input where a password was expected: one line, not an empty password.
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert server_main(["admin", "customer-add", "A123456789", "--name", "T"]) == 1
    assert capsys.readouterr().err.rstrip().endswith("[input_missing]")
