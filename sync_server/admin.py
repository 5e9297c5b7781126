"""``sync-server admin``: customer-service and operator tasks on the database ``serve`` uses.

Every command opens the host with ``create=False``: a data folder (or PostgreSQL database) with
no CertSync database, or no CA, is refused with one line naming it, never quietly made anew (a
new database would hand out slips for accounts the live server never sees). ``--verbose`` says
on stderr which database a command acted on, so ``--json`` output stays one object.
"""

from __future__ import annotations

import getpass
import json
import secrets
import sys
from datetime import datetime
from typing import Any

import click

from sync_client.protocol import format_serial, format_time
from sync_server.settings import Settings


class Context:
    def __init__(self, *, debug: bool, as_json: bool, staff: str, verbose: bool) -> None:
        self.debug = debug
        self.as_json = as_json
        self.staff = staff
        self.verbose = verbose
        self._host: Any = None

    @property
    def host(self) -> Any:
        if self._host is None:
            from sync_server.host import open_host

            settings = Settings.from_env()
            host = open_host(settings, create=False)
            self._host = host
            if self.verbose:
                click.echo(
                    f"Database: {host.db.description} (data folder {settings.data_dir}; "
                    f"CA {host.ca.fingerprint_sha256[:16]}…)",
                    err=True,
                )
        return self._host

    def close(self) -> None:
        if self._host is not None:
            self._host.db.dispose()

    def emit(self, data: dict[str, Any], text: str) -> None:
        click.echo(json.dumps(data, ensure_ascii=False) if self.as_json else text)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def _when(moment: datetime | None, none: str = "-") -> str:
    return format_time(moment) if moment is not None else none


def _json_time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None


@click.group()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--staff", default=None, help="Who is acting, for the audit trail [your login name].")
@click.option("--verbose", "-v", is_flag=True, help="Say on stderr which database was used.")
@click.pass_context
def admin(ctx: click.Context, as_json: bool, staff: str | None, verbose: bool) -> None:
    """Customer-service and operator tasks on the same database as `serve`."""
    ctx.obj = Context(
        debug=ctx.obj["debug"],
        as_json=as_json,
        staff=staff or getpass.getuser(),
        verbose=verbose,
    )
    ctx.call_on_close(ctx.obj.close)


def _actor(ctx: Context) -> str:
    return f"staff:{ctx.staff}"[:100]


def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def generate_password_if(generate: bool, prompt: str) -> str:
    """A new random login password, or the one staff type at the prompt."""
    return generate_password() if generate else _read_secret(prompt)


def _customer_id(raw: str) -> str:
    from sync_server import customers

    return customers.parse_customer_id(raw)


# -- customers --------------------------------------------------------------------------


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

    customer_id = _customer_id(customer_id)
    password = generate_password_if(generate_password, "Login password")
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

    customer_id = _customer_id(customer_id)
    password = generate_password_if(generate_password, "New login password")
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


def _summary_json(s: Any) -> dict[str, Any]:
    return {
        "customer_id": s.id,
        "name": s.name,
        "created_at": format_time(s.created_at),
        "last_login_at": _json_time(s.last_login_at),
        "locked_until": _json_time(s.locked_until),
        "failed_logins": s.failed_logins,
        "status": int(s.status),
        "status_label": s.status.label,
    }


@admin.command("customers")
@click.option("--locked", is_flag=True, help="Only customers whose login is locked now.")
@click.option("--name", default=None, help="A part of the name (any case).")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 10000))
@click.pass_obj
def customers_cmd(ctx: Context, locked: bool, name: str | None, limit: int) -> None:
    """List customers in ID order: lock state, last login, certificate status."""
    from sync_server import service_desk

    found, total = service_desk.list_customers(ctx.host, locked=locked, name=name, limit=limit)
    items = [_summary_json(s) for s in found]
    lines = [
        f"{i['customer_id']}  {i['name']:<20} "
        f"{'LOCKED until ' + i['locked_until'] if i['locked_until'] else 'active':<34} "
        f"last login {i['last_login_at'] or 'never':<20}  {i['status']} {i['status_label']}"
        for i in items
    ]
    if total > len(items):
        lines.append(f"… {total - len(items)} more; narrow with --name or raise --limit.")
    ctx.emit({"customers": items, "total": total}, "\n".join(lines) or "No customers match.")


