"""``order``: sign an order with the certificate and send it; the security setting decides
whether the PFX password is asked (``sync_client.security.password_needed``).

The setting in force is the one the login session started with (a change takes effect from the
next login). Setting 2 remembers the password for the rest of the session in the credential
store (``pc_client.remember``); without one it asks on every order and says so.
"""

from __future__ import annotations

from dataclasses import replace

import click

from pc_client import remember
from pc_client.app import App, Result
from pc_client.errors import PcRefusal
from pc_client.messages import msg
from sync_client.errors import WrongPfxPassword
from sync_client.orders import build_order, sign_order
from sync_client.security import SecuritySetting, password_needed


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
    notes: list[str] = []

    remembered: str | None = None
    if setting is SecuritySetting.NEVER:
        remembered = remember.recall_setting3(customer_id)
        if remembered is None:
            raise PcRefusal(msg("order.not_remembered"), code="password_not_remembered")
    elif setting is SecuritySetting.FIRST_ORDER and session.password_asked:
        remembered = remember.recall_session(customer_id)
    asked = password_needed(setting, asked_this_session=remembered is not None)
    if asked:
        if setting is SecuritySetting.FIRST_ORDER and session.password_asked:
            notes.append(msg("order.no_credential_store"))
        password = app.prompter.secret(msg("prompt.pfx_password"))
    else:
        assert remembered is not None
        password = remembered
    try:
        loaded = app.store.open_pfx(customer_id, password)
    except WrongPfxPassword:
        if asked:
            raise
        raise WrongPfxPassword(msg("order.remembered_wrong")) from None
    signed = sign_order(loaded.key, body)
    accepted = app.client().place_order(
        order=signed.order, signature=signed.signature, serial=loaded.serial
    )
    if asked and setting is SecuritySetting.FIRST_ORDER:
        remember.remember_for_session(customer_id, password)
        app.store.save_session(replace(session, password_asked=True))
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
        ),
        *notes,
    ]
    return Result(data, lines)
