"""The password security setting (function 9) and where setting 3 keeps the PFX password.

1 = ask for the PFX password on every order; 2 = only on the first order of a login session;
3 = never ask: the password lives in the operating system's credential store (``keyring``).
A setting chosen now takes effect from the next login, so a session records the setting it
started with. Setting 2 needs no credential store: between the orders of a login ``pc-client``
and ``mobile-stub`` keep the unlocked key in the memory of a key agent
(``sync_client.key_agent``). Neither the password nor the key is ever on disk.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from sync_client.errors import CredentialStoreUnavailable, InvalidInput
from sync_client.i18n import N_, msg

KEYRING_SERVICE = "certsync"

# The original's 安全設定值 table: a short description (the option's name) and what it means.
SETTING_DESCRIPTIONS: Final[dict[int, str]] = {
    1: N_("setting.description.1"),
    2: N_("setting.description.2"),
    3: N_("setting.description.3"),
}
SETTING_EXPLANATIONS: Final[dict[int, str]] = {
    1: N_("setting.explanation.1"),
    2: N_("setting.explanation.2"),
    3: N_("setting.explanation.3"),
}


class SecuritySetting(IntEnum):
    EVERY_ORDER = 1
    FIRST_ORDER = 2
    NEVER = 3

    @classmethod
    def parse(cls, raw: object) -> SecuritySetting:
        try:
            return cls(int(str(raw).strip()))
        except ValueError:
            raise InvalidInput(msg("sdk.setting.invalid")) from None

    @property
    def description(self) -> str:
        """The setting's name in the current language (the original's 安全設定值 wording)."""
        return msg(SETTING_DESCRIPTIONS[self.value])

    @property
    def explanation(self) -> str:
        """What the setting means for orders, in one sentence (the original's 說明)."""
        return msg(SETTING_EXPLANATIONS[self.value])


DEFAULT_SETTING = SecuritySetting.FIRST_ORDER


def password_needed(setting: SecuritySetting, *, asked_this_session: bool) -> bool:
    """Whether an order must prompt for the PFX password (pure)."""
    if setting is SecuritySetting.EVERY_ORDER:
        return True
    if setting is SecuritySetting.FIRST_ORDER:
        return not asked_this_session
    return False


def _require_backend() -> None:
    """Refuse when keyring found no real store (its "fail" backend, or a chain of none)."""
    import keyring
    from keyring.backends import chainer, fail

    backend = keyring.get_keyring()
    empty_chain = isinstance(backend, chainer.ChainerBackend) and not backend.backends
    if isinstance(backend, fail.Keyring) or empty_chain:
        raise CredentialStoreUnavailable(msg("sdk.setting.no_credential_store"))


def credential_store_available() -> bool:
    try:
        _require_backend()
    except CredentialStoreUnavailable:
        return False
    return True


def store_password(account: str, password: str) -> None:
    import keyring

    _require_backend()
    keyring.set_password(KEYRING_SERVICE, account, password)


def load_password(account: str) -> str | None:
    import keyring

    _require_backend()
    value = keyring.get_password(KEYRING_SERVICE, account)
    return value if isinstance(value, str) else None


def forget_password(account: str) -> None:
    import keyring
    from keyring.errors import PasswordDeleteError

    try:
        _require_backend()
        keyring.delete_password(KEYRING_SERVICE, account)
    except (PasswordDeleteError, CredentialStoreUnavailable):
        pass