@admin.command("customer")
@click.argument("customer_id")
@click.pass_obj
def customer_cmd(ctx: Context, customer_id: str) -> None:
    """One customer: name, lock, last login, enrollment slip, certificates, sessions."""
    from sync_server import certificates, service_desk

    host = ctx.host
    card = service_desk.customer_card(host, _customer_id(customer_id))
    now, window = host.now(), host.settings.renewal_window
    certs = [certificates.certificate_json(c, now=now, window=window) for c in card.certificates]
    for item in certs:
        del item["cert_pem"]
    slip = card.slip
    data = {
        **_summary_json(card.summary),
        "slip": {
            "state": slip.state,
            "issued_at": _json_time(slip.issued_at),
            "expires_at": _json_time(slip.expires_at),
            "used_at": _json_time(slip.used_at),
            "tries_left": slip.tries_left,
        },
        "certificates": certs,
        "sessions": [
            {
                "device_kind": s.device_kind,
                "created_at": format_time(s.created_at),
                "expires_at": format_time(s.expires_at),
            }
            for s in card.live_sessions
        ],
        "ended_sessions": card.ended_sessions,
    }
    s = card.summary
    slip_line = {
        "none": "none issued",
        "valid": f"valid until {_when(slip.expires_at)} ({slip.tries_left} tries left)",
        "used": f"used {_when(slip.used_at)}",
        "expired": f"expired {_when(slip.expires_at)}",
        "locked": "locked: too many wrong codes (issue a new slip)",
    }[slip.state]
    lines = [
        f"{s.id}  {s.name}",
        f"  Login:        {'LOCKED until ' + _when(s.locked_until) if s.locked_until else 'active'}"
        f" ({s.failed_logins} failed in a row); last login {_when(s.last_login_at, 'never')}",
        f"  Status:       {int(s.status)} {s.status.label}",
        f"  Slip:         {slip_line}",
        "  Certificates:" + ("" if certs else " none"),
        *(
            f"    {c['serial_display']:<44} {c['not_before']} → {c['not_after']}  {c['status']}"
            for c in certs
        ),
        f"  Sessions:     {len(card.live_sessions)} live, {card.ended_sessions} ended",
        *(
            f"    {x.device_kind:<6} since {format_time(x.created_at)}, "
            f"until {format_time(x.expires_at)}"
            for x in card.live_sessions
        ),
    ]
    ctx.emit(data, "\n".join(lines))


@admin.command("unlock")
@click.argument("customer_id")
@click.pass_obj
def unlock_cmd(ctx: Context, customer_id: str) -> None:
    """End a customer's login lock now (the password stays as it is)."""
    from sync_server import service_desk

    customer_id = _customer_id(customer_id)
    was_locked = service_desk.unlock(ctx.host, customer_id, actor=_actor(ctx))
    ctx.emit(
        {"customer_id": customer_id, "was_locked": was_locked},
        f"{customer_id} unlocked." if was_locked else f"{customer_id} was not locked.",
    )


# -- slips, re-download, revocation -----------------------------------------------------


@admin.command("enrollment-code")
@click.argument("customer_id")
@click.pass_obj
def enrollment_code(ctx: Context, customer_id: str) -> None:
    """Print a new enrollment slip (code and expiry); an earlier slip stops working."""
    from sync_server import certificates
    from sync_server.credentials import format_enrollment_code

    customer_id = _customer_id(customer_id)
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
    from sync_server import certificates

    customer_id = _customer_id(customer_id)
    expires_at = certificates.open_redownload(ctx.host, customer_id, actor=_actor(ctx))
    ctx.emit(
        {"customer_id": customer_id, "expires_at": format_time(expires_at)},
        f"Re-download opened for {customer_id} until {format_time(expires_at)}.",
    )


@admin.command()
@click.argument("serial", required=False)
@click.option(
    "--customer",
    "customer_id",
    default=None,
    help="Revoke this customer's current certificate instead of naming a serial.",
)
@click.option(
    "--reason",
    required=True,
    help="unspecified, key_compromise, affiliation_changed, superseded or cessation_of_operation",
)
@click.pass_obj  # fmt: skip
def revoke(ctx: Context, serial: str | None, customer_id: str | None, reason: str) -> None:
    """Revoke a certificate; the CRL shows it at once.

    SERIAL is decimal, 0x hex, or the short form a customer reads out: the last 6 hex digits
    (refused when several certificates end in them).
    """
    from sync_server import certificates

    if (serial is None) == (customer_id is None):
        raise click.UsageError("Give a SERIAL or --customer ID, not both.")
    cert = certificates.revoke(
        ctx.host,
        serial,
        customer_id=_customer_id(customer_id) if customer_id is not None else None,
        reason=reason,
        actor=_actor(ctx),
    )
    ctx.emit(
        {"serial": cert.serial, "customer_id": cert.customer_id, "reason": reason},
        f"Revoked {format_serial(int(cert.serial))} of {cert.customer_id} ({reason}).",
    )


@admin.command()
@click.argument("customer_id", required=False)
@click.pass_obj
def certs(ctx: Context, customer_id: str | None) -> None:
    """List certificates, of one customer or all."""
    from sync_server import certificates

    if customer_id is not None:
        customer_id = _customer_id(customer_id)
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
    from sync_server import audit

    if customer_id is not None:
        customer_id = _customer_id(customer_id)
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
