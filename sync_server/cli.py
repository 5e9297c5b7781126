"""``sync-server``: run the service (``serve``) and do customer-service work (``admin``).

Both read the same settings (``SYNC_*`` environment variables), so ``admin`` works on the
database that ``serve`` uses. Known errors print one line and exit 1; anything else prints one
line too, with the traceback only under ``--debug``.
"""

from __future__ import annotations

import getpass
import json
import secrets
import shutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from sync_client.protocol import format_serial, format_time
from sync_server.errors import ConfigError, ServiceError
from sync_server.settings import Settings

DEMO_CUSTOMER = "A123456789"


class Context:
    def __init__(self, *, debug: bool, as_json: bool, staff: str) -> None:
        self.debug = debug
        self.as_json = as_json
        self.staff = staff
        self._host: Any = None

    @property
    def host(self) -> Any:
        if self._host is None:
            from sync_server.host import open_host

            self._host = open_host(Settings.from_env())
        return self._host

    def close(self) -> None:
        if self._host is not None:
            self._host.db.dispose()

    def emit(self, data: dict[str, Any], text: str) -> None:
        click.echo(json.dumps(data, ensure_ascii=False) if self.as_json else text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """CertSync host: the certificate registration service and its staff tools."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.option("--host", "bind_host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--demo", is_flag=True, help="Create a demo customer and print how to try the clients."
)
@click.option("--log-level", default="info", show_default=True)
def serve(bind_host: str, port: int, demo: bool, log_level: str) -> None:
    """Run the service (SQLite in SYNC_DATA_DIR unless SYNC_DATABASE_URL is set)."""
    import uvicorn

    from sync_server.app import create_app
    from sync_server.host import open_host

    settings = Settings.from_env()
    host = open_host(settings)
    where = "SQLite" if host.db.is_sqlite else "PostgreSQL"
    click.echo(f"CertSync data folder: {settings.data_dir}")
    click.echo(f"Database: {where}; CA: {host.ca.cert.subject.rfc4514_string()}")
    click.echo(f"CA SHA-256 fingerprint: {host.ca.fingerprint_sha256}")
    url = f"http://{bind_host}:{port}"
    if demo:
        _print_demo(host, url)
    uvicorn.run(create_app(host), host=bind_host, port=port, log_level=log_level)


def _print_demo(host: Any, url: str) -> None:
    from sync_server import certificates, customers
    from sync_server.models import Customer

    with host.db.read() as session:
        exists = session.get(Customer, DEMO_CUSTOMER) is not None
    # A new password on every demo start: a newcomer who lost the last one is not stuck.
    password = _generate_password()
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
    slip = certificates.issue_enrollment_code(host, DEMO_CUSTOMER, actor="system:demo")
    from sync_server.credentials import format_enrollment_code

    lines.append(f"Enrollment code (slip): {format_enrollment_code(slip.code)}")
    where = Path(sys.executable).parent
    on_path = shutil.which("pc-client") is not None
    lines.append(
        "Try, in another terminal:"
        if on_path
        else f"Try, in another terminal (after `. {where}/activate`, or with {where}/ in front):"
    )
    lines.append(f"  pc-client --server {url} login {DEMO_CUSTOMER}")
    lines.append("  pc-client apply          # the code above, then a PFX password")
    lines.append("  pc-client status")
    lines.append("  pc-client pair --qr-png pair.png")
    lines.append(f"  mobile-stub --server {url} login {DEMO_CUSTOMER}")
    lines.append("  mobile-stub pair --qr-png pair.png")
    click.echo("\n".join(lines))


def _generate_password() -> str:
    return secrets.token_urlsafe(12)


# -- admin ------------------------------------------------------------------------------


@cli.group()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--staff", default=None, help="Who is acting, for the audit trail [your login name].")
@click.pass_context
def admin(ctx: click.Context, as_json: bool, staff: str | None) -> None:
    """Customer-service and operator tasks on the same database as `serve`."""
    ctx.obj = Context(debug=ctx.obj["debug"], as_json=as_json, staff=staff or getpass.getuser())
    ctx.call_on_close(ctx.obj.close)


def _actor(ctx: Context) -> str:
    return f"staff:{ctx.staff}"[:100]


def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@admin.command("customer-add")
@click.argument("customer_id")
@click.option("--name", required=True)
@click.option(
    "--generate-password", is_flag=True, help="Generate the login password and print it once."
)
@click.pass_obj
def customer_add(ctx: Context, customer_id: str, name: str, generate_password: bool) -> None:
    """Create a customer; the login password is prompted (or generated and printed once)."""
    from sync_server import customers

    customer_id = customers.parse_customer_id(customer_id)
    password = _generate_password() if generate_password else _read_secret("Login password")
    customers.create_customer(
        ctx.host, customer_id=customer_id, name=name, password=password, actor=_actor(ctx)
    )
    _emit_password_result(
        ctx,
        {"customer_id": customer_id, "name": name},
        f"Customer {customer_id} ({name}) created.",
        password if generate_password else None,
    )


@admin.command("customer-passwd")
@click.argument("customer_id")
@click.option(
    "--generate-password", is_flag=True, help="Generate the login password and print it once."
)
@click.pass_obj
def customer_passwd(ctx: Context, customer_id: str, generate_password: bool) -> None:
    """Set a customer's new login password (prompted, or generated and printed once).

    The account is unlocked and the customer's open sessions end.
    """
    from sync_server import customers

    customer_id = customers.parse_customer_id(customer_id)
    password = _generate_password() if generate_password else _read_secret("New login password")
    customers.set_password(ctx.host, customer_id=customer_id, password=password, actor=_actor(ctx))
    _emit_password_result(
        ctx,
        {"customer_id": customer_id},
        f"New login password set for {customer_id}; its sessions have ended.",
        password if generate_password else None,
    )


def _emit_password_result(
    ctx: Context, data: dict[str, Any], text: str, generated: str | None
) -> None:
    """Print the result; a generated password is shown this once and never again."""
    if generated is not None:
        data = {**data, "password": generated}
        text += f"\nLogin password (shown once): {generated}"
    ctx.emit(data, text)


@admin.command("enrollment-code")
@click.argument("customer_id")
@click.pass_obj
def enrollment_code(ctx: Context, customer_id: str) -> None:
    """Print a new enrollment slip (code and expiry); an earlier slip stops working."""
    from sync_server import certificates, customers
    from sync_server.credentials import format_enrollment_code

    customer_id = customers.parse_customer_id(customer_id)
    slip = certificates.issue_enrollment_code(ctx.host, customer_id, actor=_actor(ctx))
    code = format_enrollment_code(slip.code)
    ctx.emit(
        {
            "customer_id": customer_id,
            "enrollment_code": code,
            "expires_at": format_time(slip.expires_at),
        },
        f"Certificate password slip for {customer_id}\n"
        f"  Enrollment code: {code}   (case-sensitive)\n"
        f"  Valid until:     {format_time(slip.expires_at)}",
    )


@admin.command("redownload-open")
@click.argument("customer_id")
@click.pass_obj
def redownload_open(ctx: Context, customer_id: str) -> None:
    """Let the customer download their latest certificate again, once."""
    from sync_server import certificates, customers

    customer_id = customers.parse_customer_id(customer_id)
    expires_at = certificates.open_redownload(ctx.host, customer_id, actor=_actor(ctx))
    ctx.emit(
        {"customer_id": customer_id, "expires_at": format_time(expires_at)},
        f"Re-download opened for {customer_id} until {format_time(expires_at)}.",
    )


@admin.command()
@click.argument("serial")
@click.option("--reason", required=True, help="unspecified, key_compromise, affiliation_changed, "
              "superseded or cessation_of_operation")  # fmt: skip
@click.pass_obj
def revoke(ctx: Context, serial: str, reason: str) -> None:
    """Revoke a certificate by serial (decimal or 0x hex); the CRL shows it at once."""
    from sync_server import certificates

    cert = certificates.revoke(ctx.host, serial, reason=reason, actor=_actor(ctx))
    ctx.emit(
        {"serial": cert.serial, "customer_id": cert.customer_id, "reason": reason},
        f"Revoked {format_serial(int(cert.serial))} of {cert.customer_id} ({reason}).",
    )


@admin.command()
@click.argument("customer_id", required=False)
@click.pass_obj
def certs(ctx: Context, customer_id: str | None) -> None:
    """List certificates, of one customer or all."""
    from sync_server import certificates, customers

    if customer_id is not None:
        customer_id = customers.parse_customer_id(customer_id)
    host = ctx.host
    rows = certificates.list_certificates(host, customer_id)
    items = [
        certificates.certificate_json(r, now=host.now(), window=host.settings.renewal_window)
        for r in rows
    ]
    for item in items:
        del item["cert_pem"]
    lines = [
        f"{i['customer_id']}  {i['serial_display']:<44} "
        f"{i['not_before']} → {i['not_after']}  {i['status']}"
        for i in items
    ]
    ctx.emit({"certificates": items}, "\n".join(lines) or "No certificates.")


@admin.command("audit")
@click.option("--customer", "customer_id", default=None)
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100000))
@click.pass_obj
def audit_cmd(ctx: Context, customer_id: str | None, limit: int) -> None:
    """Show the audit trail, oldest first."""
    from sync_server import audit, customers

    if customer_id is not None:
        customer_id = customers.parse_customer_id(customer_id)
    with ctx.host.db.read() as session:
        events = audit.list_events(session, customer_id=customer_id, limit=limit)
    items = [
        {
            "at": format_time(e.at),
            "actor": e.actor,
            "customer_id": e.customer_id,
            "device_kind": e.device_kind,
            "action": e.action,
            "outcome": e.outcome,
            "detail": e.detail,
        }
        for e in events
    ]
    lines = [
        f"{i['at']}  {i['actor']:<16} {i['customer_id'] or '-':<10} {i['device_kind'] or '-':<6} "
        f"{i['action']:<20} {i['outcome']:<24} {i['detail']}"
        for i in items
    ]
    ctx.emit({"events": items}, "\n".join(lines) or "No events.")


@admin.command()
@click.pass_obj
def prune(ctx: Context) -> None:
    """Wipe expired relay slots and delete ended ones older than an hour."""
    from datetime import timedelta

    from sync_server import relay

    removed = relay.prune(ctx.host, now=ctx.host.now(), older_than=timedelta(hours=1))
    ctx.emit({"removed": removed}, f"Removed {removed} ended relay slots.")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="sync-server", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ServiceError as exc:
        click.echo(f"error: {exc.message} [{exc.code}]", err=True)
        return 1
    except ConfigError as exc:
        click.echo(f"error: {exc} [config]", err=True)
        return 2
    except Exception as exc:
        if debug:
            traceback.print_exc()
        click.echo(
            f"error: unexpected {type(exc).__name__}; run again with --debug for details.", err=True
        )
        return 70
    return 0


if __name__ == "__main__":
    sys.exit(main())
