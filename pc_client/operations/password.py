"""Function 8, the PFX password change, and function 9, the password security setting.

Also the two rules other functions share with them: the minimum length of a new PFX password
(the server's policy) and which security setting may be chosen (setting 3 needs the system's
credential store). Each function has a ``check_*`` step, run before anything is asked, whose
answer may be handed back in (``checked=``) so the command line does not ask twice; without
it the operation runs the check itself, as a page's form post does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pc_client import remember
from pc_client.app import Context
from pc_client.messages import msg
from pc_client.passwords import check_new_password
from pc_client.records import DEFAULT_PASSWORD_MIN_LENGTH
from sync_client.errors import CredentialStoreUnavailable, ServerUnreachable
from sync_client.security import SecuritySetting


def password_min_length(ctx: Context) -> int:
    """The server's minimum PFX password length; the last one seen if it cannot answer."""
    try:
        policy = ctx.client().policy()
    except ServerUnreachable:
        return ctx.store.load_settings().pfx_password_min_length
    value = policy.pfx_password_min_length
    return value if isinstance(value, int) and value > 0 else DEFAULT_PASSWORD_MIN_LENGTH


def choose_security_setting(raw: object) -> SecuritySetting:
    """``raw`` (1, 2, 3, or its text) as a setting this computer can keep, or an error:
    ``InvalidInput`` for anything else, ``CredentialStoreUnavailable`` for 3 without a
    credential store."""
    setting = SecuritySetting.parse(raw)
    if setting is SecuritySetting.NEVER and not remember.credential_store_available():
        raise CredentialStoreUnavailable(msg("setting.no_credential_store"))
    return setting


# -- function 8: passwd -------------------------------------------------------------------------


@dataclass(frozen=True)
class PasswdCheck:
    """What ``passwd`` found before asking: whose file, and the new password's minimum."""

    customer_id: str
    password_min_length: int


@dataclass(frozen=True)
class PasswordChanged:
    """The PFX file whose password was changed."""

    customer_id: str
    path: Path


def check_change_password(ctx: Context) -> PasswdCheck:
    """The customer (logged in, or the last one), whose file must exist (``NoLocalCertificate``)."""
    customer_id = ctx.customer_id()
    ctx.store.read_pfx_bytes(customer_id)  # no file: refuse before anything is asked
    return PasswdCheck(customer_id, password_min_length(ctx))


def change_pfx_password(
    ctx: Context,
    *,
    current_password: str,
    new_password: str,
    new_password_again: str,
    checked: PasswdCheck | None = None,
) -> PasswordChanged:
    """Re-encrypt ``<ID>.pfx`` under ``new_password``; the old file stays until the new one
    opens. Refusals: ``WrongPfxPassword`` (the current one), then ``PasswordRejected``."""
    checked = checked or check_change_password(ctx)
    customer_id, store = checked.customer_id, ctx.store
    loaded = store.open_pfx(customer_id, current_password)
    check_new_password(new_password, new_password_again, min_length=checked.password_min_length)
    pfx_bytes = store.build_pfx(
        customer_id=customer_id,
        key=loaded.key,
        cert=loaded.cert,
        chain=loaded.chain,
        password=new_password,
    )
    store.install_pfx(customer_id, pfx_bytes, new_password)
    remember.replace_remembered(customer_id, new_password)
    return PasswordChanged(customer_id, store.pfx_path(customer_id))


# -- function 9: security-setting ---------------------------------------------------------------


@dataclass(frozen=True)
class SecuritySettingView:
    """The chosen setting, the one this login still uses, and whether 3 can be chosen."""

    customer_id: str
    security_setting: SecuritySetting
    session_security_setting: int | None  # None: not logged in
    credential_store_available: bool


def read_security_setting(ctx: Context) -> SecuritySettingView:
    """The setting as it stands; asks for nothing and changes nothing."""
    customer_id = ctx.customer_id()
    session = ctx.store.load_session()
    return SecuritySettingView(
        customer_id=customer_id,
        security_setting=SecuritySetting(ctx.store.load_settings().security_setting),
        session_security_setting=session.security_setting if session is not None else None,
        credential_store_available=remember.credential_store_available(),
    )


def check_security_setting(ctx: Context, setting: object) -> SecuritySetting:
    """Before the password is asked: the setting may be chosen and the file exists."""
    customer_id = ctx.customer_id()
    chosen = choose_security_setting(setting)
    ctx.store.read_pfx_bytes(customer_id)
    return chosen


def set_security_setting(ctx: Context, *, setting: object, password: str) -> SecuritySettingView:
    """Choose ``setting`` (from the next login on); the PFX password must open the file.

    Setting 3 keeps ``password`` in the credential store. Refusals: ``InvalidInput``,
    ``CredentialStoreUnavailable``, ``NoLocalCertificate``, ``WrongPfxPassword``.
    """
    chosen = check_security_setting(ctx, setting)
    customer_id = ctx.customer_id()
    ctx.store.open_pfx(customer_id, password)
    if chosen is SecuritySetting.NEVER:
        remember.remember_for_setting3(customer_id, password)
    ctx.store.update_settings(security_setting=int(chosen))
    return read_security_setting(ctx)
