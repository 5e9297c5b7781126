"""``login ID`` and ``logout``: the trading login that the other commands work under.

The work is ``pc_client.operations.session``'s.
"""

from __future__ import annotations

import click

from pc_client.app import App, Result
from pc_client.messages import describe_setting, msg
from pc_client.operations.session import log_in, log_out
from pc_client.render import show_time, show_time_text
from sync_client.national_id import normalize_national_id
from sync_client.pinning import PinOutcome
from sync_client.protocol import format_time


@click.command()
@click.argument("customer_id", metavar="ID")
@click.option(
    "--accept-new-ca",
    is_flag=True,
    help="Trust the server's new certificate authority (only after the brokerage confirmed "
    "that it changed).",
)
@click.pass_obj
def login(app: App, customer_id: str, accept_new_ca: bool) -> Result:
    """Log in as customer ID (the national ID); later commands use the session.

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. login password

    The security setting chosen earlier takes effect now. When the certificate is inside its
    renewal window, a reminder says so. The first login to a server records its certificate
    authority's fingerprint (shown; the enrollment slip prints it too); a later login to a
    server with another one is refused [ca_changed] unless --accept-new-ca is given.
    """
    customer_id = normalize_national_id(customer_id)  # a typo is refused before the prompt
    app.store.check_home()  # so is a --home that is a file, or a damaged settings file
    password = app.prompter.secret(msg("prompt.login_password"))
    done = log_in(app, customer_id, password, accept_new_ca=accept_new_ca)
    setting = int(done.security_setting)
    lines = []
    pin = done.ca_pin
    if pin is not None and pin.outcome is PinOutcome.PINNED:
        lines.append(msg("login.ca_pinned", fingerprint=pin.shown))
    elif pin is not None and pin.outcome is PinOutcome.REPINNED:
        lines.append(msg("login.ca_repinned", fingerprint=pin.shown))
    lines += [
        msg("login.done", id=done.customer_id, until=show_time(done.expires_at)),
        msg("login.setting", setting=setting, description=describe_setting(setting)),
    ]
    reminder = done.renewal_reminder
    if reminder is not None:
        lines.append(
            msg(
                "login.renewal_reminder",
                serial=reminder.serial_display,
                date=show_time(reminder.not_after) if reminder.not_after else "-",
            )
        )
    return Result(
        {
            "customer_id": done.customer_id,
            "expires_at": format_time(done.expires_at),
            "security_setting": setting,
            "renewal_reminder": dict(reminder.raw) if reminder is not None else None,
            "ca_fingerprint": pin.shown if pin is not None else None,
            "ca_pin": pin.outcome.value if pin is not None else None,
        },
        lines,
    )


@click.command()
@click.pass_obj
def logout(app: App) -> Result:
    """End the login session, on the server and on this computer."""
    done = log_out(app)
    if not done.logged_out:
        return Result({"logged_out": False}, [msg("logout.none")])
    lines = [msg("logout.done", id=done.customer_id)]
    if not done.server_told:
        lines.append(msg("logout.server_not_told", until=show_time_text(done.session_expires_at)))
    return Result(
        {"logged_out": True, "customer_id": done.customer_id, "server_told": done.server_told},
        lines,
    )
