"""``mobile-stub``: the phone trading app's part in CertSync, for testers to drive from scripts.

    mobile-stub [--home DIR] [--server URL] [--lang zh-TW|en] [--json] [--debug] COMMAND

    login ID              log the phone in (prompt: login password)
    logout                end the phone session
    pair                  receive the certificate the PC shows as a QR code
                          (--qr-png FILE | --payload TEXT | --retry | --give-up;
                          prompt: PFX password)
    status                the host's certificate beside the phone's, and the verdict
    order                 sign an order with the phone's copy and send it
                          (prompt: PFX password, when the security setting asks)
    security-setting [N]  show, or change, the phone's security setting (prompt: PFX password)

Secrets are read hidden on a terminal; otherwise each prompt reads one line of standard input,
in the order the command's ``--help`` lists. Known errors print one line,
``error: <message> [<code>]``, on standard error and exit 1 (2 for a usage error); ``--json``
prints one JSON object on standard output, errors included. Tracebacks only with ``--debug``.

Language: every sentence, ``--help`` and click's own phrases included, is in Traditional Chinese
or English (``--lang``, ``MOBILE_STUB_LANG``, the language remembered in the phone's home, the
OS locale; see ``mobile_stub.language``), decided before click parses. A ``--json`` run speaks
English; codes in ``[brackets]`` are never translated.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from mobile_stub.app import DEFAULT_SERVER, LANG_ENV, SERVER_ENV, App, Launch
from mobile_stub.commands.order import order
from mobile_stub.commands.pair import pair
from mobile_stub.commands.security_setting import security_setting
from mobile_stub.commands.session import login, logout
from mobile_stub.commands.status import status
from mobile_stub.errors import PhoneCode
from mobile_stub.language import language_for_run
from mobile_stub.messages import msg, user_message
from mobile_stub.prompts import phone_prompter
from mobile_stub.store import HOME_ENV, PhoneHome, default_home, save_language
from sync_client.cli_runner import Failure, Program, run
from sync_client.cli_text import install_click_translations, localize
from sync_client.errors import ClientError
from sync_client.i18n import LANGUAGES, set_language

# The heavy modules (httpx2, cryptography, qrcode and PIL, through the phone's keystore, session,
# pairing and signing modules) are imported inside the commands that use them, so that
# `mobile-stub --help` starts fast; a test checks that importing this module loads none of them.
if TYPE_CHECKING:
    import httpx2

PROG = "mobile-stub"

EPILOG = f"""\b
Environment:
  {HOME_ENV}    the phone's folder (like --home)
  {SERVER_ENV}  the server to log in to (like --server)
  {LANG_ENV}    zh-TW or en (like --lang; else the system's language:
                      LC_ALL, LC_MESSAGES, LANG)

\b
Exit status: 0 success; 1 a refusal or error (one line on stderr, ending
in its [code]; with --json also {{"error": code, "message": ...}} on stdout);
2 a usage error; 70 an unexpected failure.
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    default=None,
    help=f"The phone's folder [default: ${HOME_ENV}, else the user data folder].",
)
@click.option(
    "--server",
    metavar="URL",
    default=None,
    help=f"The CertSync server to log in to [default: ${SERVER_ENV}, else {DEFAULT_SERVER}]; "
    "https:// unless it is this computer.",
)
@click.option(
    "--insecure-http",
    is_flag=True,
    help="Allow a plain http:// server on another computer (passwords cross the network "
    "unencrypted).",
)
@click.option(
    "--lang",
    "language",
    type=click.Choice(LANGUAGES),
    default=None,
    help=f"zh-TW or en, remembered after first use [default: ${LANG_ENV}, else the "
    "system's language].",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object (in English), errors too."
)
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
@click.pass_context
def cli(
    ctx: click.Context,
    home: Path | None,
    server: str | None,
    insecure_http: bool,
    language: str | None,
    as_json: bool,
    debug: bool,
) -> None:
    """CertSync's phone stand-in, for testers: log in, receive the certificate by QR code,
    check it, sign orders."""
    from sync_client.server_url import check_server_url

    launch = ctx.find_object(Launch)
    assert launch is not None
    app = App(
        home=PhoneHome(home.expanduser() if home is not None else default_home(launch.environ)),
        server_flag=check_server_url(server, insecure_http=insecure_http) if server else None,
        as_json=as_json,
        http=launch.http,
        environ=launch.environ,
        prompter=phone_prompter(launch.stdin),
        insecure_http=insecure_http,
    )
    launch.app, launch.language = app, language
    ctx.obj = app


for command in (login, logout, pair, status, order, security_setting):
    cli.add_command(command)


# -- entry point --------------------------------------------------------------------------


def explain(exc: BaseException) -> Failure | None:
    """The phone's known errors: every ``ClientError`` in the customer's words (the server's
    ``unauthenticated`` with the phone's own advice), and the phone's own files failing (a
    full disk, a read-only folder: ``file_error``)."""
    if isinstance(exc, ClientError):
        return Failure(exc.code, user_message(exc), getattr(exc, "details", None) or None)
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        if exc.filename:
            message = msg("phone.error.file", reason=reason, path=exc.filename)
        else:
            message = msg("phone.error.file_no_path", reason=reason)
        return Failure(PhoneCode.FILE_ERROR, message)
    return None


def _unexpected(kind: str) -> str:
    return msg("phone.error.unexpected", kind=kind)


def _remember_language(launch: Launch) -> None:
    """After a command succeeded with ``--lang``: the phone keeps the choice for later runs
    (only in a home that exists: reading commands create nothing)."""
    app = launch.app
    if launch.language and app is not None and app.home.root.is_dir():
        # A convenience: a settings file that cannot be written must not fail the command.
        with contextlib.suppress(ClientError, OSError):
            save_language(app.home, launch.language)


def _localize_commands() -> None:
    """Put the group's and every command's ``--help`` texts into the run's language."""
    for command in (cli, *cli.commands.values()):
        localize(command)
        # click (8.1.8+) keeps the --help option it made, with its help text in the language
        # of that run; a new one is made in this run's language. Only matters when one process
        # runs the command line in two languages, as the tests do.
        command._help_option = None


def main(
    argv: Sequence[str] | None = None,
    *,
    http: httpx2.Client | None = None,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run ``mobile-stub`` with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``http`` lets tests pass an ``httpx2.Client`` bound to a server (Starlette's ``TestClient``
    on the real app): every command then talks through it, and it is not closed. ``environ``
    (default ``os.environ``) is where the language, home and server variables are read;
    ``stdin`` (default ``sys.stdin``) where the prompts read their answers.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    # Until click has parsed the flags, a plain look decides the language (--help is shown
    # while click parses).
    set_language(language_for_run(args, environ))
    install_click_translations()
    _localize_commands()
    launch = Launch(http=http, environ=environ, stdin=stdin)
    program = Program(
        PROG,
        explain=explain,
        unexpected=_unexpected,
        usage_block=False,
        after_success=lambda: _remember_language(launch),
    )
    return run(cli, args, program=program, obj=launch)
