"""Signed orders: accepted only under the customer's current valid certificate, once each.

The trading back end is out of scope; an accepted order is recorded and audited.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography import x509
from sqlalchemy.exc import IntegrityError

from sync_client.keys import verify
from sync_client.protocol import order_message, parse_time
from sync_server import audit
from sync_server.certificates import get_status, is_valid
from sync_server.customers import Principal
from sync_server.errors import BadRequest, Conflict, Forbidden, ServiceError
from sync_server.host import Host
from sync_server.models import Order

_SYMBOL = re.compile(r"[A-Za-z0-9]{1,12}")
_CLIENT_ORDER_ID = re.compile(r"[0-9a-f]{32}")
_PRICE = re.compile(r"\d{1,12}(\.\d{1,2})?")
ORDER_FIELDS = {"symbol", "side", "quantity", "price", "client_order_id", "signed_at"}


def validate_order(order: object) -> tuple[dict[str, Any], datetime]:
    """Check the order's shape (pure); returns it and its ``signed_at`` in UTC."""
    if not isinstance(order, dict) or set(order) != ORDER_FIELDS:
        raise BadRequest(
            "order_invalid", f"An order has exactly the fields {sorted(ORDER_FIELDS)}."
        )
    symbol, side, quantity, price = (
        order["symbol"],
        order["side"],
        order["quantity"],
        order["price"],
    )
    if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
        raise BadRequest("order_invalid", "The symbol is 1 to 12 letters or digits.")
    if side not in ("buy", "sell"):
        raise BadRequest("order_invalid", "The side is 'buy' or 'sell'.")
    if type(quantity) is not int or not 0 < quantity <= 10**9:
        raise BadRequest("order_invalid", "The quantity is a positive whole number.")
    try:
        positive = isinstance(price, str) and bool(_PRICE.fullmatch(price)) and Decimal(price) > 0
    except InvalidOperation:
        positive = False
    if not positive:
        raise BadRequest(
            "order_invalid", "The price is a positive decimal string with up to 2 decimals."
        )
    client_order_id = order["client_order_id"]
    if not isinstance(client_order_id, str) or not _CLIENT_ORDER_ID.fullmatch(client_order_id):
        raise BadRequest("order_invalid", "client_order_id is 32 lower-case hex characters.")
    try:
        signed_at = parse_time(order["signed_at"])
    except (TypeError, ValueError, AttributeError):
        raise BadRequest("order_invalid", "signed_at is an RFC 3339 time.") from None
    return order, signed_at


def place_order(host: Host, principal: Principal, *, order: object, signature: object) -> Order:
    checked, signed_at = validate_order(order)
    if not isinstance(signature, str):
        raise BadRequest("bad_request", "signature must be base64.")
    try:
        signature_bytes = base64.b64decode(signature, validate=True)
    except ValueError:
        raise BadRequest("bad_request", "signature must be base64.") from None
    now = host.now()
    if abs(now - signed_at) > host.settings.order_clock_tolerance:
        raise BadRequest("order_stale", "The order's time is too far from the server's clock.")
    status = get_status(host, principal.customer_id)
    refusal: ServiceError | None = None
    row: Order | None = None
    cert = status.certificate
    if cert is None or not is_valid(status.code):
        refusal = Forbidden(
            "certificate_not_valid", f"You have no valid certificate (status {status.code.label})."
        )
    else:
        public_key = x509.load_pem_x509_certificate(cert.cert_pem.encode()).public_key()
        if not verify(public_key, signature_bytes, order_message(checked)):
            refusal = Forbidden(
                "order_signature_invalid",
                "The order's signature does not verify under your current certificate.",
            )
    if refusal is None:
        assert cert is not None
        row = Order(
            id=secrets.token_hex(16),
            customer_id=principal.customer_id,
            client_order_id=checked["client_order_id"],
            symbol=checked["symbol"],
            side=checked["side"],
            quantity=checked["quantity"],
            price=checked["price"],
            signed_at=signed_at,
            accepted_at=now,
            certificate_serial=cert.serial,
            device_kind=principal.device_kind,
            signature_b64=signature,
        )
        try:
            with host.db.write() as session:
                session.add(row)
                audit.record(
                    session,
                    now=now,
                    action="order",
                    customer_id=principal.customer_id,
                    device_kind=principal.device_kind,
                    detail=f"{checked['side']} {checked['quantity']} {checked['symbol']} "
                    f"@ {checked['price']} serial {cert.serial}",
                )
            return row
        except IntegrityError:
            refusal = Conflict("order_replayed", "This order was already accepted.")
    with host.db.write() as session:
        audit.record(
            session,
            now=now,
            action="order",
            outcome=refusal.code,
            customer_id=principal.customer_id,
            device_kind=principal.device_kind,
        )
    raise refusal
