"""Relay slots: one encrypted PFX from a customer's PC to the same customer's phone, once.

A slot's life::

    open ──upload──▶ open (ready) ──claim by same customer's phone──▶ claimed
      │                  │
      └──cancel by PC / lifetime over──▶ cancelled / expired

The server holds ciphertext only: the key travels in the QR code and never reaches it. A slot
is single-use (the first claim wins, decided by one conditional UPDATE, so two instances on one
PostgreSQL database cannot both hand it out), bound to one customer (another customer's claim
is refused and does not spend it), and short-lived. Ended slots have their ciphertext wiped at
once; ``prune`` deletes them later.

The server cannot read an envelope, but it checks its frame: an upload shorter than the
smallest envelope, or without the current version byte, is refused (``ciphertext_invalid``),
so a PC that still seals version 1 learns it at once instead of leaving the phone a slot that
never opens. The claim answers with the fingerprint the slot was opened for, which the phone
binds into the envelope's associated data (``sync_client.envelope``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, insert, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, SQLModel, col

from sync_client.envelope import MIN_ENVELOPE_BYTES, VERSION_BYTE
from sync_client.protocol import RelayState
from sync_server import audit
from sync_server.certificate_views import get_status
from sync_server.credentials import new_id
from sync_server.customers import Principal
from sync_server.errors import ErrorCode, ServiceError
from sync_server.host import Host
from sync_server.models import Certificate, RelaySlot
from sync_server.prepared import execute

OPEN, CLAIMED, EXPIRED, CANCELLED = (
    RelayState.OPEN,
    RelayState.CLAIMED,
    RelayState.EXPIRED,
    RelayState.CANCELLED,
)
# What using a slot that has ended is refused with.
_ENDED = {
    CLAIMED: ErrorCode.SLOT_SPENT,
    EXPIRED: ErrorCode.SLOT_EXPIRED,
    CANCELLED: ErrorCode.SLOT_CANCELLED,
}
NOTIFY_CHANNEL = "certsync_relay"  # wakes PCs long-polling on other instances
# The headers of ``GET /pair/{slot_id}``, the page a camera app opens from the QR link. Its URL
# fragment holds the relay key: no script may run there (``default-src 'none'`` with no
# ``script-src``), nothing may frame it, and no Referer may carry its address elsewhere.
PAIR_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class SlotView:
    slot_id: str
    state: str
    expires_at: datetime


@dataclass(frozen=True)
class Claimed:
    """What the winning claim hands the phone."""

    certificate_fingerprint: str
    ciphertext: bytes = field(repr=False)


def effective_state(slot: RelaySlot, now: datetime) -> RelayState:
    """An open slot past its lifetime is expired, whether or not a writer has noticed yet."""
    if slot.state == OPEN and slot.expires_at <= now:
        return EXPIRED
    return RelayState(slot.state)


def claim_refusal(slot: RelaySlot | None, customer_id: str, now: datetime) -> ServiceError | None:
    """Why ``customer_id`` may not claim ``slot`` now, or ``None`` (pure)."""
    if slot is None:
        return ServiceError(
            ErrorCode.SLOT_NOT_FOUND, "There is no such pairing slot; scan the QR code again."
        )
    if slot.customer_id != customer_id:
        return ServiceError(
            ErrorCode.SLOT_WRONG_CUSTOMER,
            "This QR code belongs to another customer; log in on the phone as the PC's customer.",
        )
    state = effective_state(slot, now)
    if state == CLAIMED:
        return ServiceError(
            ErrorCode.SLOT_SPENT,
            "This QR code was already used; start the pairing again on the PC.",
        )
    if state == EXPIRED:
        return ServiceError(
            ErrorCode.SLOT_EXPIRED, "This QR code has expired; start the pairing again on the PC."
        )
    if state == CANCELLED:
        return ServiceError(
            ErrorCode.SLOT_CANCELLED, "The PC cancelled this pairing; start it again on the PC."
        )
    if slot.ciphertext is None:
        return ServiceError(
            ErrorCode.SLOT_NOT_READY, "The PC has not finished uploading; try again in a moment."
        )
    return None


# The hot statements (open, upload, claim, the long-poll's re-read), built once: building a
# statement cost more Python time than SQLite takes to run it. Rows are read with Core and made
# plain values; only the conditional UPDATEs write, and they are what decides a race.
_SLOT_COLUMNS = tuple(RelaySlot.__table__.columns)  # type: ignore[attr-defined]
_SLOT_COLUMN_NAMES = tuple(column.name for column in _SLOT_COLUMNS)
_SLOT: Select[Any] = sql_select(*_SLOT_COLUMNS).where(col(RelaySlot.id) == bindparam("slot_id"))
# The slot and the fingerprint of the certificate it was opened for, in one read.
_SLOT_TO_CLAIM: Select[Any] = (
    sql_select(*_SLOT_COLUMNS, col(Certificate.fingerprint_sha256))
    .select_from(RelaySlot)
    .outerjoin(Certificate, col(Certificate.serial) == col(RelaySlot.certificate_serial))
    .where(col(RelaySlot.id) == bindparam("slot_id"))
)
_INSERT_SLOT = insert(SQLModel.metadata.tables["relay_slot"])
# The first upload to an open slot of this customer's wins (the ciphertext is not returned).
_UPLOAD = (
    update(RelaySlot)
    .where(col(RelaySlot.id) == bindparam("slot_id"))
    .where(col(RelaySlot.customer_id) == bindparam("owner"))
    .where(col(RelaySlot.state) == OPEN)
    .where(col(RelaySlot.expires_at) > bindparam("now"))
    .where(col(RelaySlot.ciphertext).is_(None))
    .values(ciphertext=bindparam("body"), uploaded_at=bindparam("now"))
    .returning(col(RelaySlot.id))
)
# The first claim wins: one conditional UPDATE, on however many instances.
_CLAIM = (
    update(RelaySlot)
    .where(col(RelaySlot.id) == bindparam("slot_id"))
    .where(col(RelaySlot.state) == OPEN)
    .where(col(RelaySlot.ciphertext).is_not(None))
    .where(col(RelaySlot.expires_at) > bindparam("now"))
    .values(state=CLAIMED, ended_at=bindparam("now"), ciphertext=None)
    .returning(col(RelaySlot.id))
)


def _slot_value(row: Any) -> RelaySlot:
    """A slot row as a plain value (not tracked: only the UPDATEs write)."""
    # The slot's columns lead the row (a claim's read has the certificate's fingerprint after).
    values = row[: len(_SLOT_COLUMN_NAMES)]
    return RelaySlot.model_construct(**dict(zip(_SLOT_COLUMN_NAMES, values, strict=True)))


def _owned_slot(session: Session, principal: Principal, slot_id: str) -> RelaySlot:
    row = execute(session, _SLOT, {"slot_id": slot_id}).first()
    return _owned(None if row is None else _slot_value(row), principal)


def _owned(slot: RelaySlot | None, principal: Principal) -> RelaySlot:
    if slot is None or slot.customer_id != principal.customer_id:
        # Another customer's slot is reported as absent: its id tells them nothing.
        raise ServiceError(ErrorCode.SLOT_NOT_FOUND, "There is no such pairing slot.")
    return slot


def _audit(
    session: Session,
    principal: Principal,
    now: datetime,
    action: str,
    slot_id: str,
    outcome: str = "ok",
) -> None:
    audit.record(
        session,
        now=now,
        action=action,
        outcome=outcome,
        customer_id=principal.customer_id,
        device_kind=principal.device_kind,
        detail=f"slot {slot_id[:6]}…",
    )


def open_slot(host: Host, principal: Principal, *, certificate_fingerprint: str) -> SlotView:
    status = get_status(host, principal.customer_id)
    now = host.now()
    cert = status.certificate
    current = (
        cert is not None
        and status.code.is_valid
        and cert.fingerprint_sha256 == certificate_fingerprint.strip().lower()
    )
    slot_id, expires_at = new_id(16), now + host.settings.relay_slot_lifetime
    slot = {
        "id": slot_id,
        "customer_id": principal.customer_id,
        "certificate_serial": cert.serial if cert else "",
        "state": OPEN.value,
        "created_at": now,
        "expires_at": expires_at,
    }
    with host.db.write() as session:
        if current:
            execute(session, _INSERT_SLOT, slot)
        _audit(
            session,
            principal,
            now,
            "relay_open",
            slot_id,
            "ok" if current else ErrorCode.CERTIFICATE_NOT_CURRENT,
        )
    if not current:
        raise ServiceError(
            ErrorCode.CERTIFICATE_NOT_CURRENT,
            "The certificate on this computer is not your current valid certificate at the host.",
        )
    return SlotView(slot_id, OPEN, expires_at)


def upload_ciphertext(host: Host, principal: Principal, slot_id: str, ciphertext: bytes) -> None:
    if len(ciphertext) > host.settings.relay_max_ciphertext_bytes:
        raise ServiceError(ErrorCode.SLOT_TOO_LARGE, "The encrypted certificate is over 64 KiB.")
    if len(ciphertext) < MIN_ENVELOPE_BYTES or ciphertext[:1] != VERSION_BYTE:
        raise ServiceError(
            ErrorCode.CIPHERTEXT_INVALID,
            f"The upload is not a version {VERSION_BYTE[0]} relay envelope "
            f"(at least {MIN_ENVELOPE_BYTES} bytes, starting with 0x{VERSION_BYTE.hex()}).",
        )
    now = host.now()
    params = {"slot_id": slot_id, "owner": principal.customer_id, "now": now}
    with host.db.write() as session:
        stored = execute(session, _UPLOAD, {**params, "body": ciphertext}).first()
        if stored is None:  # not stored: say why, from the slot as it is
            slot = _owned_slot(session, principal, slot_id)
            state = effective_state(slot, now)
            if state != OPEN:
                raise ServiceError(_ENDED[state], f"The slot is {state}.")
            raise ServiceError(
                ErrorCode.SLOT_ALREADY_UPLOADED, "This slot already holds its ciphertext."
            )
        _audit(session, principal, now, "relay_upload", slot_id)


def claim_slot(host: Host, principal: Principal, slot_id: str) -> Claimed:
    """Hand the ciphertext to the first claim by the slot's customer; spend the slot."""
    now = host.now()
    refusal: ServiceError | None = None
    claimed: Claimed | None = None
    with host.db.write() as session:
        row = execute(session, _SLOT_TO_CLAIM, {"slot_id": slot_id}).first()
        slot = None if row is None else _slot_value(row)
        refusal = claim_refusal(slot, principal.customer_id, now)
        if refusal is None:
            assert slot is not None and slot.ciphertext is not None and row is not None
            # open_slot stored the serial of the certificate whose fingerprint it checked;
            # certificates are never deleted, so the row is there.
            assert row.fingerprint_sha256 is not None
            claimed = Claimed(row.fingerprint_sha256, slot.ciphertext)
            won = execute(session, _CLAIM, {"slot_id": slot_id, "now": now}).first()
            if won is None:
                refusal = ServiceError(ErrorCode.SLOT_SPENT, "This QR code was already used.")
            else:
                host.db.notify(session, NOTIFY_CHANNEL, slot_id)
        elif refusal.code is ErrorCode.SLOT_EXPIRED and _expire(session, slot_id, now):
            audit.tally(session, "relay_expire")
        _audit(
            session, principal, now, "relay_claim", slot_id, refusal.code.value if refusal else "ok"
        )
    if refusal is not None:
        raise refusal
    assert claimed is not None
    return claimed


