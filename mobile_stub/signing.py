"""Signing orders with the phone's copy, under the phone's own security setting (function 9).

    1  ask for the PFX password on every order
    2  ask on the first order after each login (once that order is accepted, the key waits
       until logout in the memory of a key agent, see ``mobile_stub.session``)
    3  never ask: the password sits in the system's credential store (``keyring``)

The setting in force is the one the login started with; ``security-setting N`` saves a new one
for the next login. Whether to ask is decided by ``sync_client.security.password_needed``, the
same rule the PC follows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from mobile_stub.keystore import KeystoreEntry, require_certificate
from mobile_stub.session import PhoneSession, keep_unlocked_key, unlocked_key
from mobile_stub.store import PhoneHome, save_security_setting, saved_security_setting
from sync_client.api import SyncClient
from sync_client.errors import (
    CredentialStoreUnavailable,
    PasswordNotRemembered,
    WrongPfxPassword,
)
from sync_client.i18n import msg
from sync_client.keys import PrivateKey
from sync_client.orders import build_order, sign_order
from sync_client.pfx import load_pfx
from sync_client.security import (
    SecuritySetting,
    credential_store_available,
    forget_password,
    load_password,
    password_needed,
    store_password,
)


@dataclass(frozen=True, repr=False)
class UnlockedKey:
    """The phone's key for one order, and whether the customer was asked for the password."""

    key: PrivateKey
    cert: x509.Certificate
    password_asked: bool

    def __repr__(self) -> str:
        return (
            f"UnlockedKey(serial={self.cert.serial_number}, password_asked={self.password_asked})"
        )


def keyring_account(home: PhoneHome, customer_id: str) -> str:
    """The credential-store account for setting 3: per customer and per phone home.

    Distinct from the PC's entries, so that the phone's setting never reads or deletes the PC's
    stored password on a machine that runs both.
    """
    home_tag = hashlib.sha256(str(home.root.resolve()).encode("utf-8")).hexdigest()[:12]
    return f"mobile-stub:{customer_id}:{home_tag}"


def unlock_for_order(
    home: PhoneHome,
    session: PhoneSession,
    entry: KeystoreEntry,
    *,
    read_password: Callable[[], str],
) -> UnlockedKey:
    """The key to sign with, asking for the PFX password only when the setting says so.

    Setting 2 first tries the key kept earlier in this login (``keep_for_session``), for the
    keystore's described certificate; an undescribed entry cannot use it and asks.
    """
    setting = session.security_setting
    if setting is SecuritySetting.FIRST_ORDER and entry.cert is not None:
        kept = unlocked_key(home, cert=entry.cert)
        if kept is not None:
            return UnlockedKey(key=kept, cert=entry.cert, password_asked=False)
    if password_needed(setting, asked_this_session=False):
        loaded = load_pfx(entry.pfx_bytes, read_password())
        return UnlockedKey(key=loaded.key, cert=loaded.cert, password_asked=True)
    stored = load_password(keyring_account(home, session.customer_id))
    if stored is None:
        raise PasswordNotRemembered(msg("phone.order.no_stored_password"))
    try:
        loaded = load_pfx(entry.pfx_bytes, stored)
    except WrongPfxPassword:
        raise WrongPfxPassword(msg("phone.order.stored_password_wrong")) from None
    return UnlockedKey(key=loaded.key, cert=loaded.cert, password_asked=False)


def place_signed_order(
    client: SyncClient,
    unlocked: UnlockedKey,
    *,
    symbol: str,
    side: str,
    quantity: int,
    price: str,
) -> dict[str, Any]:
    """Build, sign and send one order; the server's answer merged with the order's fields."""
    order = build_order(symbol=symbol, side=side, quantity=quantity, price=price)
    signed = sign_order(
        unlocked.key,
        order,
        audience=client.policy().order_audience,  # the deployment this order is meant for
        customer_id=certificate_customer_id(unlocked.cert),
        serial=unlocked.cert.serial_number,
    )
    accepted = client.place_order(signed)
    return {**signed.order, **accepted.to_wire()}


def certificate_customer_id(cert: x509.Certificate) -> str:
    """The customer a certificate is for: its subject's CN (the national ID)."""
    (cn,) = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cn.value)


def keep_for_session(home: PhoneHome, session: PhoneSession, unlocked: UnlockedKey) -> None:
    """Setting 2, after the order that asked was accepted: keep the key for this login.

    Only after the server accepted it, so that a refused order leaves the phone as it was.
    """
    if session.security_setting is SecuritySetting.FIRST_ORDER and unlocked.password_asked:
        keep_unlocked_key(home, session, key=unlocked.key, cert=unlocked.cert)


def change_security_setting(
    home: PhoneHome,
    session: PhoneSession,
    setting: SecuritySetting,
    *,
    read_password: Callable[[], str],
) -> None:
    """Save a new setting for the logged-in customer after the PFX password proves the right.

    Setting 3 stores the password in the credential store (refused before any prompt if there
    is none); leaving setting 3 removes the stored one. Takes effect from the next login.
    """
    entry = require_certificate(home, session.customer_id)
    if setting is SecuritySetting.NEVER and not credential_store_available():
        raise CredentialStoreUnavailable(msg("phone.setting.no_credential_store"))
    password = read_password()
    load_pfx(entry.pfx_bytes, password)
    account = keyring_account(home, session.customer_id)
    if setting is SecuritySetting.NEVER:
        store_password(account, password)
    elif saved_security_setting(home, session.customer_id) is SecuritySetting.NEVER:
        # Only then is there a stored password to remove; touching the credential store
        # otherwise could make a desktop keyring ask to be unlocked for nothing.
        forget_password(account)
    save_security_setting(home, session.customer_id, setting)
