"""``login ID`` and ``logout``: the trading login that the other commands work under."""

from __future__ import annotations

import contextlib

import click

from pc_client import remember
from pc_client.app import App, Result
from pc_client.messages import describe_setting, msg
from pc_client.records import Session
from pc_client.render import show_time
from sync_client.api import SyncClient
from sync_client.errors import ClientError
from sync_client.national_id import normalize_national_id
from sync_client.protocol import format_time, parse_time
from sync_client.security import SecuritySetting


@click.command()
@click.argument("customer_id", metavar="ID")
@click.pass_obj
def login(app: App, customer_id: str) -> Result:
    """Log in as customer ID (the national ID); later commands use the session.

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. login password

    The security setting chosen earlier takes effect now. When the certificate is inside its
    renewal window, a reminder says so.
    """
    customer_id = normalize_national_id(customer_id)
    password = app.prompter.secret(msg("prompt.login_password"))
    client = app.client()
    result = client.login(customer_id, password, device_kind="pc")
    store = app.store
    previous = store.load_session()
    if previous is not None and previous.server_url == app.server_url:
        # End the session this one replaces; it would expire anyway, so a failure is harmless.
        with contextlib.suppress(ClientError):
            SyncClient(client.http, token=previous.token).logout()
    # A key kept for the previous session (setting 2) dies with it; the new session asks anew.
    store.remove_session_key()
    settings = store.load_settings()
    setting = SecuritySetting(settings.security_setting)
    if setting is not SecuritySetting.NEVER:
        # Setting 3 was switched off since the last login: this is when that takes effect.
        remember.forget_setting3(customer_id)
    session = Session(
        token=result.token,
        customer_id=customer_id,
        server_url=app.server_url,
        expires_at=format_time(result.expires_at),
        security_setting=int(setting),
    )
    store.save_session(session)
    store.update_settings(
        customer_id=customer_id,
        server_url=app.server_url,
        pfx_password_min_length=app.password_min_length(),  # kept for offline `passwd`
    )
    lines = [
        msg("login.done", id=customer_id, until=show_time(result.expires_at)),
        msg("login.setting", setting=int(setting), description=describe_setting(int(setting))),
    ]
    reminder = result.renewal_reminder
    if reminder:
        not_after = str(reminder.get("not_after", ""))
        lines.append(
            msg(
                "login.renewal_reminder",
                serial=reminder.get("serial_display", ""),
                date=show_time(parse_time(not_after)) if not_after else "-",
            )
        )
    return Result(
        {
            "customer_id": customer_id,
            "expires_at": format_time(result.expires_at),
            "security_setting": int(setting),
            "renewal_reminder": reminder,
        },
        lines,
    )


@click.command()
@click.pass_obj
def logout(app: App) -> Result:
    """End the login session, on the server and on this computer."""
    store = app.store
    session = store.load_session()
    if session is None:
        return Result({"logged_out": False}, [msg("logout.none")])
    lines = []
    told_server = True
    try:
        SyncClient(app.client().http, token=session.token).logout()
    except ClientError:
        # The server is unreachable or has already ended the session: either way this PC
        # forgets it. The token dies at the server by itself when it expires.
        told_server = False
        lines.append(msg("logout.server_not_told", until=session.expires_at))
    store.clear_session()  # the session key (setting 2) too
    lines.insert(0, msg("logout.done", id=session.customer_id))
    return Result(
        {"logged_out": True, "customer_id": session.customer_id, "server_told": told_server},
        lines,
    )
