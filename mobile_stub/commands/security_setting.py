"""``security-setting [N]``: how often the phone asks for the PFX password when signing."""

from __future__ import annotations

import click

from mobile_stub.app import App, pass_app
from mobile_stub.messages import msg
from mobile_stub.render import render_security_setting, render_security_setting_saved
from mobile_stub.store import saved_security_setting
from sync_client.cli_runner import Answer
from sync_client.security import SecuritySetting


@click.command("security-setting", short_help="Show the phone's security setting, or change it.")
@click.argument("setting", required=False, type=click.IntRange(1, 3))
@pass_app
def security_setting(app: App, setting: int | None) -> Answer:
    """Show the phone's security setting, or change it to SETTING: 1, 2 or 3.

    \b
    1 = ask for the PFX password on every order
    2 = ask on the first order after each login (the default)
    3 = never ask (the password is kept in the system's credential store)

    A change takes effect from the next login.

    Prompts (only when changing): 1. PFX password.
    """
    from mobile_stub.session import require_session
    from mobile_stub.signing import change_security_setting

    session = require_session(app.home)
    if setting is None:
        saved = saved_security_setting(app.home, session.customer_id)
        return app.answer(render_security_setting(session, saved))
    chosen = SecuritySetting(setting)
    change_security_setting(
        app.home,
        session,
        chosen,
        read_password=lambda: app.secret(msg("phone.prompt.pfx_password")),
    )
    return app.answer(render_security_setting_saved(session, chosen))