def cancel_slot(host: Host, principal: Principal, slot_id: str) -> None:
    now = host.now()
    with host.db.write() as session:
        _owned_slot(session, principal, slot_id)
        cancelled = session.exec(
            update(RelaySlot)
            .where(col(RelaySlot.id) == slot_id)
            .where(col(RelaySlot.state) == OPEN)
            .values(state=CANCELLED, ended_at=now, ciphertext=None)
        )
        if cancelled.rowcount:
            host.db.notify(session, NOTIFY_CHANNEL, slot_id)
        _audit(
            session,
            principal,
            now,
            "relay_cancel",
            slot_id,
            "ok" if cancelled.rowcount else "not_open",
        )


def read_slot(host: Host, principal: Principal, slot_id: str) -> tuple[SlotView, bool]:
    """The slot's state for its PC (one read, no write), and whether it is an open slot found
    past its lifetime, which ``expire_slot`` then ends."""
    row = host.db.read_row(_SLOT, {"slot_id": slot_id})
    slot = _owned(None if row is None else _slot_value(row), principal)
    state = effective_state(slot, host.now())
    return SlotView(slot.id, state, slot.expires_at), state == EXPIRED and slot.state == OPEN


def expire_slot(host: Host, principal: Principal, slot_id: str) -> None:
    """End an open slot past its lifetime: expired, its ciphertext wiped (once, audited)."""
    now = host.now()
    with host.db.write() as session:
        if _expire(session, slot_id, now):
            _audit(session, principal, now, "relay_expire", slot_id)


