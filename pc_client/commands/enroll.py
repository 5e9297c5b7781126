"""``apply`` (function 2, online application) and ``redownload`` (function 3).

The key pair is made here; only a CSR leaves the PC. Before the CSR is sent, the new key is
written to ``<ID>.pending.json`` sealed with the new PFX password: if the answer is lost
after the host issued, ``redownload`` (opened by customer service) fetches the certificate and
finds its key there. ``install_issued`` is shared with ``renew``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from pc_client import remember
from pc_client.app import App, Result
from pc_client.errors import CertificateMismatch, PcRefusal
from pc_client.messages import describe_setting, msg
from pc_client.passwords import check_new_password
from pc_client.records import Pending
from pc_client.render import show_time
from sync_client.api import Issued
from sync_client.errors import ServerRefused, ServerUnreachable
from sync_client.keys import (
    KeyKind,
    PrivateKey,
    build_csr_pem,
    generate_private_key,
    key_matches_certificate,
    open_private_key,
)
from sync_client.pfx import LoadedPfx
from sync_client.protocol import format_time
from sync_client.security import CredentialStoreUnavailable, SecuritySetting

KEY_TYPES = click.Choice(["rsa", "ec"])


def ask_security_setting(app: App, option: int | None) -> SecuritySetting:
    """``--security-setting N`` or the prompt (default: the current setting)."""
    if option is not None:
        setting = SecuritySetting.parse(option)
    else:
        current = app.store.load_settings().security_setting
        answer = app.prompter.text(msg("prompt.security_setting"), default=str(current))
        setting = SecuritySetting.parse(answer)
    if setting is SecuritySetting.NEVER and not remember.credential_store_available():
        raise CredentialStoreUnavailable(msg("setting.no_credential_store"))
    return setting


def ask_terms(app: App, agreed: bool) -> None:
    """Show the terms and ask for agreement, unless ``--agree``."""
    if agreed:
        return
    app.prompter.say(msg("terms.text"))
    if not app.prompter.confirm(msg("prompt.agree")):
        raise PcRefusal(msg("terms.refused"), code="terms_not_accepted")


def now_text() -> str:
    """The current time, RFC 3339 UTC."""
    return format_time(datetime.now(UTC))


def install_issued(
    app: App, customer_id: str, key: PrivateKey, issued: Issued, password: str
) -> LoadedPfx:
    """Write the PFX for an issued certificate, re-open it, then drop the pending key."""
    cert = issued.certificate.load()
    if not key_matches_certificate(key, cert):
        raise CertificateMismatch(msg("install.other_key"), code="key_mismatch")
    app.checkpoint("issued")
    pfx_bytes = app.store.build_pfx(
        customer_id=customer_id, key=key, cert=cert, chain=issued.chain(), password=password
    )
    loaded = app.store.install_pfx(customer_id, pfx_bytes, password)
    app.store.remove_pending(customer_id)
    remember.replace_remembered(customer_id, password)
    return loaded


def issued_lines(app: App, loaded: LoadedPfx, headline: str) -> list[str]:
    """What a person reads after a certificate was issued and saved."""
    return [
        headline,
        msg("issued.serial", serial=loaded.serial_display),
        msg("issued.validity", start=show_time(loaded.not_before), end=show_time(loaded.not_after)),
        msg("issued.saved", path=app.store.pfx_path(loaded.customer_id)),
    ]


def issued_json(app: App, loaded: LoadedPfx) -> dict[str, object]:
    """The ``--json`` answer after a certificate was issued and saved."""
    return {
        "customer_id": loaded.customer_id,
        "serial": str(loaded.serial),
        "serial_display": loaded.serial_display,
        "not_before": format_time(loaded.not_before),
        "not_after": format_time(loaded.not_after),
        "fingerprint_sha256": loaded.fingerprint_sha256,
        "path": str(app.store.pfx_path(loaded.customer_id)),
    }


# Shared by apply and import: the setting asked for when a certificate arrives.
security_setting_option = click.option(
    "--security-setting",
    "setting_option",
    type=click.IntRange(1, 3),
    default=None,
    help="1, 2 or 3, without the prompt.",
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
      1. enrollment code (the certificate password slip; case-sensitive)
      2. agree to the terms [y/N]          (skipped with --agree)
      3. new PFX password
      4. new PFX password again
      5. security setting 1/2/3 [current]  (skipped with --security-setting N)

    The key pair is generated on this computer. The certificate is saved as <ID>.pfx in the
    store folder, protected by the new PFX password.
    """
    session = app.session()
    customer_id = session.customer_id
    client = app.client()
    host = client.status()
    pending = app.store.load_pending(customer_id)
    if host.is_valid:
        interrupted = pending is not None and pending.operation == "apply"
        refusal = "apply.already_valid_pending" if interrupted else "apply.already_valid"
        raise PcRefusal(msg(refusal), code="certificate_already_valid")
    if pending is not None and pending.operation == "renew":
        raise PcRefusal(msg("pending.other", operation="renew"), code="pending_operation")
    min_length = app.password_min_length()
    code = app.prompter.secret(msg("prompt.enrollment_code")).strip()
    ask_terms(app, agree)
    password = app.prompter.secret(msg("prompt.new_password"))
    again = app.prompter.secret(msg("prompt.new_password_again"))
    check_new_password(password, again, min_length=min_length)
    setting = ask_security_setting(app, setting_option)

    kind: KeyKind = "ec" if key_type == "ec" else "rsa"
    key = generate_private_key(kind)
    csr_pem = build_csr_pem(key, customer_id)
    app.store.save_pending(
        Pending(
            operation="apply",
            customer_id=customer_id,
            created_at=now_text(),
            sealed_key=app.store.seal_pending_key(key, password),
            csr_pem=csr_pem,
        )
    )
    app.checkpoint("pending-written")
    try:
        issued = client.apply(enrollment_code=code, csr_pem=csr_pem, terms_accepted=True)
    except ServerRefused:
        app.store.remove_pending(customer_id)  # refused: nothing was issued for this key
        raise
    except ServerUnreachable as exc:
        raise ServerUnreachable(f"{exc.message} {msg('apply.unreachable_hint')}") from exc
    loaded = install_issued(app, customer_id, key, issued, password)
    app.store.update_settings(security_setting=int(setting), customer_id=customer_id)
    if setting is SecuritySetting.NEVER:
        remember.remember_for_setting3(customer_id, password)
    lines = issued_lines(app, loaded, msg("apply.done"))
    lines += [
        msg("setting.chosen", setting=int(setting), description=describe_setting(int(setting))),
        msg("advice.backup"),
        msg("advice.repair_phone"),
    ]
    return Result({**issued_json(app, loaded), "security_setting": int(setting)}, lines)


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
    session = app.session()
    customer_id = session.customer_id
    pending = app.store.load_pending(customer_id)
    if pending is None:
        raise PcRefusal(msg("redownload.nothing_pending"), code="no_pending_key")
    password = app.prompter.secret(msg("prompt.pending_password"))
    # The key is unlocked before the server is asked: a mistyped password must not spend the
    # one-time re-download.
    key = open_private_key(pending.sealed_key, password)
    issued = app.client().redownload()
    loaded = install_issued(app, customer_id, key, issued, password)
    lines = issued_lines(app, loaded, msg("redownload.done"))
    lines += [msg("advice.backup"), msg("advice.repair_phone")]
    return Result(issued_json(app, loaded), lines)
