"""Signed orders: accepted only under the customer's current valid certificate, once each.

The order's shape is the wire model's (``sync_client.wire.orders.Order``), checked at the edge;
here are the rules: ``signed_at`` near the server's clock, the ``serial`` the client names is
the customer's current valid certificate, and the signature verifies under its key
(``signer_refusal``, pure). The trading back end is out of scope; an accepted order is recorded
and audited, a refused one audited.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import Select, bindparam, insert
from sqlalchemy import select as sql_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col

from sync_client.keys import verify
from sync_client.wire import orders as wire
from sync_server import audit
from sync_server.certificate_views import Status, certificate_value, get_status
from sync_server.customers import Principal
from sync_server.errors import ErrorCode, ServiceError
from sync_server.host import Host
from sync_server.models import Certificate, Order
from sync_server.prepared import execute


def stale_refusal(
    signed_at: datetime, *, now: datetime, tolerance: timedelta
) -> ServiceError | None:
    """An order signed too far from the server's clock is refused (a replay window bound)."""
    if abs(now - signed_at) > tolerance:
        return ServiceError(
            ErrorCode.ORDER_STALE, "The order's time is too far from the server's clock."
        )
    return None


def binding_refusal(
    *, customer_id: str, audience: str, principal_id: str, own_audience: str
) -> ServiceError | None:
    """Why an order bound (by its signed message) to ``customer_id`` and ``audience`` is not
    for this session's customer at this deployment, or ``None`` when it is."""
    if customer_id != principal_id:
        return ServiceError(
            ErrorCode.ORDER_WRONG_CUSTOMER,
            "The order was signed for another customer than the one logged in.",
        )
    if audience != own_audience:
        return ServiceError(
            ErrorCode.ORDER_WRONG_AUDIENCE,
            "The order was signed for another server (its audience is not this one's "
            "order_audience).",
        )
    return None


def signer_refusal(
    status: Status,
    *,
    serial: str,
    signature: bytes,
    message: bytes,
    named: Certificate | None = None,
) -> ServiceError | None:
    """Why the order may not be accepted under the customer's certificate, or ``None``.

    The customer must hold a valid certificate; the client names the one it signed with
    (``serial``, whose row is ``named`` if it is this customer's), which must be that
    certificate: ``certificate_superseded`` when a renewal replaced it (the phone must be paired
    again), ``certificate_not_current`` for any other; and the signature must verify under its
    key.
    """
    cert = status.certificate
    if cert is None or not status.code.is_valid:
        return ServiceError(
            ErrorCode.CERTIFICATE_NOT_VALID,
            f"You have no valid certificate (status {status.code.label}).",
        )
    if serial != cert.serial:
        if named is not None and named.serial == serial and named.superseded_at is not None:
            return ServiceError(
                ErrorCode.CERTIFICATE_SUPERSEDED,
                "The order was signed with a certificate that a renewal replaced; put the "
                "new certificate on this device.",
            )
        return ServiceError(
            ErrorCode.CERTIFICATE_NOT_CURRENT,
            "The order was signed with a certificate that is not your current valid one.",
        )
    public_key = x509.load_pem_x509_certificate(cert.cert_pem.encode()).public_key()
    if not verify(public_key, signature, message):
        return ServiceError(
            ErrorCode.ORDER_SIGNATURE_INVALID,
            "The order's signature does not verify under your current certificate.",
        )
    return None


def place_order(
    host: Host,
    principal: Principal,
    *,
    order: wire.Order,
    signature: bytes,
    serial: str,
    customer_id: str,
    audience: str,
) -> Order:
    """Accept ``order`` signed with ``signature`` by the certificate ``serial`` for
    ``customer_id`` at ``audience``; the row kept. Each binding is checked by name before the
    signature, which covers them all (``order_message``)."""
    now = host.now()
    stale = stale_refusal(order.signed_at, now=now, tolerance=host.settings.order_clock_tolerance)
    if stale is not None:
        raise stale
    who = {"customer_id": principal.customer_id, "device_kind": principal.device_kind}
    refusal = binding_refusal(
        customer_id=customer_id,
        audience=audience,
        principal_id=principal.customer_id,
        own_audience=host.order_audience,
    )
    if refusal is not None:
        audit.refuse(host.db, refusal, now=now, action="order", **who)
    status = get_status(host, principal.customer_id)
    found = host.db.read_row(_CERTIFICATE_BY_SERIAL, {"serial": serial})
    named = None if found is None else certificate_value(found)
    if named is not None and named.customer_id != principal.customer_id:
        named = None  # another customer's serial says nothing about this one's
    message = order.signed_bytes(audience=audience, customer_id=customer_id, serial=serial)
    refusal = signer_refusal(
        status, serial=serial, signature=signature, message=message, named=named
    )
    if refusal is not None:
        audit.refuse(host.db, refusal, now=now, action="order", **who)
    assert status.certificate is not None
    row = Order(
        id=secrets.token_hex(16),
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        price=order.price,
        signed_at=order.signed_at,
        accepted_at=now,
        certificate_serial=serial,
        signature_b64=base64.b64encode(signature).decode(),
        **who,
    )
    try:
        with host.db.write() as session:
            # One prebuilt Core INSERT, run at once: a replay fails here, on the unique
            # (customer, client order id), and rolls back only this write.
            execute(session, _INSERT_ORDER, {c.name: getattr(row, c.name) for c in _ORDER_COLUMNS})
            audit.record(
                session,
                now=now,
                action="order",
                detail=f"{order.side} {order.quantity} {order.symbol} @ {order.price} "
                f"serial {serial}",
                **who,
            )
    except IntegrityError:
        replayed = ServiceError(ErrorCode.ORDER_REPLAYED, "This order was already accepted.")
        audit.refuse(host.db, replayed, now=now, action="order", **who)
    return row


# Built once: building a statement cost more Python time than running it.
_CERTIFICATE_BY_SERIAL: Select[Any] = sql_select(
    *Certificate.__table__.columns  # type: ignore[attr-defined]
).where(col(Certificate.serial) == bindparam("serial"))
_ORDER_COLUMNS = tuple(Order.__table__.columns)  # type: ignore[attr-defined]
_INSERT_ORDER = insert(SQLModel.metadata.tables["order"])
