"""``order``: sign an order with the certificate and send it; the security setting decides
whether the PFX password is asked. The work (and the rules of the three settings) is
``pc_client.operations.order``'s.
"""

from __future__ import annotations

import click

from pc_client.app import App, Result
from pc_client.messages import msg, side_text
from pc_client.operations.order import place_order, plan_order
from pc_client.questions import QUANTITY


@click.command()
@click.option("--symbol", required=True, help="Stock symbol, 1 to 12 letters or digits.")
@click.option("--side", required=True, type=click.Choice(["buy", "sell"]))
@click.option("--qty", "quantity", required=True, type=QUANTITY, help="Shares.")
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
    plan = plan_order(app, symbol=symbol, side=side, quantity=quantity, price=price)
    password = app.prompter.secret(msg("prompt.pfx_password")) if plan.password_needed else None
    placed = place_order(app, plan, password=password)
    data = {
        "order_id": placed.order_id,
        "accepted_at": placed.accepted_at,
        "serial": placed.serial,
        "order": placed.order,
        "password_asked": placed.password_asked,
    }
    lines = [
        msg(
            "order.done",
            side=side_text(str(placed.order["side"])),
            qty=placed.order["quantity"],
            symbol=placed.order["symbol"],
            price=placed.order["price"],
            order_id=placed.order_id,
        )
    ]
    return Result(data, lines)
