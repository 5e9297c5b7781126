"""``order``: sign an order with the phone's copy of the certificate and send it."""

from __future__ import annotations

import click

from mobile_stub.app import App, pass_app
from mobile_stub.messages import msg
from mobile_stub.render import render_order
from sync_client.cli_runner import Answer


@click.command(short_help="Sign an order with the certificate on this phone and send it.")
@click.option(
    "--symbol",
    metavar="SYMBOL",
    required=True,
    help="Stock symbol, 1 to 12 letters or digits, e.g. 2330.",
)
@click.option(
    "--side",
    required=True,
    type=click.Choice(["buy", "sell"], case_sensitive=False),
    help="buy or sell.",
)
@click.option(
    "--qty",
    "quantity",
    metavar="N",
    required=True,
    type=click.IntRange(min=1),
    help="Number of shares, a whole number.",
)
@click.option(
    "--price",
    metavar="PRICE",
    required=True,
    help="Limit price, at most 2 decimals, e.g. 612.50.",
)
@pass_app
def order(app: App, symbol: str, side: str, quantity: int, price: str) -> Answer:
    """Sign an order with the certificate on this phone and send it.

    Prompts: 1. PFX password: on every order with setting 1, on the first order after each
    login with setting 2, never with setting 3.
    """
    from mobile_stub.keystore import require_certificate
    from mobile_stub.signing import keep_for_session, place_signed_order, unlock_for_order

    with app.session_client() as (session, client):
        entry = require_certificate(app.home, session.customer_id)
        unlocked = unlock_for_order(
            app.home,
            session,
            entry,
            read_password=lambda: app.secret(msg("phone.prompt.pfx_password")),
        )
        result = place_signed_order(
            client, unlocked, symbol=symbol, side=side, quantity=quantity, price=price
        )
        keep_for_session(app.home, session, unlocked)
    return app.answer(render_order(result, password_asked=unlocked.password_asked))
