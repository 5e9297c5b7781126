"""Orders signed with the certificate: ``plan_order`` says whether the PFX password is needed,
``place_order`` signs and sends. The security setting decides (``sync_client.security``).

The setting in force is the one the login session started with (a change takes effect from the
next login):

- 1 asks on every order.
- 2 asks on the first order of a login. Once that order is accepted, the unlocked key is sealed
  under the session's unlock secret, fetched from the server, and kept as ``session-key``
  (``sync_client.session_key``). Later orders of the same login (each its own process) fetch
  the secret again and unseal the key. Anything that does not fit (no file, another
  certificate since, a session the server no longer accepts, a damaged file) means the
  password is asked again, and the new key replaces the old file. The file never opens without
  the server, and once the session ends it never opens at all.
- 3 never asks: the password is in the OS credential store (``pc_client.remember``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography import x509

from pc_client import remember
from pc_client.app import Context
from pc_client.messages import msg
from sync_client.errors import (
    ClientError,
    InvalidInput,
    PasswordNotRemembered,
    ServerRefused,
    SessionKeyInvalid,
    WrongPfxPassword,
)
from sync_client.keys import PrivateKey, certificate_fingerprint, key_matches_certificate
from sync_client.orders import build_order, sign_order
from sync_client.pfx import LoadedPfx
from sync_client.security import SecuritySetting, password_needed
from sync_client.session_key import unwrap_session_key, wrap_session_key


@dataclass(frozen=True, repr=False)
class OrderPlan:
    """An order ready to sign; ``password_needed`` says whether to ask for the PFX password.

    ``unsealed`` is the key an earlier order of this login kept (setting 2), with the
    certificate it signs for; the ``repr`` never shows it.
    """

    customer_id: str
    setting: SecuritySetting
    body: dict[str, Any]
    password_needed: bool
    unsealed: tuple[PrivateKey, x509.Certificate] | None

    def __repr__(self) -> str:
        return (
            f"OrderPlan(customer_id={self.customer_id!r}, password_needed={self.password_needed})"
        )


@dataclass(frozen=True)
class PlacedOrder:
    """The server accepted ``order`` (as signed) as ``order_id``."""

    order_id: Any  # the server's fields, passed through as they came
    accepted_at: Any
    serial: Any
    order: dict[str, Any]
    password_asked: bool


def plan_order(ctx: Context, *, symbol: str, side: str, quantity: int, price: str) -> OrderPlan:
    """Check the order (``InvalidInput``) and the file (``NoLocalCertificate``); find a key
    kept by this login. Nothing is signed or sent yet."""
    session = ctx.session()
    customer_id = session.customer_id
    setting = SecuritySetting(session.security_setting)
    body = build_order(symbol=symbol, side=side, quantity=quantity, price=price)
    ctx.store.read_pfx_bytes(customer_id)  # no file: refuse before asking anything
    unsealed = (
        unseal_session_key(ctx, customer_id) if setting is SecuritySetting.FIRST_ORDER else None
    )
    needed = password_needed(setting, asked_this_session=unsealed is not None)
    return OrderPlan(customer_id, setting, body, needed, unsealed)


def place_order(ctx: Context, plan: OrderPlan, *, password: str | None = None) -> PlacedOrder:
    """Sign the planned order and send it. ``password`` is required when the plan says it is
    needed (a ``ValueError`` otherwise: the caller did not ask). Setting 3 takes the password
    from the credential store (``password_not_remembered`` when it is not there)."""
    customer_id, setting = plan.customer_id, plan.setting
    loaded: LoadedPfx | None = None
    if plan.unsealed is not None:
        key, cert = plan.unsealed
    else:
        if plan.password_needed:
            if password is None:
                raise ValueError("place_order needs the PFX password this plan asks for")
        else:
            remembered = remember.recall_setting3(customer_id)
            if remembered is None:
                raise PasswordNotRemembered(msg("order.not_remembered"))
            password = remembered
        try:
            loaded = ctx.store.open_pfx(customer_id, password)
        except WrongPfxPassword:
            if plan.password_needed:
                raise
            raise WrongPfxPassword(msg("order.remembered_wrong")) from None
        key, cert = loaded.key, loaded.cert
    signed = sign_order(key, plan.body)
    accepted = (
        ctx.client()
        .place_order(order=signed.order, signature=signed.signature, serial=cert.serial_number)
        .to_wire()
    )
    if loaded is not None and plan.password_needed and setting is SecuritySetting.FIRST_ORDER:
        # Only after the server accepted: a refused order changes nothing on this PC.
        keep_session_key(ctx, customer_id, loaded)
    return PlacedOrder(
        order_id=accepted.get("order_id"),
        accepted_at=accepted.get("accepted_at"),
        serial=accepted.get("serial"),
        order=signed.order,
        password_asked=plan.password_needed,
    )


def unseal_session_key(
    ctx: Context, customer_id: str
) -> tuple[PrivateKey, x509.Certificate] | None:
    """The key kept by an earlier order of this login, with the certificate it signs for.

    ``None`` when it cannot be used, for whatever reason: the caller then asks for the
    password. The certificate is the one registered for the current ``<ID>.pfx``, so a key
    kept before a renewal or an import no longer opens (its certificate is bound into the
    seal). ``ServerUnreachable`` passes through: the order could not be sent either.
    """
    store = ctx.store
    try:
        sealed = store.load_session_key()
    except InvalidInput:
        return None
    cert = store.local_certificate(customer_id).cert if sealed is not None else None
    if sealed is None or cert is None:
        return None
    try:
        secret = ctx.client().unlock_secret()
        key = unwrap_session_key(
            sealed, secret, customer_id=customer_id, cert_fingerprint=certificate_fingerprint(cert)
        )
    except (ServerRefused, SessionKeyInvalid):
        return None
    if not key_matches_certificate(key, cert):
        return None
    return key, cert


def keep_session_key(ctx: Context, customer_id: str, loaded: LoadedPfx) -> None:
    """Seal the key just unlocked under the session's unlock secret and keep it as
    ``session-key``. A failure (the server, the disk) only means the next order asks again."""
    try:
        secret = ctx.client().unlock_secret()
        sealed = wrap_session_key(
            loaded.key,
            secret,
            customer_id=customer_id,
            cert_fingerprint=loaded.fingerprint_sha256,
        )
        ctx.store.save_session_key(sealed)
    except ClientError:
        pass
