"""Where a PFX password may be remembered: the operating system's credential store, only.

Two entries per customer, both through ``sync_client.security`` (service ``certsync``):

- ``<ID>`` — security setting 3 ("never ask"): kept until a login finds another setting;
- ``<ID>@session`` — security setting 2 ("ask on the first order after login"): written at the
  first order of a session, removed at logout and at the next login.

Each ``pc-client`` command is its own process, so setting 2 cannot keep the unlocked key in
memory between two orders, and writing it (or the password) to a file would put a secret on
disk in a form anyone who can read the file could use. Without a credential store, setting 2
therefore asks on every order, and says why.
"""

from __future__ import annotations

from sync_client.security import (
    CredentialStoreUnavailable,
    credential_store_available,
    forget_password,
    load_password,
    store_password,
)

__all__ = [
    "credential_store_available",
    "forget_all",
    "forget_session",
    "forget_setting3",
    "recall_session",
    "recall_setting3",
    "remember_for_session",
    "remember_for_setting3",
    "replace_remembered",
]


def _session_account(customer_id: str) -> str:
    return f"{customer_id}@session"


def _recall(account: str) -> str | None:
    try:
        return load_password(account)
    except CredentialStoreUnavailable:
        return None


def remember_for_setting3(customer_id: str, password: str) -> None:
    """Raises ``CredentialStoreUnavailable`` when there is no credential store."""
    store_password(customer_id, password)


def recall_setting3(customer_id: str) -> str | None:
    """The password kept for setting 3, or ``None``."""
    return _recall(customer_id)


def forget_setting3(customer_id: str) -> None:
    """Remove the setting-3 password (no error if there is none)."""
    forget_password(customer_id)


def remember_for_session(customer_id: str, password: str) -> bool:
    """Keep the password for this login session; ``False`` when there is nowhere safe."""
    try:
        store_password(_session_account(customer_id), password)
    except CredentialStoreUnavailable:
        return False
    return True


def recall_session(customer_id: str) -> str | None:
    """The password kept for this login session, or ``None``."""
    return _recall(_session_account(customer_id))


def forget_session(customer_id: str) -> None:
    """Remove the session's password (no error if there is none)."""
    forget_password(_session_account(customer_id))


def forget_all(customer_id: str) -> None:
    """Remove both entries of ``customer_id``."""
    forget_session(customer_id)
    forget_setting3(customer_id)


def replace_remembered(customer_id: str, new_password: str) -> None:
    """After the PFX password changed: update the entries that exist, add none."""
    if recall_setting3(customer_id) is not None:
        store_password(customer_id, new_password)
    if recall_session(customer_id) is not None:
        store_password(_session_account(customer_id), new_password)
