"""The trading login that the other functions work under: ``log_in`` and ``log_out``.

Logging in is when a security setting chosen earlier takes effect: the session records the
setting it started with, the key kept for the previous session (setting 2) dies with it, and
a setting-3 password is forgotten once setting 3 is no longer chosen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pc_client import remember
from pc_client.app import Context
from pc_client.operations.order import end_key_agent
from pc_client.operations.password import password_min_length
from pc_client.records import Session
from sync_client.api import SyncClient
from sync_client.errors import ClientError
from sync_client.national_id import normalize_national_id
from sync_client.pinning import PinCheck
from sync_client.protocol import format_time, parse_time
from sync_client.security import SecuritySetting


@dataclass(frozen=True)
class RenewalReminder:
    """The login's reminder that the certificate is inside its renewal window."""

    serial_display: str
    not_after: datetime | None
    raw: Mapping[str, Any]  # as the server sent it (the command line's --json shows it)


@dataclass(frozen=True)
class LoggedIn:
    """A session for ``customer_id`` until ``expires_at``, under ``security_setting``."""

    customer_id: str
    expires_at: datetime
    security_setting: SecuritySetting
    renewal_reminder: RenewalReminder | None
    ca_pin: PinCheck | None = None  # the server's CA as checked before the password was sent


@dataclass(frozen=True)
class LoggedOut:
    """``logged_out`` False: there was no session. ``server_told`` False: the server could not
    be told (it ends the session itself at ``session_expires_at``)."""

    logged_out: bool
    customer_id: str | None = None
    server_told: bool = False
    session_expires_at: str | None = None


def log_in(
    ctx: Context, customer_id: str, password: str, *, accept_new_ca: bool = False
) -> LoggedIn:
    """Log in as ``customer_id`` (a national ID, normalized; ``InvalidNationalId``) with the
    login password; the server's refusals (``login_failed``, ``account_locked``) pass through.

    Before the password is sent, the server's CA is checked against this computer's pin and
    pinned on first use (``CaChanged`` for another CA, unless ``accept_new_ca``: the customer
    confirmed the change with the brokerage).
    """
    customer_id = normalize_national_id(customer_id)
    # A store that cannot be used (a file named as the folder, a damaged settings file) is
    # refused before the server opens a session that this PC could not keep.
    ctx.store.check_home()
    pin = ctx.pin_ca(accept_new=accept_new_ca)
    client = ctx.client()
    result = client.login(customer_id, password, device_kind="pc")
    ctx.record_pin(pin)  # only now: a refused login leaves the store as it was
    store = ctx.store
    previous = store.load_session()
    if previous is not None and previous.server_url == ctx.server_url:
        # End the session this one replaces; it would expire anyway, so a failure is harmless.
        with contextlib.suppress(ClientError):
            SyncClient(client.http, token=previous.token).logout()
    # A key kept for the previous session (setting 2) dies with it; the new session asks anew.
    end_key_agent(store)
    setting = SecuritySetting(store.load_settings().security_setting)
    if setting is not SecuritySetting.NEVER:
        # Setting 3 was switched off since the last login: this is when that takes effect.
        remember.forget_setting3(customer_id)
    store.save_session(
        Session(
            token=result.token,
            customer_id=customer_id,
            server_url=ctx.server_url,
            expires_at=format_time(result.expires_at),
            security_setting=int(setting),
        )
    )
    store.update_settings(
        customer_id=customer_id,
        server_url=ctx.server_url,
        pfx_password_min_length=password_min_length(ctx),  # kept for an offline passwd
    )
    return LoggedIn(
        customer_id, result.expires_at, setting, _reminder(result.renewal_reminder), pin
    )


def _reminder(raw: Mapping[str, Any] | None) -> RenewalReminder | None:
    if not raw:
        return None
    not_after = str(raw.get("not_after", ""))
    return RenewalReminder(
        serial_display=str(raw.get("serial_display", "")),
        not_after=parse_time(not_after) if not_after else None,
        raw=raw,
    )


def log_out(ctx: Context) -> LoggedOut:
    """End the session on the server (when it can be told) and on this computer."""
    store = ctx.store
    session = store.load_session()
    if session is None:
        return LoggedOut(logged_out=False)
    told_server = True
    try:
        SyncClient(ctx.client().http, token=session.token).logout()
    except ClientError:
        # The server is unreachable or has already ended the session: either way this PC
        # forgets it. The token dies at the server by itself when it expires.
        told_server = False
    end_key_agent(store)  # the key agent of setting 2 ends with the session
    store.clear_session()
    return LoggedOut(True, session.customer_id, told_server, session.expires_at)
