"""How ``mobile-stub`` presents each command's result: one JSON object, or lines of text.

Every function here is pure: it takes the values a command produced and returns a
:class:`Rendered` pair, the ``--json`` object and the text for a person; the command returns it
(``App.answer`` in :mod:`mobile_stub.app`) and the runner prints one of them. Keys keep their
order, since the JSON output is read by scripts and compared by tests.

The text is in the language of the run, from the catalogue (``msg("phone.…")``); times are
``sync_client.display.show_time`` (ROC year and Taipei time in zh-TW), certificate validity
dates ``certificate_time``, as the original's certificate tables printed them. The JSON object
is for programs: English, UTC (``sync_client.protocol.format_time``), never translated.

Like the command line, this module imports no heavy module (httpx2, cryptography, the QR stack):
the types it names come in only for the type checker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mobile_stub.messages import describe_setting, msg, side_label, status_label
from sync_client.display import certificate_time, display_width, pad, show_time
from sync_client.protocol import format_time, parse_time
from sync_client.security import SecuritySetting

if TYPE_CHECKING:
    from mobile_stub.keystore import KeystoreEntry
    from mobile_stub.pairing import Paired
    from mobile_stub.session import PhoneSession
    from mobile_stub.verdict import Verdict
    from sync_client.api import HostStatus, LoginResult


class Rendered(NamedTuple):
    """A command's result twice over: the ``--json`` object and the text for a person."""

    data: dict[str, Any]
    text: str


def _rows(rows: Sequence[tuple[str, str]], *, indent: str = "  ") -> list[str]:
    """``label value`` lines, the values in one column (labels measured in display cells)."""
    width = max((display_width(label) for label, _ in rows), default=0) + 1
    return [f"{indent}{pad(label, width)}{value}".rstrip() for label, value in rows]


def _setting(setting: SecuritySetting) -> str:
    """``2 (登入後第一次下單詢問憑證密碼)``: the original's 安全設定值."""
    return msg("phone.setting.value", setting=int(setting), description=describe_setting(setting))


# -- login / logout -----------------------------------------------------------------------


def render_login(server_url: str, result: LoginResult, setting: SecuritySetting) -> Rendered:
    """The phone is logged in to ``server_url``; ``setting`` is the one this login runs under."""
    lines = [
        msg(
            "phone.login.done",
            server=server_url,
            id=result.customer_id,
            until=show_time(result.expires_at),
        ),
        msg("phone.login.setting", setting=_setting(setting)),
    ]
    reminder = result.renewal_reminder
    if reminder:
        lines.append(
            msg(
                "phone.login.renewal_reminder",
                serial=reminder.get("serial_display", "-"),
                date=_reminder_date(reminder.get("not_after")),
            )
        )
    return Rendered(
        {
            "customer_id": result.customer_id,
            "server": server_url,
            "expires_at": format_time(result.expires_at),
            "security_setting": int(setting),
            "renewal_reminder": reminder,
        },
        "\n".join(lines),
    )


def _reminder_date(raw: object) -> str:
    """The reminder's expiry (the server's RFC 3339) as a person reads it; as sent if odd."""
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):
            return show_time(parse_time(raw))
    return str(raw) if raw is not None else "-"


def render_logout(session: PhoneSession | None, *, notified: bool) -> Rendered:
    """The session (``None``: there was none) has ended; ``notified``: the server was told."""
    if session is None:
        text = msg("phone.logout.none")
    elif notified:
        text = msg("phone.logout.done", id=session.customer_id)
    else:
        text = msg("phone.logout.server_not_told", id=session.customer_id)
    return Rendered({"logged_out": session is not None, "server_notified": notified}, text)


# -- pair ---------------------------------------------------------------------------------


def render_pairing_given_up(customer_id: str, *, discarded: bool) -> Rendered:
    """``pair --give-up``: whether a received file was waiting and is now gone."""
    text = msg("phone.pair.discarded") if discarded else msg("phone.pair.nothing_waiting")
    return Rendered({"discarded": discarded, "customer_id": customer_id}, text)


def render_paired(paired: Paired) -> Rendered:
    """The certificate is now in the phone's keystore."""
    loaded = paired.loaded
    lines = [
        msg("phone.pair.done", id=loaded.customer_id, path=paired.keystore_path),
        *_rows(
            [
                (msg("phone.row.serial"), loaded.serial_display),
                (msg("phone.row.valid_to"), certificate_time(loaded.not_after)),
            ]
        ),
    ]
    return Rendered(
        {
            "paired": True,
            "customer_id": loaded.customer_id,
            "serial": str(loaded.serial),
            "serial_display": loaded.serial_display,
            "not_after": format_time(loaded.not_after),
            "fingerprint_sha256": loaded.fingerprint_sha256,
            "keystore": str(paired.keystore_path),
            "slot_id": paired.slot_id,
            "reused_pending": paired.reused_pending,
        },
        "\n".join(lines),
    )


# -- status -------------------------------------------------------------------------------


