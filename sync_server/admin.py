"""``sync-server admin``: customer-service and operator tasks on the database ``serve`` uses.

Every command opens the host with ``create=False``: a data folder (or PostgreSQL database) with
no CertSync database, or no CA, is refused with one line naming it, never quietly made anew (a
new database would hand out slips for accounts the live server never sees). ``--verbose`` says
on stderr which database a command acted on, so ``--json`` output stays one object.
"""

from __future__ import annotations

import getpass
from typing import Any

import click

from sync_client.protocol import format_serial, format_time
from sync_server.admin_context import (
    Context,
    actor,
    generate_password,
    generate_password_if,
    parse_customer_id,
)
from sync_server.admin_reports import REPORTS

__all__ = ["admin", "generate_password"]


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


for report in REPORTS:
    admin.add_command(report)


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

    customer_id = parse_customer_id(customer_id)
    host = ctx.host  # a missing database is said before staff type a password for nothing
    password = generate_password_if(generate_password, "Login password")
    customers.create_customer(
        host, customer_id=customer_id, name=name, password=password, actor=actor(ctx)
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

    customer_id = parse_customer_id(customer_id)
    host = ctx.host  # a missing database is said before staff type a password for nothing
    password = generate_password_if(generate_password, "New login password")
    customers.set_password(host, customer_id=customer_id, password=password, actor=actor(ctx))
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


@admin.command("unlock")
@click.argument("customer_id")
@click.pass_obj
def unlock_cmd(ctx: Context, customer_id: str) -> None:
    """End a customer's login lock now (the password stays as it is)."""
    from sync_server import service_desk

    customer_id = parse_customer_id(customer_id)
    was_locked = service_desk.unlock(ctx.host, customer_id, actor=actor(ctx))
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
    from sync_client.pinning import show_fingerprint
    from sync_server import enrollment
    from sync_server.credentials import format_enrollment_code

    customer_id = parse_customer_id(customer_id)
    slip = enrollment.issue_enrollment_code(ctx.host, customer_id, actor=actor(ctx))
    code = format_enrollment_code(slip.code)
    # The clients show the CA's fingerprint at first login (trust on first use); the slip
    # carries it too, in the same format, so the customer can compare the two.
    ca_fingerprint = show_fingerprint(ctx.host.ca.fingerprint_sha256)
    ctx.emit(
        {
            "customer_id": customer_id,
            "enrollment_code": code,
            "expires_at": format_time(slip.expires_at),
            "ca_fingerprint": ca_fingerprint,
        },
        f"Certificate password slip for {customer_id}\n"
        f"  Enrollment code: {code}   (case-sensitive)\n"
        f"  Valid until:     {format_time(slip.expires_at)}\n"
        f"  CA fingerprint:  {ca_fingerprint}",
    )


@admin.command("redownload-open")
@click.argument("customer_id")
@click.pass_obj
def redownload_open(ctx: Context, customer_id: str) -> None:
    """Let the customer download their latest certificate again, once."""
    from sync_server import redownloads

    customer_id = parse_customer_id(customer_id)
    expires_at = redownloads.open_redownload(ctx.host, customer_id, actor=actor(ctx))
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
    from sync_server import revocation

    if (serial is None) == (customer_id is None):
        raise click.UsageError("Give a SERIAL or --customer ID, not both.")
    cert = revocation.revoke(
        ctx.host,
        serial,
        customer_id=parse_customer_id(customer_id) if customer_id is not None else None,
        reason=reason,
        actor=actor(ctx),
    )
    ctx.emit(
        {"serial": cert.serial, "customer_id": cert.customer_id, "reason": reason},
        f"Revoked {format_serial(int(cert.serial))} of {cert.customer_id} ({reason}).",
    )


@admin.command()
@click.pass_obj
def prune(ctx: Context) -> None:
    """Wipe expired relay slots, delete ended ones older than an hour and spent login counters."""
    from sync_server import housekeeping

    pruned = housekeeping.prune(ctx.host, now=ctx.host.now())
    ctx.emit(
        {"removed": pruned.relay_slots, "login_counters_removed": pruned.login_counters},
        f"Removed {pruned.relay_slots} ended relay slots and"
        f" {pruned.login_counters} spent login counters.",
    )
