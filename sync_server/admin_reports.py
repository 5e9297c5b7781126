"""``sync-server admin``'s read-only listings: customers, one customer's card, certificates,
the audit trail. Each prints its JSON object with ``--json``, else lines for staff."""

from __future__ import annotations

from typing import Any

import click

from sync_client.protocol import format_time
from sync_server.admin_context import Context, json_time, parse_customer_id, when


def _summary_json(s: Any) -> dict[str, Any]:
    return {
        "customer_id": s.id,
        "name": s.name,
        "created_at": format_time(s.created_at),
        "last_login_at": json_time(s.last_login_at),
        "locked_until": json_time(s.locked_until),
        "failed_logins": s.failed_logins,
        "status": int(s.status),
        "status_label": s.status.label,
    }


@click.command("customers")
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


@click.command("customer")
@click.argument("customer_id")
@click.pass_obj
def customer_cmd(ctx: Context, customer_id: str) -> None:
    """One customer: name, lock, last login, enrollment slip, certificates, sessions."""
    from sync_server import service_desk
    from sync_server.answers import certificate_object

    host = ctx.host
    card = service_desk.customer_card(host, parse_customer_id(customer_id))
    now, window = host.now(), host.settings.renewal_window
    certs = [certificate_object(c, now=now, window=window).to_wire() for c in card.certificates]
    for item in certs:
        del item["cert_pem"]
    slip = card.slip
    data = {
        **_summary_json(card.summary),
        "slip": {
            "state": slip.state,
            "issued_at": json_time(slip.issued_at),
            "expires_at": json_time(slip.expires_at),
            "used_at": json_time(slip.used_at),
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
    window_minutes = int(host.settings.login_failure_window.total_seconds() // 60)
    slip_line = {
        "none": "none issued",
        "valid": f"valid until {when(slip.expires_at)} ({slip.tries_left} tries left)",
        "used": f"used {when(slip.used_at)}",
        "expired": f"expired {when(slip.expires_at)}",
        "locked": "locked: too many wrong codes (issue a new slip)",
    }[slip.state]
    lines = [
        f"{s.id}  {s.name}",
        f"  Login:        {'LOCKED until ' + when(s.locked_until) if s.locked_until else 'active'}"
        f" ({s.failed_logins} failed in the last {window_minutes} min);"
        f" last login {when(s.last_login_at, 'never')}",
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


@click.command()
@click.argument("customer_id", required=False)
@click.pass_obj
def certs(ctx: Context, customer_id: str | None) -> None:
    """List certificates, of one customer or all."""
    from sync_server import certificate_views
    from sync_server.answers import certificate_object

    if customer_id is not None:
        customer_id = parse_customer_id(customer_id)
    host = ctx.host
    rows = certificate_views.list_certificates(host, customer_id)
    now, window = host.now(), host.settings.renewal_window
    items = [certificate_object(r, now=now, window=window).to_wire() for r in rows]
    for item in items:
        del item["cert_pem"]
    lines = [
        f"{i['customer_id']}  {i['serial_display']:<44} "
        f"{i['not_before']} → {i['not_after']}  {i['status']}"
        for i in items
    ]
    ctx.emit({"certificates": items}, "\n".join(lines) or "No certificates.")


@click.command("audit")
@click.option("--customer", "customer_id", default=None)
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100000))
@click.pass_obj
def audit_cmd(ctx: Context, customer_id: str | None, limit: int) -> None:
    """Show the audit trail, oldest first."""
    from sync_server import audit

    if customer_id is not None:
        customer_id = parse_customer_id(customer_id)
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


REPORTS = (customers_cmd, customer_cmd, certs, audit_cmd)
