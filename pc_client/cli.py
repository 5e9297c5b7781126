"""``pc-client``: the customer's PC side of CertSync, ``main(argv=None) -> int``.

``pc-client [--home DIR] [--server URL] [--json] [--debug] COMMAND``. Each command lives in a
module of ``pc_client.commands`` and is registered in ``COMMANDS`` below (a new command group,
such as ``pair``, is one module and one line here).

Answers: a command returns a ``Result``; the text goes to stdout, or with ``--json`` exactly one
JSON object. Errors: known ones (``ClientError``, including the server's refusals) print one line
``error: <message> [<code>]`` on stderr and exit 1; with ``--json`` stdout also gets
``{"error": code, "message": ...}`` (plus ``details`` when the server sent some). Usage errors
exit 2 (click's usage block; the one line with ``--json``); anything unexpected prints one line
and exits 70, with the traceback only under ``--debug``; Ctrl-C exits 130. That ladder is the
shared runner's (``sync_client.cli_runner``), the same in all three programs.

Tests call ``main(argv, http=TestClient(app), stdin=io.StringIO(...), environ={...})``: the
injected ``httpx2.Client`` replaces the network, nothing else changes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, TextIO

import click

from pc_client.language import language_for_run
from sync_client.cli_runner import EXIT_USAGE, Failure, Program, run
from sync_client.cli_text import install_click_translations, localize, tr
from sync_client.errors import ClientError, IterationsBelowFloor
from sync_client.i18n import LANGUAGES, set_language

if TYPE_CHECKING:
    import httpx2

    from pc_client.app import App

# name → (module in pc_client.commands, attribute, the one-line help `--help` lists).
# Commands are imported only when run, so that `pc-client --help` starts fast; a test checks
# that each line here is how the command's own help begins.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "login": (
        "session",
        "login",
        "Log in as customer ID (the national ID); later commands use the session.",
    ),
    "logout": ("session", "logout", "End the login session, on the server and on this computer."),
    "status": (
        "status",
        "status",
        "Show the host's certificate beside this computer's, and whether they match.",
    ),
    "apply": ("enroll", "apply", "Apply for a certificate (only when you hold no valid one)."),
    "redownload": (
        "enroll",
        "redownload",
        "Finish an interrupted apply or renewal: fetch the certificate the host issued.",
    ),
    "renew": (
        "renew",
        "renew",
        "Renew the certificate for one more year (only in the month before it expires).",
    ),
    "export": (
        "transfer",
        "export_cmd",
        "Copy the certificate to folder DIR (a backup, a USB stick) as DIR/<ID>.pfx.",
    ),
    "import": (
        "transfer",
        "import_cmd",
        "Import a certificate from PATH: a .pfx file, or the folder holding <ID>.pfx.",
    ),
    "passwd": ("password", "passwd", "Change the PFX file's password."),
    "security-setting": (
        "password",
        "security_setting",
        "Show or choose when orders ask for the PFX password.",
    ),
    "doctor": (
        "doctor",
        "doctor",
        "Check this computer for certificate work: a table of item, purpose, "
        "recommended, current value and action.",
    ),
    "order": ("order", "order", "Sign an order with your certificate and send it."),
    "pair": (
        "pair",
        "pair",
        "Put your certificate on your phone: show a QR code for the trading app to scan.",
    ),
    "ui": (
        "ui",
        "ui",
        "Open the certificate page in your browser: all ten functions, with the mouse.",
    ),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(import_module(f"pc_client.commands.{module}"), attribute)
        assert isinstance(command, click.Command)
        return localize(command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, tr(COMMANDS[name][2])) for name in self.list_commands(ctx)]
        with formatter.section(tr("Commands")):
            formatter.write_dl(rows)


EPILOG = """\b
Environment:
  PC_CLIENT_HOME             the store folder (like --home; default ~/BTS)
  PC_CLIENT_LANG             zh-TW or en (like --lang; else LC_ALL, LC_MESSAGES, LANG)
  PC_CLIENT_PFX_ITERATIONS   PBKDF2 iterations of new PFX files (default and
                             minimum 600000; a lower value is refused, exit 2)
  PC_CLIENT_TEST_PAUSE_AT    for tests only: sleep at a named step (pending-written,
                             issued, pfx-staged, pfx-replaced) so a test can kill the process

