"""``apply`` (function 2, online application) and ``redownload`` (function 3).

The work is ``pc_client.operations.enroll``'s: these commands ask, in the order their
``--help`` lists, and show what it returns.
"""

from __future__ import annotations

import click

from pc_client.app import App, Result
from pc_client.issued_report import issued_json, issued_lines
from pc_client.messages import describe_setting, msg
from pc_client.operations.enroll import (
    apply_for_certificate,
    check_apply,
    check_redownload,
    redownload_certificate,
)
from pc_client.questions import (
    KEY_TYPES,
    ask_enrollment_code,
    ask_new_password,
    ask_security_setting,
    ask_terms,
    key_kind,
    say_processing,
    security_setting_option,
    service_line,
)
from sync_client.codes import ErrorCode
from sync_client.errors import ServerRefused

# The host's refusals of a re-download that only customer service can mend.
REDOWNLOAD_REFUSALS = frozenset(
    {ErrorCode.REDOWNLOAD_NOT_OPEN, ErrorCode.REDOWNLOAD_EXPIRED, ErrorCode.REDOWNLOAD_USED}
)


@click.command()
@click.option("--agree", is_flag=True, help="Accept the terms without the prompt.")
@security_setting_option
@click.option(
    "--key-type", type=KEY_TYPES, default="rsa", show_default=True, help="RSA-2048 or EC P-256."
)
@click.pass_obj
def apply(app: App, agree: bool, setting_option: int | None, key_type: str) -> Result:
    """Apply for a certificate (only when you hold no valid one).

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. enrollment code (the certificate password slip; case-sensitive; shown as typed
         and checked with the host at once)
      2. agree to the terms [y/N]          (skipped with --agree)
      3. new PFX password
      4. new PFX password again
      5. security setting 1/2/3 [current]  (skipped with --security-setting N)

    The key pair is generated on this computer. The certificate is saved as <ID>.pfx in the
    store folder, protected by the new PFX password.
    """
    checked = check_apply(app)
    code = ask_enrollment_code(app)
    agreement = ask_terms(app, agree)
    password, again = ask_new_password(app, min_length=checked.password_min_length)
    setting = ask_security_setting(app, setting_option)
    say_processing(app)
    applied = apply_for_certificate(
        app,
        enrollment_code=code,
        terms_accepted=True,
        password=password,
        password_again=again,
        security_setting=setting,
        key_kind=key_kind(key_type) or "rsa",
        terms_version=agreement.version,
        checked=checked,
    )
    certificate, setting = applied.certificate, applied.security_setting
    lines = issued_lines(certificate, msg("apply.done"))
    lines += [
        msg("setting.chosen", setting=int(setting), description=describe_setting(int(setting))),
        msg("advice.backup"),
        msg("advice.repair_phone"),
    ]
    return Result({**issued_json(certificate), "security_setting": int(setting)}, lines)


@click.command()
@click.pass_obj
def redownload(app: App) -> Result:
    """Finish an interrupted apply or renewal: fetch the certificate the host issued.

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. the PFX password chosen when applying (or renewing)

    Works only after customer service opened a re-download for you, and only on the computer
    that holds the key the certificate was issued for.
    """
    checked = check_redownload(app)
    password = app.prompter.secret(msg("prompt.pending_password"))
    say_processing(app)
    try:
        certificate = redownload_certificate(app, password=password, checked=checked)
    except ServerRefused as exc:
        if exc.code not in REDOWNLOAD_REFUSALS:
            raise
        # Only customer service opens a re-download: say how to reach them.
        raise exc.with_advice(service_line(app)) from exc
    lines = issued_lines(certificate, msg("redownload.done"))
    lines += [msg("advice.backup"), msg("advice.repair_phone")]
    return Result(issued_json(certificate), lines)
