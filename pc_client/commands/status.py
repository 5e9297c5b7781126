"""``status``: function 1, certificate query and check (憑證查詢暨憑證資料檢核).

``gather`` is shared with the commands that need the same facts (export, import): the host's
status, what this computer holds, and the verdict of ``sync_client.verdict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from cryptography import x509
from cryptography.x509.oid import NameOID

from pc_client.app import App, Result
from pc_client.messages import describe_setting, msg
from pc_client.records import Pending, StoreSettings
from pc_client.render import show_time, table
from pc_client.store import LocalCertificate
from sync_client.api import HostStatus
from sync_client.protocol import StatusCode, format_serial, format_time
from sync_client.security import SecuritySetting
from sync_client.verdict import Check, Verdict, check_match


@dataclass(frozen=True)
class StatusView:
    """Everything ``status`` shows: host, this computer, and the verdict."""

    customer_id: str
    host: HostStatus
    local: LocalCertificate
    check: Check
    pending: Pending | None
    settings: StoreSettings
    session_setting: int


def gather(app: App) -> StatusView:
    """Ask the host, look at the store, compare. Needs a login session."""
    session = app.session()
    host = app.client().status()
    local = app.store.local_certificate(session.customer_id)
    check = check_match(
        host_code=host.code,
        host_fingerprint=host.certificate.fingerprint_sha256 if host.certificate else None,
        local_fingerprint=local.fingerprint_sha256,
    )
    return StatusView(
        customer_id=session.customer_id,
        host=host,
        local=local,
        check=check,
        pending=app.store.load_pending(session.customer_id),
        settings=app.store.load_settings(),
        session_setting=session.security_setting,
    )


def status_label(code: int) -> str:
    """``0 valid`` and so on: the code and its label, as the original showed them."""
    try:
        return f"{code} {msg('status.label.' + StatusCode(code).label)}"
    except ValueError:
        return str(code)


def verdict_lines(view: StatusView) -> list[str]:
    """The verdict sentence and the advice that goes with it."""
    lines = [msg("verdict." + view.check.verdict.value)]
    lines.extend(advice(view))
    return lines


def advice(view: StatusView) -> list[str]:
    """What the customer should do next, given the check."""
    items: list[str] = []
    check, host = view.check, view.host
    if view.local.present and view.local.cert is None:
        items.append(msg("advice.unregistered", path=view.local.path))
    if check.verdict is not Verdict.MATCH:
        items.append(msg("advice.import_latest"))
    if not check.host_valid:
        items.append(msg("advice.apply", label=status_label(host.code)))
    elif host.code == StatusCode.EXPIRING and host.certificate is not None:
        items.append(msg("advice.renew", date=show_time(host.certificate.not_after)))
    if view.pending is not None:
        key = (
            "advice.pending_renew" if view.pending.operation == "renew" else "advice.pending_apply"
        )
        items.append(msg(key, since=view.pending.created_at))
    return items


def view_json(view: StatusView) -> dict[str, Any]:
    """The ``--json`` form of the status view."""
    host_cert = view.host.certificate
    local_cert = view.local.cert
    return {
        "customer_id": view.customer_id,
        "host": {
            "cn": host_cert.subject_cn if host_cert else None,
            "status_code": view.host.code,
            "status_label": view.host.label,
            "serial": str(host_cert.serial) if host_cert else None,
            "serial_display": host_cert.serial_display if host_cert else None,
            "not_before": format_time(host_cert.not_before) if host_cert else None,
            "not_after": format_time(host_cert.not_after) if host_cert else None,
            "fingerprint_sha256": host_cert.fingerprint_sha256 if host_cert else None,
            "renewal_opens_at": format_time(view.host.renewal_opens_at)
            if view.host.renewal_opens_at
            else None,
        },
        "client": {
            "folder": str(view.local.path.parent),
            "file_name": view.local.path.name,
            "file_present": view.local.present,
            "registered": local_cert is not None,
            "security_setting": view.settings.security_setting,
            "session_security_setting": view.session_setting,
            "cn": _cn(local_cert),
            "serial": str(local_cert.serial_number) if local_cert else None,
            "serial_display": format_serial(local_cert.serial_number) if local_cert else None,
            "not_before": format_time(local_cert.not_valid_before_utc) if local_cert else None,
            "not_after": format_time(local_cert.not_valid_after_utc) if local_cert else None,
            "fingerprint_sha256": view.local.fingerprint_sha256,
        },
        "verdict": view.check.verdict.value,
        "usable": view.check.usable,
        "message": msg("verdict." + view.check.verdict.value),
        "advice": advice(view),
        "pending": view.pending.operation if view.pending else None,
    }


def _cn(cert: x509.Certificate | None) -> str | None:
    if cert is None:
        return None
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def render(view: StatusView) -> list[str]:
    """The status view as text: host beside client, then the verdict."""
    data = view_json(view)
    host, client = data["host"], data["client"]
    unknown = msg("status.unknown") if view.local.present else "-"
    setting = SecuritySetting(view.settings.security_setting)

    def _side(value: object, *, local: bool = False) -> str:
        if value is None:
            return unknown if local else "-"
        return str(value)

    rows = [
        [msg("status.row.folder"), "", client["folder"]],
        [
            msg("status.row.file"),
            "",
            client["file_name"] if view.local.present else msg("status.no_file"),
        ],
        [msg("status.row.security"), "", f"{int(setting)} ({describe_setting(int(setting))})"],
        [msg("status.row.cn"), _side(host["cn"]), _side(client["cn"], local=True)],
        [msg("status.row.status"), status_label(view.host.code), ""],
        [
            msg("status.row.serial"),
            _side(host["serial_display"]),
            _side(client["serial_display"], local=True),
        ],
        [
            msg("status.row.valid_from"),
            _side(host["not_before"]),
            _side(client["not_before"], local=True),
        ],
        [
            msg("status.row.valid_to"),
            _side(host["not_after"]),
            _side(client["not_after"], local=True),
        ],
    ]
    header = ["", msg("status.host"), msg("status.client")]
    lines = [msg("status.title", id=view.customer_id), *table(header, rows), ""]
    lines.extend(verdict_lines(view))
    return lines


@click.command()
@click.pass_obj
def status(app: App) -> Result:
    """Show the host's certificate beside this computer's, and whether they match.

    The verdict is one of: the certificate matches; no certificate on this computer matches
    the host; certificate mismatch (with --json: match, no_local_match, mismatch).
    No prompts.
    """
    view = gather(app)
    return Result(view_json(view), render(view))
