"""Orders as the protocol signs them: a fresh id and time, signed by the customer's key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sync_client.errors import InvalidInput
from sync_client.i18n import msg
from sync_client.keys import PrivateKey, sign
from sync_client.protocol import format_time, order_message


@dataclass(frozen=True)
class SignedOrder:
    order: dict[str, Any]
    signature: bytes


def build_order(
    *, symbol: str, side: str, quantity: int, price: str, now: datetime | None = None
) -> dict[str, Any]:
    """The order object of docs/PROTOCOL.md; refuses obviously bad fields with ``InvalidInput``."""
    side = side.lower()
    if side not in ("buy", "sell"):
        raise InvalidInput(msg("sdk.order.side"))
    if quantity <= 0:
        raise InvalidInput(msg("sdk.order.quantity"))
    try:
        value = Decimal(price)
    except InvalidOperation:
        raise InvalidInput(msg("sdk.order.price_not_number", price=price)) from None
    if value <= 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise InvalidInput(msg("sdk.order.price"))
    if not (symbol.isascii() and symbol.isalnum() and 1 <= len(symbol) <= 12):
        raise InvalidInput(msg("sdk.order.symbol"))
    return {
        "symbol": symbol.upper(),
        "side": side,
        "quantity": quantity,
        "price": price,
        "client_order_id": secrets.token_hex(16),
        "signed_at": format_time(now or datetime.now(UTC)),
    }


def sign_order(key: PrivateKey, order: dict[str, Any]) -> SignedOrder:
    return SignedOrder(order, sign(key, order_message(order)))
