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
import json
import os
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mobile_stub.errors import PhoneError, PhoneStoreCorrupt
from mobile_stub.language import language_for_run
from mobile_stub.messages import msg, user_message
from mobile_stub.prompts import read_secret
from mobile_stub.render import (
    Rendered,
    render_login,
    render_logout,
    render_order,
    render_paired,
    render_pairing_given_up,
    render_security_setting,
    render_security_setting_saved,
    render_status,
)
from mobile_stub.store import (
    HOME_ENV,
    PhoneHome,
    default_home,
    save_language,
    saved_security_setting,
)
from sync_client.cli_text import install_click_translations, localize
from sync_client.errors import ClientError
from sync_client.i18n import LANGUAGES, set_language
from sync_client.national_id import normalize_national_id
from sync_client.security import SecuritySetting

# The heavy modules (httpx, cryptography, qrcode and PIL, through the phone's keystore, session,
# pairing and signing modules) are imported inside the commands that use them, so that
# `mobile-stub --help` starts fast; a test checks that importing this module loads none of them.
if TYPE_CHECKING:
    import httpx

    from mobile_stub.session import PhoneSession
    from sync_client.api import SyncClient

SERVER_ENV = "MOBILE_STUB_SERVER"
LANG_ENV = "MOBILE_STUB_LANG"
DEFAULT_SERVER = "http://127.0.0.1:8000"
PROG = "mobile-stub"

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNEXPECTED = 70
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class App:
    """What every command needs: the phone's home, how to reach the server, how to print."""

    home: PhoneHome
    server_flag: str | None
    as_json: bool
    http: httpx.Client | None  # injected by tests (Starlette's TestClient); else per command
    environ: Mapping[str, str]

    def login_server(self) -> str:
        if self.http is not None:
            return str(self.http.base_url).rstrip("/")
        chosen = self.server_flag or self.environ.get(SERVER_ENV, "") or DEFAULT_SERVER
        return chosen.rstrip("/")

    @contextmanager
    def connect(self, server_url: str, token: str | None = None) -> Iterator[SyncClient]:
        """A client for ``server_url``; an injected ``httpx.Client`` is used and left open."""
        from sync_client.api import SyncClient

        if self.http is not None:
            yield SyncClient(self.http, token=token)
            return
        with SyncClient.connect(server_url, token=token) as client:
            yield client

    @contextmanager
    def session_client(self) -> Iterator[tuple[PhoneSession, SyncClient]]:
        """The phone's session and a client on *its* server (the token goes nowhere else)."""
        from mobile_stub.session import require_session
        from sync_client.pairing import same_server

        session = require_session(self.home)
        if self.server_flag is not None and not same_server(self.server_flag, session.server_url):
            raise PhoneError(
                msg(
                    "phone.error.wrong_server",
                    session_server=session.server_url,
                    server=self.server_flag,
                ),
                code="wrong_server",
            )
        with self.connect(session.server_url, session.token) as client:
            yield session, client

    def emit(self, rendered: Rendered) -> None:
        """Print a command's result: its JSON object with ``--json``, else its text."""
        data, text = rendered
        click.echo(json.dumps(data, ensure_ascii=False) if self.as_json else text)


@dataclass
class Launch:
    """What ``main`` hands to the click group, and what it learns back from it."""

    http: httpx.Client | None
    environ: Mapping[str, str]
    app: App | None = None
    language: str | None = None  # --lang, once click has parsed it


pass_app = click.make_pass_decorator(App)

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
    help=f"The CertSync server to log in to [default: ${SERVER_ENV}, else {DEFAULT_SERVER}].",
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
    language: str | None,
    as_json: bool,
    debug: bool,
) -> None:
    """CertSync's phone stand-in, for testers: log in, receive the certificate by QR code,
    check it, sign orders."""
    launch = ctx.find_object(Launch)
    assert launch is not None
    app = App(
        home=PhoneHome(home.expanduser() if home is not None else default_home(launch.environ)),
        server_flag=server.rstrip("/") if server else None,
        as_json=as_json,
        http=launch.http,
        environ=launch.environ,
    )
    launch.app, launch.language = app, language
    ctx.obj = app


# -- login / logout -----------------------------------------------------------------------


@cli.command(short_help="Log the phone in as CUSTOMER_ID (the national ID).")
@click.argument("customer_id")
@pass_app
def login(app: App, customer_id: str) -> None:
    """Log the phone in as CUSTOMER_ID, the national ID: a mobile session.

    Prompts: 1. login password.
    """
    from mobile_stub.session import PhoneSession, load_session, save_session
    from sync_client.pairing import same_server

    customer_id = normalize_national_id(customer_id)
    password = read_secret(msg("phone.prompt.login_password"))
    server_url = app.login_server()
    with app.connect(server_url) as client:
        result = client.login(customer_id, password, device_kind="mobile")
    try:
        previous = load_session(app.home)
    except PhoneStoreCorrupt:
        previous = None  # a damaged session file is simply replaced
    if previous is not None and same_server(previous.server_url, server_url):
        # Best effort: the old token should not outlive the login that replaced it.
        with contextlib.suppress(ClientError), app.connect(server_url, previous.token) as old:
            old.logout()
    setting = saved_security_setting(app.home, result.customer_id)
    save_session(
        app.home,
        PhoneSession(
            server_url=server_url,
            customer_id=result.customer_id,
            token=result.token,
            expires_at=result.expires_at,
            security_setting=setting,
        ),
    )
    app.emit(render_login(server_url, result, setting))


