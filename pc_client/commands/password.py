"""``passwd`` (function 8) and ``security-setting`` (function 9): the PFX password and how
often orders ask for it. The work is ``pc_client.operations.password``'s."""

from __future__ import annotations

import click

from pc_client.app import App, Result
from pc_client.messages import SETTING_DONE, describe_setting, msg
from pc_client.operations.password import (
    change_pfx_password,
    check_change_password,
    check_security_setting,
    read_security_setting,
    set_security_setting,
)
from pc_client.questions import ask_new_password


@click.command()
@click.pass_obj
def passwd(app: App) -> Result:
    """Change the PFX file's password.

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. current PFX password
      2. new PFX password
      3. new PFX password again

    The new password has at least the server's minimum length (4 unless the server says
    otherwise): letters, digits and keyboard symbols, no spaces. The old file stays until
    the new one is written and opens with the new password.
    """
    checked = check_change_password(app)
    current = app.prompter.secret(msg("prompt.current_password"))
    password, again = ask_new_password(app, min_length=checked.password_min_length)
    changed = change_pfx_password(
        app,
        current_password=current,
        new_password=password,
        new_password_again=again,
        checked=checked,
    )
    return Result(
        {"customer_id": changed.customer_id, "path": str(changed.path)},
        [msg("passwd.done", path=changed.path), msg("passwd.copies")],
    )


@click.command(name="security-setting")
@click.argument("setting_arg", metavar="[N]", required=False)
@click.pass_obj
def security_setting(app: App, setting_arg: str | None) -> Result:
    """Show or choose when orders ask for the PFX password.

    \b
    N = 1: ask on every order
        2: ask on the first order after each login (default)
        3: never ask (the password is kept in the system's credential store)

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal),
    only when N is given:
      1. PFX password

    Without N, shows the current setting. A new setting takes effect from the next login.
    """
    view = read_security_setting(app)
    if setting_arg is None:
        chosen = view.security_setting
        lines = [
            msg("setting.current", setting=int(chosen), description=describe_setting(int(chosen)))
        ]
        in_session = view.session_security_setting
        if in_session is not None and in_session != int(chosen):
            lines.append(msg("setting.session_differs", setting=in_session))
        return Result(
            {
                "customer_id": view.customer_id,
                "security_setting": int(chosen),
                "session_security_setting": in_session,
                "credential_store_available": view.credential_store_available,
            },
            lines,
        )
    setting = check_security_setting(app, setting_arg)
    password = app.prompter.secret(msg("prompt.pfx_password"))
    after = set_security_setting(app, setting=setting, password=password)
    return Result(
        {
            "customer_id": after.customer_id,
            "security_setting": int(setting),
            "session_security_setting": after.session_security_setting,
        },
        [
            msg(SETTING_DONE),
            msg("setting.chosen", setting=int(setting), description=describe_setting(int(setting))),
        ],
    )
