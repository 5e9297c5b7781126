"""Signed orders (docs/PROTOCOL.md, "Orders")."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from sync_client.codes import ErrorCode
from sync_client.protocol import order_message
from sync_client.wire.base import (
    PRINTABLE,
    DecimalSerial,
    Signature,
    Time,
    WireRequest,
    WireResponse,
)

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,12}$")]
# A price: up to 12 digits before the point and 2 after (sync_client.orders builds to this).
PRICE_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
MAX_QUANTITY = 10**9
Price = Annotated[str, StringConstraints(pattern=PRICE_PATTERN)]
ClientOrderId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class Order(WireRequest):
    """The object the customer's key signs, exactly these fields. ``price`` is a positive
    decimal string with up to 2 decimals; ``client_order_id`` 32 lower-case hex characters."""

    symbol: Symbol
    side: Literal["buy", "sell"]
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY)]
    price: Price
    client_order_id: ClientOrderId
    signed_at: Time

    @field_validator("price")
    @classmethod
    def _positive(cls, price: str) -> str:
        if Decimal(price) <= 0:
            raise PydanticCustomError("price_zero", "must be more than zero")
        return price

    def signed_bytes(self, *, audience: str, customer_id: str, serial: str) -> bytes:
        """The bytes the signature covers: the order as sent (its one written form), bound to
        the deployment, the customer and the signing certificate (``order_message``)."""
        return order_message(
            self.to_wire(), audience=audience, customer_id=customer_id, serial=serial
        )


class OrderRequest(WireRequest):
    """``serial``: the decimal serial of the certificate that signed (the current valid one);
    ``customer_id`` and ``audience``: whom and which deployment the signature is bound to (the
    same values as in the signed message, so that a mismatch is refused by name)."""

    field_codes: ClassVar[Mapping[str, ErrorCode]] = {"order": ErrorCode.ORDER_INVALID}

    order: Order
    signature: Signature
    serial: DecimalSerial
    customer_id: Annotated[str, StringConstraints(pattern=r"^[A-Z][1289A-D][0-9]{8}$")]
    audience: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]


class OrderResponse(WireResponse):
    order_id: str
    accepted_at: Time
    serial: str
