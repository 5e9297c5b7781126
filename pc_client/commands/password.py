"""``passwd`` (function 8) and ``security-setting`` (function 9): the PFX password and how
often orders ask for it."""

from __future__ import annotations

import click

from pc_client import remember
from pc_client.app import App, Result
from pc_client.messages import describe_setting, msg
from pc_client.passwords import check_new_password
from sync_client.security import CredentialStoreUnavailable, SecuritySetting


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
    otherwise), letters or digits only. The old file stays until the new one is written and
    opens with the new password.
    """
    customer_id = app.customer_id()
    store = app.store
    store.read_pfx_bytes(customer_id)  # no file: refuse before asking anything
    min_length = app.password_min_length()
    current = app.prompter.secret(msg("prompt.current_password"))
    password = app.prompter.secret(msg("prompt.new_password"))
    again = app.prompter.secret(msg("prompt.new_password_again"))
    loaded = store.open_pfx(customer_id, current)
    check_new_password(password, again, min_length=min_length)
    pfx_bytes = store.build_pfx(
        customer_id=customer_id,
        key=loaded.key,
        cert=loaded.cert,
        chain=loaded.chain,
        password=password,
    )
    store.install_pfx(customer_id, pfx_bytes, password)
    remember.replace_remembered(customer_id, password)
    return Result(
        {"customer_id": customer_id, "path": str(store.pfx_path(customer_id))},
        [msg("passwd.done", path=store.pfx_path(customer_id)), msg("passwd.copies")],
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
    customer_id = app.customer_id()
    store = app.store
    settings = store.load_settings()
    session = store.load_session()
    in_session = session.security_setting if session is not None else None
    if setting_arg is None:
        chosen = SecuritySetting(settings.security_setting)
        lines = [
            msg("setting.current", setting=int(chosen), description=describe_setting(int(chosen)))
        ]
        if in_session is not None and in_session != int(chosen):
            lines.append(msg("setting.session_differs", setting=in_session))
        return Result(
            {
                "customer_id": customer_id,
                "security_setting": int(chosen),
                "session_security_setting": in_session,
                "credential_store_available": remember.credential_store_available(),
            },
            lines,
        )
    setting = SecuritySetting.parse(setting_arg)
    if setting is SecuritySetting.NEVER and not remember.credential_store_available():
        raise CredentialStoreUnavailable(msg("setting.no_credential_store"))
    store.read_pfx_bytes(customer_id)
    password = app.prompter.secret(msg("prompt.pfx_password"))
    store.open_pfx(customer_id, password)
    if setting is SecuritySetting.NEVER:
        remember.remember_for_setting3(customer_id, password)
    store.update_settings(security_setting=int(setting))
    return Result(
        {
            "customer_id": customer_id,
            "security_setting": int(setting),
            "session_security_setting": in_session,
        },
        [msg("setting.chosen", setting=int(setting), description=describe_setting(int(setting)))],
    )