def render_status(
    host: HostStatus,
    session: PhoneSession,
    *,
    keystore_dir: Path,
    entry: KeystoreEntry | None,
    pending: bool,
    saved: SecuritySetting,
    verdict: Verdict,
) -> Rendered:
    """The host's certificate beside the phone's (``entry``, if any), and the ``verdict``.

    ``pending``: a received certificate waits for its PFX password; ``saved``: the phone's
    security setting for this customer (the session may run under an older one).
    """
    phone: dict[str, Any] = {
        "keystore": str(keystore_dir),
        "file": f"{session.customer_id}.pfx",
        "present": entry is not None,
        "security_setting": int(saved),
        "session_security_setting": int(session.security_setting),
    }
    if entry is not None:
        phone |= entry.describe()
    data = {
        "customer_id": session.customer_id,
        "host": _host_facts(host),
        "phone": phone,
        "pending_pairing": pending,
        "verdict": verdict.code,
        "message": verdict.message,
        "advice": verdict.advice,
    }
    text = _status_text(
        host, session, phone=phone, entry=entry, saved=saved, pending=pending, verdict=verdict
    )
    return Rendered(data, text)


def _host_facts(host: HostStatus) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "customer_id": host.customer_id,
        "code": host.code,
        "label": host.label,
    }
    cert = host.certificate
    if cert is not None:
        facts |= {
            "subject_cn": cert.subject_cn,
            "serial": str(cert.serial),
            "serial_display": cert.serial_display,
            "not_before": format_time(cert.not_before),
            "not_after": format_time(cert.not_after),
            "fingerprint_sha256": cert.fingerprint_sha256,
        }
    return facts


def _status_text(
    host: HostStatus,
    session: PhoneSession,
    *,
    phone: dict[str, Any],
    entry: KeystoreEntry | None,
    saved: SecuritySetting,
    pending: bool,
    verdict: Verdict,
) -> str:
    """The original's 憑證資訊 screen, host above phone, then the verdict (檢核結果)."""
    host_rows = [
        (msg("phone.row.cn"), host.customer_id),
        (msg("phone.row.status"), status_label(host.code, host.label)),
    ]
    cert = host.certificate
    if cert is not None:
        host_rows += _validity_rows(cert.serial_display, cert.not_before, cert.not_after)
    file_name = (
        phone["file"] if entry is not None else msg("phone.status.no_file", file=phone["file"])
    )
    phone_rows = [
        (msg("phone.row.folder"), phone["keystore"]),
        (msg("phone.row.file"), file_name),
        (
            msg("phone.row.security"),
            msg(
                "phone.status.security",
                setting=_setting(saved),
                session_setting=int(session.security_setting),
            ),
        ),
    ]
    if entry is not None and entry.cert is not None:
        phone_rows.append((msg("phone.row.cn"), str(phone.get("subject_cn") or "-")))
        phone_rows += _validity_rows(
            str(phone["serial_display"]),
            entry.cert.not_valid_before_utc,
            entry.cert.not_valid_after_utc,
        )
    # One column for both tables, as the original's screen lines them up.
    rows = _rows([*host_rows, *phone_rows])
    lines = [msg("phone.status.host"), *rows[: len(host_rows)]]
    lines += [msg("phone.status.phone"), *rows[len(host_rows) :]]
    if pending:
        lines.append(msg("phone.status.pending"))
    lines.append(msg("phone.status.verdict", verdict=verdict.message))
    if verdict.advice:
        lines.append(verdict.advice)
    return "\n".join(lines)


def _validity_rows(serial: str, not_before: datetime, not_after: datetime) -> list[tuple[str, str]]:
    return [
        (msg("phone.row.serial"), serial),
        (msg("phone.row.valid_from"), certificate_time(not_before)),
        (msg("phone.row.valid_to"), certificate_time(not_after)),
    ]


# -- order --------------------------------------------------------------------------------


def render_order(result: dict[str, Any], *, password_asked: bool) -> Rendered:
    """The server accepted the signed order (``result`` as the server answered it)."""
    data = {**result, "password_asked": password_asked}
    return Rendered(
        data,
        msg(
            "phone.order.done",
            side=side_label(str(data["side"])),
            quantity=data["quantity"],
            symbol=data["symbol"],
            price=data["price"],
            order_id=data["order_id"],
            serial=data["serial"],
        ),
    )


# -- security setting ---------------------------------------------------------------------


def render_security_setting(session: PhoneSession, saved: SecuritySetting) -> Rendered:
    """The phone's saved setting for the logged-in customer, and the one this login runs under."""
    return Rendered(
        {
            "customer_id": session.customer_id,
            "security_setting": int(saved),
            "session_security_setting": int(session.security_setting),
        },
        msg(
            "phone.setting.current",
            id=session.customer_id,
            setting=_setting(saved),
            session_setting=int(session.security_setting),
        ),
    )


def render_security_setting_saved(session: PhoneSession, chosen: SecuritySetting) -> Rendered:
    """``chosen`` is saved; it applies from the next login."""
    return Rendered(
        {
            "customer_id": session.customer_id,
            "security_setting": int(chosen),
            "session_security_setting": int(session.security_setting),
        },
        msg("phone.setting.saved", setting=_setting(chosen)),
    )
