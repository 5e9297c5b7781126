"""``sync-server``: run the service, create and upgrade its database, back it up, and ``admin``.

    serve            run the service (creates the database and the CA on first start)
    init             create the database and the CA, and stop
    db upgrade|current|history    the schema's migrations
    backup DIR / restore DIR      a consistent copy of the database and the CA files
    admin …          customer-service and operator tasks (``sync_server.admin``)

All read the same settings (``SYNC_*`` environment variables), so every command works on the
database that ``serve`` uses. Known errors print one line ``error: … [code]`` and exit 1
(a refusal) or 2 (configuration); anything else prints one line too (``[internal_error]``,
exit 70), with the traceback only under ``--debug``; Ctrl-C exits 130. ``admin --json`` prints
one JSON object, errors too. The ladder is the one all three programs share
(``sync_client.cli_runner``). ``serve`` checks everything it can (the port, the CA files, the
database and its schema) before it writes anything, so a refused start leaves nothing behind.
"""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from sync_client.cli_runner import EXIT_USAGE, Failure, Program, run
from sync_client.i18n import set_language
from sync_client.pinning import show_fingerprint
from sync_server.admin import admin, generate_password
from sync_server.errors import ConfigCode, ConfigError, ServiceError
from sync_server.settings import Settings

DEMO_CUSTOMER = "A123456789"
# EADDRINUSE on Linux, macOS and Windows.
_ADDRESS_IN_USE = (98, 48, 10048)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """CertSync host: the certificate registration service and its staff tools."""
    ctx.obj = {"debug": debug}


cli.add_command(admin)


def bind_socket(host: str, port: int) -> socket.socket:
    """The listening address, taken before anything else so a busy port stops the start clean."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ConfigError(f"Cannot listen on {host!r}: {exc.strerror}.") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port}: {exc.strerror}. Stop what uses it, or choose "
            "another --port.",
            code=ConfigCode.PORT_IN_USE if exc.errno in _ADDRESS_IN_USE else ConfigCode.CONFIG,
        ) from None
    sock.set_inheritable(True)
    return sock


def check_tls(settings: Settings) -> None:
    """Load the TLS certificate and key once before starting, so a bad pair is one line."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise ConfigError(
            f"Cannot use the TLS certificate {settings.tls_cert_file} with the key "
            f"{settings.tls_key_file}: {reason}.",
            code=ConfigCode.TLS_UNREADABLE,
        ) from None


def with_tls_flags(settings: Settings, cert: Path | None, key: Path | None) -> Settings:
    """``settings`` with ``--tls-cert``/``--tls-key`` (the flags win over the environment);
    one without the other is a configuration error."""
    if cert is None and key is None:
        return settings
    if cert is None or key is None:
        raise ConfigError("Give both --tls-cert and --tls-key, or neither.")
    return settings.replace(tls_cert_file=cert, tls_key_file=key)


