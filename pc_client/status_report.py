"""How the commands show the status view: ``status`` shows it whole, ``import`` its verdict.

The text a person reads and the ``--json`` object, both built from the operations' facts
(``pc_client.operations.status``). Nothing here asks, decides or changes anything (and nothing
needs click).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from pc_client.messages import describe_setting, msg, status_label_text, verdict_text
from pc_client.operations.status import (
    Advice,
    AdviceKind,
    LocalStatusView,
    StatusView,
    advise,
)
from pc_client.render import certificate_time, show_time, show_time_text, table
from sync_client.protocol import format_serial, format_time
from sync_client.security import SecuritySetting


def advice_sentence(advice: Advice) -> str:
    """One piece of advice as a sentence."""
    kind = advice.kind
    if kind is AdviceKind.UNREGISTERED:
        return msg("advice.unregistered", path=advice.path)
    if kind is AdviceKind.IMPORT_LATEST:
        return msg("advice.import_latest")
    if kind is AdviceKind.APPLY:
        code = advice.status_code
        return msg("advice.apply", label=status_label_text(code) if code is not None else "-")
    if kind is AdviceKind.RENEW:
        return msg("advice.renew", date=show_time(advice.renew_before))
    if kind is AdviceKind.PENDING_RENEW:
        return msg("advice.pending_renew", since=show_time_text(advice.since))
    return msg("advice.pending_apply", since=show_time_text(advice.since))


def advice_lines(view: StatusView) -> list[str]:
    """What the customer should do next, a sentence each."""
    return [advice_sentence(a) for a in advise(view)]


def verdict_lines(view: StatusView) -> list[str]:
    """The verdict sentence and the advice that goes with it."""
    return [verdict_text(view.check.verdict), *advice_lines(view)]


def status_json(view: StatusView) -> dict[str, Any]:
    """The ``--json`` form of the status view."""
    host_cert = view.host.certificate
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
        "client": _client_json(view),
        "verdict": view.check.verdict.value,
        "usable": view.check.usable,
        "message": verdict_text(view.check.verdict),
        "advice": advice_lines(view),
        "pending": view.pending.operation if view.pending else None,
    }


def _client_json(view: StatusView | LocalStatusView) -> dict[str, Any]:
    """This computer's part of the ``--json`` form (the same with or without the host)."""
    local_cert = view.local.cert
    return {
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
    }


def local_status_json(view: LocalStatusView) -> dict[str, Any]:
    """The ``--json`` form when the host did not answer: ``host`` is null, the verdict
    ``unknown``, and ``error``/``message`` say why (the run exits 1)."""
    exc = view.unreachable
    return {
        "error": exc.code,
        "message": exc.message,
        "details": dict(exc.details),
        "customer_id": view.customer_id,
        "host": None,
        "client": _client_json(view),
        "verdict": "unknown",
        "usable": False,
        "advice": [msg("status.host_unknown.advice")],
        "pending": view.pending.operation if view.pending else None,
    }


def local_status_lines(view: LocalStatusView) -> list[str]:
    """The status table with the host's column marked unknown, then why, then what to do."""
    client, local_cert = _client_json(view), view.local.cert
    unknown_local = msg("status.unknown") if view.local.present else "-"
    host = msg("status.host_unknown")
    setting = SecuritySetting(view.settings.security_setting)

    def _mine(value: object) -> str:
        return unknown_local if value is None else str(value)

    rows = [
        [msg("status.row.folder"), "", client["folder"]],
        [
            msg("status.row.file"),
            "",
            client["file_name"] if view.local.present else msg("status.no_file"),
        ],
        [msg("status.row.security"), "", f"{int(setting)} ({describe_setting(int(setting))})"],
        [msg("status.row.cn"), host, _mine(client["cn"])],
        [msg("status.row.status"), host, ""],
        [msg("status.row.serial"), host, _mine(client["serial_display"])],
        [
            msg("status.row.valid_from"),
            host,
            _mine(_dated(local_cert.not_valid_before_utc if local_cert else None)),
        ],
        [
            msg("status.row.valid_to"),
            host,
            _mine(_dated(local_cert.not_valid_after_utc if local_cert else None)),
        ],
    ]
    header = ["", msg("status.host"), msg("status.client")]
    return [
        msg("status.title", id=view.customer_id),
        *table(header, rows),
        "",
        view.unreachable.message,
        msg("status.host_unknown.advice"),
    ]


def _cn(cert: x509.Certificate | None) -> str | None:
    if cert is None:
        return None
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _dated(moment: datetime | None) -> str | None:
    """A certificate's validity date as the original's info table printed it."""
    return certificate_time(moment) if moment is not None else None


def status_lines(view: StatusView) -> list[str]:
    """The status view as text: host beside client, then the verdict."""
    data = status_json(view)
    host, client = data["host"], data["client"]
    host_cert, local_cert = view.host.certificate, view.local.cert
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
        [msg("status.row.status"), status_label_text(view.host.code), ""],
        [
            msg("status.row.serial"),
            _side(host["serial_display"]),
            _side(client["serial_display"], local=True),
        ],
        [
            msg("status.row.valid_from"),
            _side(_dated(host_cert.not_before if host_cert else None)),
            _side(_dated(local_cert.not_valid_before_utc if local_cert else None), local=True),
        ],
        [
            msg("status.row.valid_to"),
            _side(_dated(host_cert.not_after if host_cert else None)),
            _side(_dated(local_cert.not_valid_after_utc if local_cert else None), local=True),
        ],
    ]
    header = ["", msg("status.host"), msg("status.client")]
    lines = [msg("status.title", id=view.customer_id), *table(header, rows), ""]
    lines.extend(verdict_lines(view))
    return lines