@cli.command(short_help="End the phone session.")
@pass_app
def logout(app: App) -> None:
    """End the phone session, on the server too; the certificate on the phone and a received
    one waiting for its password stay."""
    from mobile_stub.session import end_session, load_session

    session = load_session(app.home)
    notified = False
    if session is not None:
        try:
            with app.connect(session.server_url, session.token) as client:
                client.logout()
            notified = True
        except ClientError:
            # The local session ends regardless: an unreachable server or an already expired
            # token must not keep the phone logged in.
            notified = False
    end_session(app.home)
    app.emit(render_logout(session, notified=notified))


# -- pair ---------------------------------------------------------------------------------


@cli.command(short_help="Receive the certificate that the PC shows as a QR code.")
@click.option(
    "--qr-png",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    default=None,
    help="Read the QR code from this image (the PNG that pc-client pair wrote).",
)
@click.option(
    "--payload",
    metavar="TEXT",
    default=None,
    help="The QR code's text (the pairing link); '-' reads it from the first input line.",
)
@click.option(
    "--retry", is_flag=True, help="Type the PFX password again for the certificate received."
)
@click.option("--give-up", is_flag=True, help="Discard a received certificate that did not open.")
@pass_app
def pair(app: App, qr_png: Path | None, payload: str | None, retry: bool, give_up: bool) -> None:
    """Receive the certificate that the PC shows as a QR code, and keep it on this phone.

    Give exactly one of --qr-png, --payload, --retry, --give-up. The phone must be logged in as
    the PC's customer. The QR code can be used once; if the PFX password is then mistyped, the
    received certificate is kept (still protected by its password) until `pair --retry` opens
    it or `pair --give-up` discards it. Scanning the same QR code again also reuses it.

    Prompts: 1. QR payload (only with --payload -); 2. PFX password (not with --give-up).
    """
    from mobile_stub.keystore import discard_pending, require_pending
    from mobile_stub.pairing import finish_pairing, pair_from_payload
    from mobile_stub.session import require_session
    from sync_client.qr import decode_qr_png, parse_pair_payload

    chosen = [qr_png is not None, payload is not None, retry, give_up]
    if sum(chosen) != 1:
        raise click.UsageError(msg("phone.pair.choose_one"))
    if give_up:
        session = require_session(app.home)
        discarded = discard_pending(app.home, session.customer_id)
        app.emit(render_pairing_given_up(session.customer_id, discarded=discarded))
        return
    with app.session_client() as (session, client):
        if retry:
            pending = require_pending(app.home, session.customer_id)
            paired = finish_pairing(
                app.home,
                client,
                session,
                pending,
                read_password=lambda: read_secret(msg("phone.prompt.pfx_password")),
            )
        else:
            if qr_png is not None:
                text = decode_qr_png(qr_png)
            elif payload == "-":
                text = read_secret(msg("phone.prompt.qr_payload"))
            else:
                assert payload is not None
                text = payload
            parsed = parse_pair_payload(text)
            paired = pair_from_payload(
                app.home,
                client,
                session,
                parsed,
                read_password=lambda: read_secret(msg("phone.prompt.pfx_password")),
            )
    app.emit(render_paired(paired))


# -- status -------------------------------------------------------------------------------


@cli.command(short_help="Compare the host's certificate with this phone's.")
@pass_app
def status(app: App) -> None:
    """Show the host's certificate beside this phone's, and whether they match."""
    from mobile_stub.keystore import find_certificate, load_pending
    from mobile_stub.verdict import match_verdict

    with app.session_client() as (session, client):
        host = client.status()
    entry = find_certificate(app.home, session.customer_id)
    pending = load_pending(app.home, session.customer_id)
    saved = saved_security_setting(app.home, session.customer_id)
    verdict = match_verdict(
        host,
        on_phone=entry is not None,
        phone_fingerprint=entry.fingerprint_sha256 if entry is not None else None,
    )
    app.emit(
        render_status(
            host,
            session,
            keystore_dir=app.home.keystore_dir,
            entry=entry,
            pending=pending is not None,
            saved=saved,
            verdict=verdict,
        )
    )


# -- order --------------------------------------------------------------------------------


