"""How ``mobile-stub`` presents each command's result: one JSON object, or lines of text.

Every function here is pure: it takes the values a command produced and returns a
:class:`Rendered` pair, the ``--json`` object and the text for a person; the command prints one
of them (``App.emit`` in :mod:`mobile_stub.cli`). Keys keep their order, since the JSON output
is read by scripts and compared by tests.

Like the command line, this module imports no heavy module (httpx, cryptography, the QR stack):
the types it names come in only for the type checker.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sync_client.protocol import format_time
from sync_client.security import SecuritySetting

if TYPE_CHECKING:
    from mobile_stub.keystore import KeystoreEntry
    from mobile_stub.pairing import Paired
    from mobile_stub.session import PhoneSession
    from mobile_stub.verdict import Verdict
    from sync_client.api import HostStatus, LoginResult

_STATUS_LABELS_ZH = {0: "有效憑證", 31: "即將到期"}


class Rendered(NamedTuple):
    """A command's result twice over: the ``--json`` object and the text for a person."""

    data: dict[str, Any]
    text: str


# -- login / logout -----------------------------------------------------------------------


def render_login(server_url: str, result: LoginResult, setting: SecuritySetting) -> Rendered:
    """The phone is logged in to ``server_url``; ``setting`` is the one this login runs under."""
    lines = [
        f"Logged in to {server_url} as {result.customer_id} "
        f"(phone session until {format_time(result.expires_at)}).",
        f"Security setting for this login: {int(setting)} ({setting.description}).",
    ]
    reminder = result.renewal_reminder
    if reminder:
        lines.append(
            f"Reminder: your certificate {reminder.get('serial_display')} expires on "
            f"{reminder.get('not_after')}; renew it on the PC (pc-client renew)."
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


def render_logout(session: PhoneSession | None, *, notified: bool) -> Rendered:
    """The session (``None``: there was none) has ended; ``notified``: the server was told."""
    if session is None:
        text = "The phone was not logged in."
    elif notified:
        text = f"Logged out ({session.customer_id})."
    else:
        text = f"Logged out ({session.customer_id}) on this phone; the server was not told."
    return Rendered({"logged_out": session is not None, "server_notified": notified}, text)


# -- pair ---------------------------------------------------------------------------------


def render_pairing_given_up(customer_id: str, *, discarded: bool) -> Rendered:
    """``pair --give-up``: whether a received file was waiting and is now gone."""
    text = (
        "The received certificate was discarded; start the pairing again on the PC."
        if discarded
        else "No received certificate was waiting."
    )
    return Rendered({"discarded": discarded, "customer_id": customer_id}, text)


def render_paired(paired: Paired) -> Rendered:
    """The certificate is now in the phone's keystore."""
    loaded = paired.loaded
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
        f"The certificate of {loaded.customer_id} is now on this phone: {paired.keystore_path}\n"
        f"  Serial:    {loaded.serial_display}\n"
        f"  Valid to:  {format_time(loaded.not_after)}",
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
    return Rendered(data, _status_text(host, phone, pending, verdict.message, verdict.advice))


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
    phone: dict[str, Any],
    pending: bool,
    message: str,
    advice: str | None,
) -> str:
    label = host.label + (
        f" ({_STATUS_LABELS_ZH[host.code]})" if host.code in _STATUS_LABELS_ZH else ""
    )
    lines = ["Host (主機端憑證資訊)", f"  Customer ID (CN):  {host.customer_id}"]
    lines.append(f"  Status:            {host.code} {label}")
    cert = host.certificate
    if cert is not None:
        lines += [
            f"  Serial:            {cert.serial_display}",
            f"  Valid from:        {format_time(cert.not_before)}",
            f"  Valid to:          {format_time(cert.not_after)}",
        ]
    lines += [
        "Phone (手機端憑證資訊)",
        f"  Keystore folder:   {phone['keystore']}",
        f"  File name:         {phone['file']}{'' if phone['present'] else ' (none)'}",
        f"  Security setting:  {phone['security_setting']} "
        f"({SecuritySetting(phone['security_setting']).description}); this login runs under "
        f"{phone['session_security_setting']}",
    ]
    if phone.get("readable"):
        lines += [
            f"  CN:                {phone['subject_cn']}",
            f"  Serial:            {phone['serial_display']}",
            f"  Valid from:        {phone['not_before']}",
            f"  Valid to:          {phone['not_after']}",
        ]
    if pending:
        lines.append(
            "A received certificate waits for its PFX password: mobile-stub pair --retry "
            "(or pair --give-up)."
        )
    lines.append(f"Verdict: {message}")
    if advice:
        lines.append(advice)
    return "\n".join(lines)


# -- order --------------------------------------------------------------------------------


def render_order(result: dict[str, Any], *, password_asked: bool) -> Rendered:
    """The server accepted the signed order (``result`` as the server answered it)."""
    data = {**result, "password_asked": password_asked}
    return Rendered(
        data,
        f"Order accepted: {data['side']} {data['quantity']} {data['symbol']} @ "
        f"{data['price']} (order {data['order_id']}, signed with serial {data['serial']}).",
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
        f"Security setting on this phone for {session.customer_id}: {int(saved)} "
        f"({saved.description}). This login runs under setting "
        f"{int(session.security_setting)}.",
    )


def render_security_setting_saved(session: PhoneSession, chosen: SecuritySetting) -> Rendered:
    """``chosen`` is saved; it applies from the next login."""
    return Rendered(
        {
            "customer_id": session.customer_id,
            "security_setting": int(chosen),
            "session_security_setting": int(session.security_setting),
        },
        f"Security setting {int(chosen)} saved ({chosen.description}); it takes effect from "
        "the next login.",
    )
