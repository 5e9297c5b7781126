"""Orders signed with the certificate: ``plan_order`` says whether the PFX password is needed,
``place_order`` signs and sends. The security setting decides (``sync_client.security``).

The setting in force is the one the login session started with (a change takes effect from the
next login):

- 1 asks on every order.
- 2 asks on the first order of a login. Once that order is accepted, the unlocked key is handed
  to a key agent (``sync_client.key_agent``): a process of its own that keeps it in memory
  until logout, the session's expiry or an idle timeout, and signs order bytes on request. The
  store keeps only the agent's handle (``session-agent.json``), which opens nothing without
  the running agent. Later orders of the same login (each its own process) sign through it.
  Anything that does not fit (no agent, another certificate since, a damaged handle) means the
  password is asked again, and a new agent replaces the old one.
- 3 never asks: the password is in the OS credential store (``pc_client.remember``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography import x509

from pc_client import remember
from pc_client.app import Context
from pc_client.messages import msg
from pc_client.store import Store
from sync_client.errors import (
    ClientError,
    PasswordNotRemembered,
    SessionKeyInvalid,
    WrongPfxPassword,
)
from sync_client.key_agent import agent_key, check_agent, start_agent, stop_agent
from sync_client.keys import PrivateKey, certificate_fingerprint
from sync_client.orders import build_order, sign_order
from sync_client.pfx import LoadedPfx
from sync_client.protocol import parse_time
from sync_client.security import SecuritySetting, password_needed


@dataclass(frozen=True, repr=False)
class OrderPlan:
    """An order ready to sign; ``password_needed`` says whether to ask for the PFX password.

    ``unsealed`` is the key an earlier order of this login kept (setting 2: a key that signs
    through the key agent), with the certificate it signs for; the ``repr`` never shows it.
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
    unsealed = kept_key(ctx, customer_id) if setting is SecuritySetting.FIRST_ORDER else None
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
    client = ctx.client()
    signed = sign_order(
        key,
        plan.body,
        audience=client.policy().order_audience,  # the deployment this order is meant for
        customer_id=customer_id,
        serial=cert.serial_number,
    )
    accepted = client.place_order(signed).to_wire()
    if loaded is not None and plan.password_needed and setting is SecuritySetting.FIRST_ORDER:
        # Only after the server accepted: a refused order changes nothing on this PC.
        keep_key(ctx, loaded)
    return PlacedOrder(
        order_id=accepted.get("order_id"),
        accepted_at=accepted.get("accepted_at"),
        serial=accepted.get("serial"),
        order=signed.order,
        password_asked=plan.password_needed,
    )


def kept_key(ctx: Context, customer_id: str) -> tuple[PrivateKey, x509.Certificate] | None:
    """A key that signs through this login's key agent, with the certificate it signs for.

    ``None`` when there is none to use, for whatever reason (no handle, no agent, an agent for
    another certificate than the one registered for the current ``<ID>.pfx``, as after a
    renewal or an import): the caller then asks for the password.
    """
    store = ctx.store
    handle = store.load_agent_handle()
    cert = store.local_certificate(customer_id).cert if handle is not None else None
    if handle is None or cert is None:
        return None
    fingerprint = certificate_fingerprint(cert)
    try:
        check_agent(handle, cert_fingerprint=fingerprint)
        return agent_key(handle, cert.public_key(), cert_fingerprint=fingerprint), cert
    except SessionKeyInvalid:
        return None


def keep_key(ctx: Context, loaded: LoadedPfx) -> None:
    """Hand the key just unlocked to a new key agent for the rest of the login, replacing an
    earlier agent. A failure only means that the next order asks again."""
    end_key_agent(ctx.store)
    try:
        expires_at = parse_time(ctx.session().expires_at)
        handle = start_agent(
            loaded.key, cert_fingerprint=loaded.fingerprint_sha256, expires_at=expires_at
        )
    except (ClientError, ValueError):
        return
    try:
        ctx.store.save_agent_handle(handle)
    except ClientError:
        stop_agent(handle)  # no handle, no use: do not leave it holding the key


def end_key_agent(store: Store) -> None:
    """Tell this store's key agent to end (if one is there) and forget its handle."""
    handle = store.load_agent_handle()
    if handle is not None:
        stop_agent(handle)
    store.remove_agent_handle()