@cli.command(short_help="Sign an order with the certificate on this phone and send it.")
@click.option(
    "--symbol",
    metavar="SYMBOL",
    required=True,
    help="Stock symbol, 1 to 12 letters or digits, e.g. 2330.",
)
@click.option(
    "--side",
    required=True,
    type=click.Choice(["buy", "sell"], case_sensitive=False),
    help="buy or sell.",
)
@click.option(
    "--qty",
    "quantity",
    metavar="N",
    required=True,
    type=click.IntRange(min=1),
    help="Number of shares, a whole number.",
)
@click.option(
    "--price",
    metavar="PRICE",
    required=True,
    help="Limit price, at most 2 decimals, e.g. 612.50.",
)
@pass_app
def order(app: App, symbol: str, side: str, quantity: int, price: str) -> None:
    """Sign an order with the certificate on this phone and send it.

    Prompts: 1. PFX password: on every order with setting 1, on the first order after each
    login with setting 2, never with setting 3.
    """
    from mobile_stub.keystore import require_certificate
    from mobile_stub.signing import keep_for_session, place_signed_order, unlock_for_order

    with app.session_client() as (session, client):
        entry = require_certificate(app.home, session.customer_id)
        unlocked = unlock_for_order(
            app.home,
            session,
            entry,
            client,
            read_password=lambda: read_secret(msg("phone.prompt.pfx_password")),
        )
        result = place_signed_order(
            client, unlocked, symbol=symbol, side=side, quantity=quantity, price=price
        )
        keep_for_session(app.home, session, client, unlocked)
    app.emit(render_order(result, password_asked=unlocked.password_asked))


# -- security setting ---------------------------------------------------------------------


@cli.command("security-setting", short_help="Show the phone's security setting, or change it.")
@click.argument("setting", required=False, type=click.IntRange(1, 3))
@pass_app
def security_setting(app: App, setting: int | None) -> None:
    """Show the phone's security setting, or change it to SETTING: 1, 2 or 3.

    \b
    1 = ask for the PFX password on every order
    2 = ask on the first order after each login (the default)
    3 = never ask (the password is kept in the system's credential store)

    A change takes effect from the next login.

    Prompts (only when changing): 1. PFX password.
    """
    from mobile_stub.session import require_session
    from mobile_stub.signing import change_security_setting

    session = require_session(app.home)
    if setting is None:
        saved = saved_security_setting(app.home, session.customer_id)
        app.emit(render_security_setting(session, saved))
        return
    chosen = SecuritySetting(setting)
    change_security_setting(
        app.home,
        session,
        chosen,
        read_password=lambda: read_secret(msg("phone.prompt.pfx_password")),
    )
    app.emit(render_security_setting_saved(session, chosen))


# -- entry point --------------------------------------------------------------------------


def _report(as_json: bool, code: str, message: str) -> None:
    if as_json:
        click.echo(json.dumps({"error": code, "message": message}, ensure_ascii=False))
    line = msg("phone.error.line", message=message)
    # "[code]" ends the line in every language: scripts read it, so it is no translator's.
    click.echo(f"{line} [{code}]", err=True)


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
    http: httpx.Client | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run ``mobile-stub`` with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``http`` lets tests pass an ``httpx.Client`` bound to a server (Starlette's ``TestClient``
    on the real app): every command then talks through it, and it is not closed. ``environ``
    (default ``os.environ``) is where the language, home and server variables are read.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    debug = "--debug" in args
    as_json = "--json" in args
    # Until click has parsed the flags, a plain look decides the language (--help is shown
    # while click parses).
    set_language(language_for_run(args, environ))
    install_click_translations()
    _localize_commands()
    launch = Launch(http=http, environ=environ)
    try:
        result = cli.main(args=args, prog_name=PROG, standalone_mode=False, obj=launch)
    except click.exceptions.Abort:
        click.echo(msg("phone.cli.aborted"), err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message(), err=True)
        return EXIT_USAGE
    except click.UsageError as exc:
        _report(as_json, "usage", exc.format_message())
        return EXIT_USAGE
    except click.ClickException as exc:
        _report(as_json, "usage", exc.format_message())
        return exc.exit_code
    except ClientError as exc:
        _report(as_json, exc.code, user_message(exc))
        return EXIT_ERROR
    except OSError as exc:
        # The phone's own files (home folder, keystore): a full disk or a read-only folder.
        reason = exc.strerror or type(exc).__name__
        if exc.filename:
            message = msg("phone.error.file", reason=reason, path=exc.filename)
        else:
            message = msg("phone.error.file_no_path", reason=reason)
        _report(as_json, "file_error", message)
        return EXIT_ERROR
    except Exception as exc:
        if debug:
            traceback.print_exc()
        _report(as_json, "internal_error", msg("phone.error.unexpected", kind=type(exc).__name__))
        return EXIT_UNEXPECTED
    if isinstance(result, int):  # --help, and the like
        return result
    _remember_language(launch)
    return 0
