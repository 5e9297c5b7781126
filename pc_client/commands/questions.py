"""The questions more than one command asks, and the flags that answer them instead.

Each asks through ``app.prompter`` and then applies the operations' own rule at once, so that a
wrong answer is refused right after it is typed, before the next question, as the ``--help``
order promises. The rule itself lives in ``pc_client.operations``; the operation applies it
again when it runs (a page's form gives every answer at once).
"""

from __future__ import annotations

import click

from pc_client.app import App
from pc_client.messages import msg
from pc_client.operations.enroll import require_terms
from pc_client.operations.password import choose_security_setting
from sync_client.keys import KeyKind
from sync_client.security import SecuritySetting

KEY_TYPES = click.Choice(["rsa", "ec"])

# Shared by apply and import: the setting asked for when a certificate arrives.
security_setting_option = click.option(
    "--security-setting",
    "setting_option",
    type=click.IntRange(1, 3),
    default=None,
    help="1, 2 or 3, without the prompt.",
)


def key_kind(key_type: str | None) -> KeyKind | None:
    """``--key-type`` as the operations take it (``None``: not given)."""
    if key_type is None:
        return None
    return "ec" if key_type == "ec" else "rsa"


def ask_security_setting(app: App, option: int | None) -> SecuritySetting:
    """``--security-setting N`` or the prompt (default: the current setting)."""
    if option is not None:
        return choose_security_setting(option)
    current = app.store.load_settings().security_setting
    return choose_security_setting(
        app.prompter.text(msg("prompt.security_setting"), default=str(current))
    )


def ask_terms(app: App, agreed: bool) -> bool:
    """Show the terms and ask for agreement, unless ``--agree``; refuse a no at once."""
    if agreed:
        return True
    app.prompter.say(msg("terms.text"))
    accepted = app.prompter.confirm(msg("prompt.agree"))
    require_terms(accepted)
    return accepted


def ask_new_password(app: App) -> tuple[str, str]:
    """The new PFX password, typed twice."""
    password = app.prompter.secret(msg("prompt.new_password"))
    again = app.prompter.secret(msg("prompt.new_password_again"))
    return password, again