\b
Exit status: 0 success; 1 a refusal or error (one line on stderr; with --json also
{"error": code, "message": ...} on stdout); 2 a usage or configuration error; 70 an
unexpected failure.
"""


@dataclass
class Launch:
    """What ``main`` hands to the click group, and what it learns back from it."""

    http: httpx2.Client | None
    stdin: TextIO | None
    environ: Mapping[str, str]
    app: App | None = None
    language: str | None = None  # --lang, once click has parsed it


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EPILOG,
)
@click.option(
    "--home",
    metavar="DIR",
    default=None,
    help="The certificate store folder [default: $PC_CLIENT_HOME, else ~/BTS].",
)
@click.option(
    "--server",
    "server_url",
    metavar="URL",
    default=None,
    help="The CertSync server, remembered after first use [default: http://127.0.0.1:8000]. "
    "https:// unless it is this computer.",
)
@click.option(
    "--insecure-http",
    is_flag=True,
    help="Allow a plain http:// server on another computer (the password crosses the "
    "network unencrypted; only when the brokerage says so).",
)
@click.option(
    "--lang",
    "language",
    type=click.Choice(LANGUAGES),
    default=None,
    help="zh-TW or en, remembered after first use "
    "[default: $PC_CLIENT_LANG, else the system's language].",
)
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.option("--debug", is_flag=True, help="Show a traceback for unexpected errors.")
@click.pass_context
def cli(
    ctx: click.Context,
    home: str | None,
    server_url: str | None,
    insecure_http: bool,
    language: str | None,
    as_json: bool,
    debug: bool,
) -> None:
    """CertSync on your PC: your brokerage certificate, checked, renewed, backed up."""
    from pc_client.app import App, Options

    launch = ctx.find_object(Launch)
    assert launch is not None
    launch.language = language
    options = Options.build(
        home=home,
        server_url=server_url,
        as_json=as_json,
        debug=debug,
        environ=launch.environ,
        insecure_http=insecure_http,
    )
    app = App(options, http=launch.http, stdin=launch.stdin)
    launch.app = app
    ctx.obj = app
    ctx.call_on_close(app.close)


def _remember(launch: Launch) -> None:
    """After a command succeeded: remember ``--server`` and ``--lang`` for later runs (only in
    a store that exists); a convenience that must not fail the command."""
    app = launch.app
    if app is None:
        return
    with contextlib.suppress(ClientError):
        app.remember_server()
        if launch.language and app.store.home.is_dir():
            app.store.update_settings(language=launch.language)


def _explain(exc: BaseException) -> Failure | None:
    """A configuration that would weaken the files (``kdf_below_floor``) is the operator's to
    fix: exit status 2, like a usage error, before anything is written."""
    if isinstance(exc, IterationsBelowFloor):
        return Failure(exc.code, exc.message, None, EXIT_USAGE)
    return None


def main(
    argv: Sequence[str] | None = None,
    *,
    http: httpx2.Client | None = None,
    stdin: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run ``pc-client`` with ``argv``; returns the exit status (see the module docstring)."""
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    # Until click has parsed the flags, a plain look decides the language of --help and of a
    # usage error.
    set_language(language_for_run(args, environ))
    install_click_translations()
    localize(cli)
    launch = Launch(http=http, stdin=stdin, environ=environ)
    program = Program(
        "pc-client", explain=_explain, sort_keys=True, after_success=lambda: _remember(launch)
    )
    return run(cli, args, program=program, obj=launch)


if __name__ == "__main__":
    sys.exit(main())