@cli.command()
@click.option("--host", "bind_host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--demo", is_flag=True, help="Create a demo customer and print how to try the clients."
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
@click.option(
    "--tls-cert",
    "tls_cert",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Serve HTTPS with this certificate (PEM, then its chain) [default: $SYNC_TLS_CERT_FILE].",
)
@click.option(
    "--tls-key",
    "tls_key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="The TLS certificate's private key (unencrypted PEM) [default: $SYNC_TLS_KEY_FILE].",
)
def serve(
    bind_host: str,
    port: int,
    demo: bool,
    log_level: str,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> None:
    """Run the service (SQLite in SYNC_DATA_DIR unless SYNC_DATABASE_URL is set).

    With --tls-cert and --tls-key (or SYNC_TLS_CERT_FILE and SYNC_TLS_KEY_FILE) it speaks
    HTTPS itself; otherwise plain HTTP, for a reverse proxy in front. Logs go to stderr, one
    JSON object per line.
    """
    import uvicorn

    from sync_server.app import create_app
    from sync_server.host import open_host
    from sync_server.logs import configure_logging

    settings = with_tls_flags(Settings.from_env(), tls_cert, tls_key)
    check_tls(settings)
    sock = bind_socket(bind_host, port)
    try:
        host = open_host(settings)
    except BaseException:
        sock.close()
        raise
    port = sock.getsockname()[1]
    click.echo(f"CertSync data folder: {settings.data_dir}")
    click.echo(f"Database: {host.db.description}; CA: {host.ca.cert.subject.rfc4514_string()}")
    click.echo(f"CA SHA-256 fingerprint: {show_fingerprint(host.ca.fingerprint_sha256)}")
    url = f"{'https' if settings.tls_cert_file else 'http'}://{bind_host}:{port}"
    if demo:
        _print_demo(host, url)
    click.echo(f"Listening on {url}")
    configure_logging(log_level)
    config = uvicorn.Config(
        create_app(host),
        # uvloop and the httptools parser when installed (``uvicorn[standard]``, which the
        # server extra brings), else asyncio and h11: "auto" picks them, said here on purpose.
        loop="auto",
        http="auto",
        log_config=None,
        access_log=False,
        log_level=log_level.lower(),
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        host.db.dispose()


def _print_demo(host: Any, url: str) -> None:
    from sync_server import customers, enrollment
    from sync_server.credentials import format_enrollment_code
    from sync_server.models import Customer

    with host.db.read() as session:
        exists = session.get(Customer, DEMO_CUSTOMER) is not None
    # A new password on every demo start: a newcomer who lost the last one is not stuck.
    password = generate_password()
    if exists:
        customers.set_password(
            host, customer_id=DEMO_CUSTOMER, password=password, actor="system:demo"
        )
    else:
        customers.create_customer(
            host,
            customer_id=DEMO_CUSTOMER,
            name="Demo Customer",
            password=password,
            actor="system:demo",
        )
    lines = [f"Demo customer {DEMO_CUSTOMER}, login password: {password}"]
    slip = enrollment.issue_enrollment_code(host, DEMO_CUSTOMER, actor="system:demo")
    lines.append(f"Enrollment code (slip): {format_enrollment_code(slip.code)}")
    where = Path(sys.executable).parent
    on_path = shutil.which("pc-client") is not None
    lines.append(
        "Try, in another terminal:"
        if on_path
        else f"Try, in another terminal (after `. {where}/activate`, or with {where}/ in front):"
    )
    lines.append(f"  pc-client --server {url} ui   # the page: the ten functions, in a browser")
    lines.append("or on the command line:")
    lines.append(f"  pc-client --server {url} login {DEMO_CUSTOMER}")
    lines.append("  pc-client apply          # the code above, then a PFX password")
    lines.append("  pc-client status")
    lines.append("  pc-client pair --qr-png pair.png")
    lines.append(f"  mobile-stub --server {url} login {DEMO_CUSTOMER}")
    lines.append("  mobile-stub pair --qr-png pair.png")
    click.echo("\n".join(lines))


@cli.command()
def init() -> None:
    """Create the database (at the newest schema) and the CA, if they are not there yet."""
    from sync_server import schema
    from sync_server.db import Database
    from sync_server.host import open_host

    settings = Settings.from_env()
    probe = Database(settings.resolved_database_url)
    try:
        before = schema.inspect(probe)
    finally:
        probe.dispose()
    host = open_host(settings)
    try:
        made = before.state in (schema.State.MISSING, schema.State.EMPTY)
        click.echo(
            f"{'Created' if made else 'Already there'}: {host.db.description} at revision "
            f"{before.head}; data folder {settings.data_dir}"
        )
        click.echo(f"CA: {host.ca.cert.subject.rfc4514_string()}")
        click.echo(f"CA SHA-256 fingerprint: {show_fingerprint(host.ca.fingerprint_sha256)}")
    finally:
        host.db.dispose()


# -- db ---------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """The database's schema: its revision, the migrations, upgrading."""


def _database() -> Any:
    from sync_server.db import Database

    return Database(Settings.from_env().resolved_database_url)


@db.command("current")
def db_current() -> None:
    """Print the database's schema revision and whether it is the newest."""
    from sync_server import schema

    database = _database()
    try:
        status = schema.inspect(database)
    finally:
        database.dispose()
    advice = {
        schema.State.CURRENT: "current",
        schema.State.BEHIND: "behind: run `sync-server db upgrade`",
        schema.State.LEGACY: "behind: run `sync-server db upgrade`",
        schema.State.NEWER: "newer than this CertSync",
        schema.State.MISSING: "no database: `sync-server init` creates one",
        schema.State.EMPTY: "no tables: `sync-server init` creates them",
        schema.State.FOREIGN: "not a CertSync database",
    }[status.state]
    click.echo(f"{database.description}: revision {status.shown_revision} ({advice})")


@db.command("upgrade")
def db_upgrade() -> None:
    """Run the migrations this database lacks (back it up first: `sync-server backup DIR`)."""
    from sync_server import schema

    database = _database()
    try:
        before, after = schema.upgrade(database, create=False)
    finally:
        database.dispose()
    if before.state is schema.State.CURRENT:
        click.echo(f"{database.description} is already at revision {after.revision}.")
    else:
        click.echo(
            f"Upgraded {database.description}: revision {before.shown_revision} → {after.revision}."
        )


@db.command("history")
def db_history() -> None:
    """List the migrations, oldest first, marking the database's revision."""
    from sync_server import schema

    database = _database()
    try:
        current = schema.inspect(database).revision
    except ConfigError:
        current = None  # the list is worth showing even when the database is unreachable
    finally:
        database.dispose()
    for revision in schema.history():
        marks = [m for m, on in (("head", revision.id == schema.head_revision()),
                                 ("current", revision.id == current)) if on]  # fmt: skip
        click.echo(
            f"{revision.id}  {revision.title}" + (f"  ({', '.join(marks)})" if marks else "")
        )


# -- backup and restore -----------------------------------------------------------------


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
def backup(directory: Path) -> None:
    """Back up the database and the CA files into DIRECTORY (new or empty); safe while serving."""
    from sync_server import backup as backups
    from sync_server.models import utcnow

    summary = backups.backup(Settings.from_env(), directory, now=utcnow())
    click.echo(_described(f"Backed up to {summary.directory}", summary))


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
def restore(directory: Path) -> None:
    """Restore the backup in DIRECTORY into an empty data folder (or empty PostgreSQL database)."""
    from sync_server import backup as backups
    from sync_server import schema

    summary = backups.restore(Settings.from_env(), directory)
    click.echo(_described(f"Restored into {summary.directory}", summary))
    if summary.revision != schema.head_revision():
        click.echo(f"Its schema is at revision {summary.revision}: run `sync-server db upgrade`.")


def _described(head: str, summary: Any) -> str:
    counts = summary.counts
    return (
        f"{head}: {summary.kind} at revision {summary.revision}; "
        f"{counts.get('customer', 0)} customers, {counts.get('certificate', 0)} certificates, "
        f"{counts.get('audit_event', 0)} audit events."
    )


def explain(exc: BaseException) -> Failure | None:
    """The server's known errors: a refused staff action (exit 1) and what the operator must
    fix in the configuration (exit 2), each as its one line."""
    if isinstance(exc, ServiceError):
        return Failure(exc.code, exc.message, exc.details or None)
    if isinstance(exc, ConfigError):
        return Failure(exc.code, exc.message, None, EXIT_USAGE)
    return None


def _unexpected(kind: str) -> str:
    return f"unexpected {kind}; run again with --debug for details."


PROGRAM = Program("sync-server", explain=explain, unexpected=_unexpected)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sync-server`` with ``argv``; return the exit status (the shared runner's ladder:
    ``sync_client.cli_runner``; configuration errors exit 2)."""
    set_language("en")  # operators read English; the clients' language never carries over
    return run(cli, sys.argv[1:] if argv is None else argv, program=PROGRAM)


if __name__ == "__main__":
    sys.exit(main())
