"""Orders as the protocol signs them: a fresh id and time, signed by the customer's key."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sync_client.errors import InvalidInput
from sync_client.i18n import msg
from sync_client.keys import PrivateKey, sign
from sync_client.protocol import format_time, order_message
from sync_client.wire.orders import MAX_QUANTITY, PRICE_PATTERN

# ASCII digits only: Python's int() and Decimal() also read "١٢" (Arabic-Indic), "１２"
# (full-width), "1_000", "NaN" and "Infinity", none of which is a price or a share count.
PRICE_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
WIRE_PRICE = re.compile(PRICE_PATTERN)
QUANTITY_TEXT = re.compile(r"[0-9]+")


def parse_quantity(text: str) -> int:
    """A share count as typed: ASCII digits, at least 1 (``InvalidInput`` otherwise)."""
    text = text.strip()
    if not QUANTITY_TEXT.fullmatch(text) or not 1 <= int(text) <= MAX_QUANTITY:
        raise InvalidInput(msg("sdk.order.quantity"))
    return int(text)


@dataclass(frozen=True)
class SignedOrder:
    order: dict[str, Any]
    signature: bytes
    audience: str
    customer_id: str
    serial: int


def build_order(
    *, symbol: str, side: str, quantity: int, price: str, now: datetime | None = None
) -> dict[str, Any]:
    """The order object of docs/PROTOCOL.md; refuses obviously bad fields with ``InvalidInput``:
    a price that is not a plain ASCII decimal (``NaN``, ``Infinity``, ``1e5``, non-ASCII digits)
    or has more than 12 digits before the point or 2 after it, a quantity outside 1 …
    ``MAX_QUANTITY``."""
    side = side.lower()
    if side not in ("buy", "sell"):
        raise InvalidInput(msg("sdk.order.side"))
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput(msg("sdk.order.quantity"))
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(msg("sdk.order.quantity"))
    # Plain ASCII decimals only, checked before Decimal sees them: Decimal("NaN") cannot be
    # compared, and Decimal("Infinity") has no exponent to count decimals by.
    if not PRICE_TEXT.fullmatch(price):
        raise InvalidInput(msg("sdk.order.price_not_number", price=price[:40]))
    try:
        value = Decimal(price)
    except InvalidOperation:  # pragma: no cover (the pattern admits only decimals)
        raise InvalidInput(msg("sdk.order.price_not_number", price=price[:40])) from None
    # What the wire takes (12 digits before the point, 2 after), so the server never refuses
    # an order this built.
    if value <= 0 or not WIRE_PRICE.match(price):
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


def sign_order(
    key: PrivateKey, order: dict[str, Any], *, audience: str, customer_id: str, serial: int
) -> SignedOrder:
    """Sign ``order`` for ``customer_id`` with the certificate ``serial``'s key, bound to the
    deployment ``audience`` (the server's policy ``order_audience``)."""
    message = order_message(order, audience=audience, customer_id=customer_id, serial=str(serial))
    return SignedOrder(order, sign(key, message), audience, customer_id, serial)
