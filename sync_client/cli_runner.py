"""One way to run a command line — ``pc-client``, ``mobile-stub`` and ``sync-server`` alike.

``run(group, args, program=…, obj=…)`` runs a click group in process (``main(argv=None) -> int``)
and turns whatever happens into an exit status and at most one line on standard error:

    0    success: the command's ``Answer`` is printed (its text, or with ``--json`` its one
         JSON object)
    1    a known error (every ``ClientError``, with the server's refusals, and what the
         program's ``explain`` knows): one line ``error: <message> [<code>]`` on stderr
    2    a usage error (click's), or a known error the program says is the operator's to fix
    70   anything unexpected: one line naming its kind, the traceback only with ``--debug``
    130  Ctrl-C (``interrupted``)

With ``--json`` standard output holds exactly one JSON object, errors included:
``{"error": code, "message": ..., "details"?: {...}}`` (details when the server sent some).
A command that ran but reports a problem (``doctor``, ``pair`` expired) returns an ``Answer``
with a non-zero ``exit_code`` whose ``data`` holds ``error`` and ``message``: the runner prints
the object and the one error line for it.

``--json`` and ``--debug`` are known before click parses (a plain look at ``args``), so that a
usage error is reported the way the run asked for. Prompts are ``sync_client.prompts``'.
The error line's words come from the catalogue (``cli.error``) in the run's language; the
``[code]`` is never translated. Nothing here imports a heavy module: ``--help`` stays fast.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from sync_client.codes import ErrorCode
from sync_client.errors import ClientCode, ClientError
from sync_client.i18n import msg
from sync_client.refusals import user_message

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNEXPECTED = 70
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Answer:
    """What a command answers: ``data`` for ``--json``, ``lines`` for a person."""

    data: dict[str, Any]
    lines: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK  # non-zero: the command ran but reports a problem (doctor)


@dataclass(frozen=True)
class Failure:
    """A known error as the runner reports it: one line, and the JSON object with ``--json``."""

    code: str
    message: str
    details: Mapping[str, Any] | None = None
    exit_code: int = EXIT_ERROR


def explain_client_error(exc: BaseException) -> Failure | None:
    """A ``ClientError`` in the customer's words (the server's refusals through the catalogue's
    sentence for their code), else ``None``."""
    if not isinstance(exc, ClientError):
        return None
    details = getattr(exc, "details", None) or None
    return Failure(exc.code, user_message(exc), details)


def _unexpected_sentence(kind: str) -> str:
    return msg("cli.unexpected", kind=kind)


@dataclass(frozen=True)
class Program:
    """How one command line differs from the others, on purpose (each as documented).

    ``explain`` knows the program's errors (first; then every ``ClientError``); ``unexpected``
    words the line for an unexpected error of a kind; ``usage_block``: a usage error shows
    click's usage and hint (the line form with ``--json``) rather than one line;
    ``sort_keys``: the JSON object's keys sorted; ``after_success``: what a successful run
    remembers (a convenience that must not fail it).
    """

    name: str
    explain: Callable[[BaseException], Failure | None] = explain_client_error
    unexpected: Callable[[str], str] = _unexpected_sentence
    usage_block: bool = True
    sort_keys: bool = False
    after_success: Callable[[], None] | None = None


def print_json(data: Mapping[str, Any], *, sort_keys: bool = False) -> None:
    """One JSON object on standard output (non-ASCII as it is)."""
    click.echo(json.dumps(data, ensure_ascii=False, sort_keys=sort_keys))


def report(failure: Failure, *, as_json: bool, sort_keys: bool = False) -> int:
    """Print ``failure`` (the line on stderr, the object on stdout with ``--json``); return its
    exit status."""
    click.echo(msg("cli.error", message=failure.message, code=failure.code), err=True)
    if as_json:
        data: dict[str, Any] = {"error": failure.code, "message": failure.message}
        if failure.details:
            data["details"] = dict(failure.details)
        print_json(data, sort_keys=sort_keys)
    return failure.exit_code


def run(
    group: click.Group,
    args: Sequence[str],
    *,
    program: Program,
    obj: object = None,
) -> int:
    """Run ``group`` with ``args``; return the exit status (see the module docstring)."""
    args = list(args)
    as_json, debug = "--json" in args, "--debug" in args
    try:
        outcome = group.main(args=args, prog_name=program.name, standalone_mode=False, obj=obj)
    except (click.exceptions.Abort, KeyboardInterrupt):
        # click turns Ctrl-C (and an end of input at a terminal's prompt) into Abort.
        failure = Failure(ClientCode.INTERRUPTED, msg("cli.interrupted"), None, EXIT_INTERRUPTED)
        return report(failure, as_json=as_json)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message(), err=True)  # the help itself: no "error:" line
        return EXIT_USAGE
    except click.ClickException as exc:
        if program.usage_block and not as_json:
            exc.show()
            return exc.exit_code
        return report(Failure(ClientCode.USAGE, exc.format_message(), None, exc.exit_code),
                      as_json=as_json)  # fmt: skip
    except Exception as exc:
        known = program.explain(exc) or explain_client_error(exc)
        if known is not None:
            return report(known, as_json=as_json, sort_keys=program.sort_keys)
        if debug:
            traceback.print_exc()
        unexpected = Failure(
            ErrorCode.INTERNAL_ERROR, program.unexpected(type(exc).__name__), None, EXIT_UNEXPECTED
        )
        return report(unexpected, as_json=as_json)
    if isinstance(outcome, int):  # --help and the like
        return outcome
    if isinstance(outcome, Answer):
        return _answer(outcome, program=program, as_json=as_json)
    if program.after_success is not None:
        program.after_success()
    return EXIT_OK


def _answer(answer: Answer, *, program: Program, as_json: bool) -> int:
    if as_json:
        print_json(answer.data, sort_keys=program.sort_keys)
    else:
        for line in answer.lines:
            click.echo(line)
    if answer.exit_code == EXIT_OK:
        if program.after_success is not None:
            program.after_success()
    else:
        data = answer.data
        message, code = str(data.get("message", "")), str(data.get("error", ""))
        click.echo(msg("cli.error", message=message, code=code), err=True)
    return answer.exit_code