def _expire(session: Session, slot_id: str, now: datetime) -> bool:
    done = session.exec(
        update(RelaySlot)
        .where(col(RelaySlot.id) == slot_id)
        .where(col(RelaySlot.state) == OPEN)
        .where(col(RelaySlot.expires_at) <= now)
        .values(state=EXPIRED, ended_at=now, ciphertext=None)
    )
    return bool(done.rowcount)


def prune(host: Host, *, now: datetime, older_than: timedelta) -> int:
    """Wipe slots past their lifetime and delete ended ones older than ``older_than``."""
    with host.db.write() as session:
        expired = session.exec(
            update(RelaySlot)
            .where(col(RelaySlot.state) == OPEN)
            .where(col(RelaySlot.expires_at) <= now)
            .values(state=EXPIRED, ended_at=now, ciphertext=None)
        )
        if expired.rowcount:
            audit.tally(session, "relay_expire", count=int(expired.rowcount))
        removed = session.exec(
            delete(RelaySlot)
            .where(col(RelaySlot.state) != OPEN)
            .where(col(RelaySlot.expires_at) <= now - older_than)
        )
        if removed.rowcount:
            audit.record(
                session,
                now=now,
                action="relay_prune",
                actor="system",
                detail=f"{removed.rowcount} slots",
            )
        return int(removed.rowcount)
