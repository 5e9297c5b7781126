"""``renew``: function 4, renewal (憑證更新、展期), inside the window before expiry.

The work is ``pc_client.operations.renew``'s: this command refuses outside the window before
asking anything, then asks in the order its ``--help`` lists.
"""

from __future__ import annotations

import click

from pc_client.app import App, Result
from pc_client.issued_report import issued_json, issued_lines
from pc_client.messages import msg
from pc_client.operations.renew import check_renew, renew_certificate
from pc_client.questions import (
    KEY_TYPES,
    ask_new_password,
    ask_terms,
    key_kind,
    say_processing,
)


@click.command()
@click.option("--agree", is_flag=True, help="Accept the terms without the prompt.")
@click.option(
    "--key-type",
    type=KEY_TYPES,
    default=None,
    help="Key of the new certificate [default: the same type as now].",
)
@click.pass_obj
def renew(app: App, agree: bool, key_type: str | None) -> Result:
    """Renew the certificate for one more year (only in the month before it expires).

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. agree to the terms [y/N]  (skipped with --agree)
      2. current PFX password
      3. new PFX password
      4. new PFX password again

    If a renewal was interrupted, running renew again (same answers) finishes it.
    """
    checked = check_renew(app)
    agreement = ask_terms(app, agree)
    current_password = app.prompter.secret(msg("prompt.current_password"))
    password, again = ask_new_password(app, min_length=checked.password_min_length)
    say_processing(app)
    certificate = renew_certificate(
        app,
        terms_accepted=True,
        terms_version=agreement.version,
        current_password=current_password,
        new_password=password,
        new_password_again=again,
        key_kind=key_kind(key_type),
        checked=checked,
    )
    lines = issued_lines(certificate, msg("renew.done"))
    lines += [msg("advice.backup"), msg("advice.repair_phone")]
    return Result(issued_json(certificate), lines)
