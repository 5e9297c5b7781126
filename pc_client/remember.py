"""Where security setting 3 ("never ask") keeps the PFX password: the OS credential store.

One entry per customer, ``<ID>``, through ``sync_client.security`` (service ``certsync``): kept
until a login finds another setting, updated when the PFX password changes.

Setting 2 ("ask on the first order after login") keeps no password anywhere. After the first
order of a login the unlocked key waits in the memory of a key agent, a local process that ends
at logout, at the session's expiry or when idle (``sync_client.key_agent``,
``pc_client.operations.order``); the store keeps only the agent's handle. So setting 2 needs no
credential store, and neither the password nor the key is ever on disk.
"""

from __future__ import annotations

from sync_client.errors import CredentialStoreUnavailable
from sync_client.security import (
    credential_store_available,
    forget_password,
    load_password,
    store_password,
)

__all__ = [
    "credential_store_available",
    "forget_setting3",
    "recall_setting3",
    "remember_for_setting3",
    "replace_remembered",
]


def remember_for_setting3(customer_id: str, password: str) -> None:
    """Raises ``CredentialStoreUnavailable`` when there is no credential store."""
    store_password(customer_id, password)


def recall_setting3(customer_id: str) -> str | None:
    """The password kept for setting 3, or ``None`` (also when there is no credential store)."""
    try:
        return load_password(customer_id)
    except CredentialStoreUnavailable:
        return None


def forget_setting3(customer_id: str) -> None:
    """Remove the setting-3 password (no error if there is none)."""
    forget_password(customer_id)


def replace_remembered(customer_id: str, new_password: str) -> None:
    """After the PFX password changed: update the setting-3 entry if there is one, add none."""
    if recall_setting3(customer_id) is not None:
        store_password(customer_id, new_password)
