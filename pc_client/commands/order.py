"""``order``: sign an order with the certificate and send it; the security setting decides
whether the PFX password is asked (``sync_client.security.password_needed``).

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

import click
from cryptography import x509

from pc_client import remember
from pc_client.app import App, Result
from pc_client.errors import PcRefusal
from pc_client.messages import msg
from sync_client.errors import (
    ClientError,
    InvalidInput,
    ServerRefused,
    SessionKeyInvalid,
    WrongPfxPassword,
)
from sync_client.keys import PrivateKey, certificate_fingerprint, key_matches_certificate
from sync_client.orders import build_order, sign_order
from sync_client.pfx import LoadedPfx
from sync_client.security import SecuritySetting, password_needed
from sync_client.session_key import unwrap_session_key, wrap_session_key


def unseal_session_key(app: App, customer_id: str) -> tuple[PrivateKey, x509.Certificate] | None:
    """The key kept by an earlier order of this login, with the certificate it signs for.

    ``None`` when it cannot be used, for whatever reason: the caller then asks for the
    password. The certificate is the one registered for the current ``<ID>.pfx``, so a key
    kept before a renewal or an import no longer opens (its certificate is bound into the
    seal). ``ServerUnreachable`` passes through: the order could not be sent either.
    """
    store = app.store
    try:
        sealed = store.load_session_key()
    except InvalidInput:
        return None
    cert = store.local_certificate(customer_id).cert if sealed is not None else None
    if sealed is None or cert is None:
        return None
    try:
        secret = app.client().unlock_secret()
        key = unwrap_session_key(
            sealed, secret, customer_id=customer_id, cert_fingerprint=certificate_fingerprint(cert)
        )
    except (ServerRefused, SessionKeyInvalid):
        return None
    if not key_matches_certificate(key, cert):
        return None
    return key, cert


def keep_session_key(app: App, customer_id: str, loaded: LoadedPfx) -> None:
    """Seal the key just unlocked under the session's unlock secret and keep it as
    ``session-key``. A failure (the server, the disk) only means the next order asks again."""
    try:
        secret = app.client().unlock_secret()
        sealed = wrap_session_key(
            loaded.key,
            secret,
            customer_id=customer_id,
            cert_fingerprint=loaded.fingerprint_sha256,
        )
        app.store.save_session_key(sealed)
    except ClientError:
        pass


@click.command()
@click.option("--symbol", required=True, help="Stock symbol, 1 to 12 letters or digits.")
@click.option("--side", required=True, type=click.Choice(["buy", "sell"]))
@click.option("--qty", "quantity", required=True, type=click.IntRange(min=1), help="Shares.")
@click.option("--price", required=True, help="Limit price, up to 2 decimals.")
@click.pass_obj
def order(app: App, symbol: str, side: str, quantity: int, price: str) -> Result:
    """Sign an order with your certificate and send it.

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. PFX password — only when the security setting asks:
         1 = every order; 2 = the first order after login; 3 = never

    The setting in force is the one at login.
    """
    session = app.session()
    customer_id = session.customer_id
    setting = SecuritySetting(session.security_setting)
    body = build_order(symbol=symbol, side=side, quantity=quantity, price=price)
    app.store.read_pfx_bytes(customer_id)  # no file: refuse before asking anything

    unsealed = (
        unseal_session_key(app, customer_id) if setting is SecuritySetting.FIRST_ORDER else None
    )
    asked = password_needed(setting, asked_this_session=unsealed is not None)
    loaded: LoadedPfx | None = None
    if unsealed is not None:
        key, cert = unsealed
    else:
        if asked:
            password = app.prompter.secret(msg("prompt.pfx_password"))
        else:
            remembered = remember.recall_setting3(customer_id)
            if remembered is None:
                raise PcRefusal(msg("order.not_remembered"), code="password_not_remembered")
            password = remembered
        try:
            loaded = app.store.open_pfx(customer_id, password)
        except WrongPfxPassword:
            if asked:
                raise
            raise WrongPfxPassword(msg("order.remembered_wrong")) from None
        key, cert = loaded.key, loaded.cert
    signed = sign_order(key, body)
    accepted = app.client().place_order(
        order=signed.order, signature=signed.signature, serial=cert.serial_number
    )
    if loaded is not None and asked and setting is SecuritySetting.FIRST_ORDER:
        # Only after the server accepted: a refused order changes nothing on this PC.
        keep_session_key(app, customer_id, loaded)
    data = {
        "order_id": accepted.get("order_id"),
        "accepted_at": accepted.get("accepted_at"),
        "serial": accepted.get("serial"),
        "order": signed.order,
        "password_asked": asked,
    }
    lines = [
        msg(
            "order.done",
            side=signed.order["side"],
            qty=signed.order["quantity"],
            symbol=signed.order["symbol"],
            price=signed.order["price"],
            order_id=accepted.get("order_id"),
        )
    ]
    return Result(data, lines)
