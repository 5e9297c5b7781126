"""Function 5, upload to phone (憑證上傳手機): start a pairing, watch it, cancel it.

    check_pairing   host ↔ client match (as function 1), before anything is asked
    start_pairing   the PFX password opens <ID>.pfx ─▶ send_pfx (slot + sealed upload)
                    ─▶ Pairing: the QR payload, as PNG bytes or terminal text, and a countdown
    wait_for_phone  block (long-polls) until claimed / expired / cancelled, or the deadline
    poll_pairing    one immediate look, for a page that asks every few seconds
    cancel_pairing  the PC stops: the QR code no longer works

Both checks come before anything reaches the relay: a mismatch or a wrong password opens no
slot. The PFX goes out byte for byte as stored, still under its password, sealed by
``sync_client.pairing.send_pfx`` under a fresh relay key that only the QR payload carries, so
``Pairing`` hides it from its ``repr`` and nothing here logs or raises it.

A QR code nobody watches must not keep working: at the deadline (``timeout`` seconds, or a
little after the slot's expiry, when the server should have said "expired") the waiting and
polling functions cancel the slot. The time left is measured on the server's clock
(``expires_at`` against ``server_time`` from ``/policy``), then counted on the monotonic clock,
so a PC whose clock is off still shows the right time and still waits long enough to hear
"expired" from the server. ``clock`` is that monotonic clock, passed in for tests.

Threads: a page may wait in a background thread and cancel from a request; the cancel wakes
the long-poll at once. The functions share only the ``Context``'s HTTP client.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from pc_client.app import Context
from pc_client.errors import CertificateMismatch
from pc_client.messages import msg
from pc_client.operations.allowed import Function, refuse_unusable
from pc_client.operations.status import StatusView, gather_status
from sync_client.api import SlotState, SyncClient
from sync_client.errors import ClientError
from sync_client.pairing import (
    CANCELLED,
    DEFAULT_WAIT_STEP,
    OPEN,
    send_pfx,
    wait_for_outcome,
)
from sync_client.pfx import load_pfx
from sync_client.qr import render_qr_png_bytes, render_qr_terminal

# How long past the slot's expiry to keep asking: the server, not the PC, declares "expired".
EXPIRY_GRACE = 15.0
# Why the PC stopped watching (``PairingOutcome.stopped_by``).
STOPPED_AT_DEADLINE = "timeout"
STOPPED_BY_CANCEL = "cancel"

MonotonicClock = Callable[[], float]


@dataclass(frozen=True)
class Countdown:
    """The slot's time left, anchored on a monotonic reading; the PC's wall clock plays no part.

    ``left_at_start`` is ``expires_at`` minus the server's time, as measured at ``started``.
    """

    started: float
    left_at_start: float

    def left(self, now: float) -> float:
        """Seconds left at monotonic time ``now`` (never negative)."""
        return max(0.0, self.left_at_start - (now - self.started))

    def deadline(self, timeout: float | None) -> float:
        """When to stop waiting: after ``timeout`` seconds, or a little after the expiry."""
        until_expired = max(0.0, self.left_at_start) + EXPIRY_GRACE
        return self.started + (until_expired if timeout is None else min(timeout, until_expired))


def measure_countdown(*, expires_at: datetime, server_now: datetime, started: float) -> Countdown:
    """The countdown of a slot that expires at ``expires_at`` (the server's clock).

    ``server_now`` is the server's time as read at monotonic time ``started``.
    """
    return Countdown(started, (expires_at - server_now).total_seconds())


@dataclass(frozen=True, repr=False)
class Pairing:
    """An open pairing: the certificate offered, the slot, and the QR ``payload``.

    ``payload`` carries the relay key: show it only as the QR code (``qr_png_bytes``,
    ``qr_terminal_text``) and never put it in a log, an error or a URL.
    """

    customer_id: str
    serial: int
    serial_display: str
    not_after: datetime  # the certificate's end
    fingerprint_sha256: str
    slot_id: str
    expires_at: datetime  # the QR code's end, on the server's clock
    payload: str
    countdown: Countdown

    def __repr__(self) -> str:
        return f"Pairing(slot_id={self.slot_id!r}, customer_id={self.customer_id!r}, payload=***)"

    def seconds_left(self, now: float) -> float:
        """Seconds until the QR code expires, at monotonic time ``now``."""
        return self.countdown.left(now)

    def qr_png_bytes(self, *, scale: int = 8) -> bytes:
        """The QR code as a PNG image (a secret: it carries the relay key)."""
        return render_qr_png_bytes(self.payload, scale=scale)

    def qr_terminal_text(self, *, light_terminal: bool = False) -> str:
        """The QR code in block characters, for a terminal; ``light_terminal`` for dark text on
        a light background (so the code still comes out dark-on-light)."""
        return render_qr_terminal(self.payload, light_ink=not light_terminal)


@dataclass(frozen=True)
class PairingOutcome:
    """How the slot stands: ``open`` (still waiting), ``claimed``, ``expired``, ``cancelled``.

    ``stopped_by`` is ``"timeout"`` when this PC stopped watching at the deadline and cancelled
    the slot, ``"cancel"`` after ``cancel_pairing``, ``None`` otherwise. A phone that took the
    certificate at the last moment wins: ``state`` is then ``claimed`` whatever stopped.
    """

    state: str
    stopped_by: str | None
    seconds_left: float

    @property
    def ended(self) -> bool:
        """The slot is over: nothing more will happen."""
        return self.state != OPEN


def check_pairing(ctx: Context) -> StatusView:
    """Refuse unless this computer's certificate is the host's current valid one."""
    view = gather_status(ctx)
    refusal = refuse_unusable(view.check, view.host.code, Function.PAIR)
    if refusal is not None:
        raise refusal.error()
    return view


def start_pairing(
    ctx: Context,
    *,
    password: str,
    checked: StatusView | None = None,
    clock: MonotonicClock = time.monotonic,
) -> Pairing:
    """Open a relay slot holding ``<ID>.pfx`` once ``password`` opens it (``WrongPfxPassword``
    otherwise, and no slot is opened)."""
    view = checked or check_pairing(ctx)
    assert view.host.certificate is not None  # usable: the host has a valid certificate
    pfx_bytes = ctx.store.read_pfx_bytes(view.customer_id)
    loaded = load_pfx(pfx_bytes, password)
    if loaded.fingerprint_sha256 != view.host.certificate.fingerprint_sha256:
        raise CertificateMismatch(msg("export.changed"))
    client = ctx.client()
    server_now = server_time(client)
    started = clock()  # the countdown's anchor: when the server said server_now
    handoff = send_pfx(
        client,
        pfx_bytes=pfx_bytes,
        customer_id=view.customer_id,
        certificate_fingerprint=loaded.fingerprint_sha256,
    )
    return Pairing(
        customer_id=view.customer_id,
        serial=loaded.serial,
        serial_display=loaded.serial_display,
        not_after=loaded.not_after,
        fingerprint_sha256=loaded.fingerprint_sha256,
        slot_id=handoff.slot_id,
        expires_at=handoff.expires_at,
        payload=handoff.payload,
        countdown=measure_countdown(
            expires_at=handoff.expires_at, server_now=server_now, started=started
        ),
    )


def wait_for_phone(
    ctx: Context,
    pairing: Pairing,
    *,
    timeout: float | None = None,
    on_tick: Callable[[PairingOutcome], None] | None = None,
    wait_step: float = DEFAULT_WAIT_STEP,
    clock: MonotonicClock = time.monotonic,
) -> PairingOutcome:
    """Wait until the slot ends, or the deadline (then cancel it: ``stopped_by="timeout"``).

    Each round is one long-poll of at most ``wait_step`` seconds; ``on_tick`` gets each answer
    (to redraw the time left). Errors from the server propagate, the slot left as it is.
    """

    def tick(state: SlotState) -> None:
        if on_tick is not None:
            on_tick(PairingOutcome(state.state, None, pairing.seconds_left(clock())))

    state = wait_for_outcome(
        ctx.client(),
        pairing.slot_id,
        deadline=pairing.countdown.deadline(timeout),
        on_tick=tick,
        clock=clock,
        wait_step=wait_step,
    )
    if state == OPEN:
        return replace(cancel_pairing(ctx, pairing, clock=clock), stopped_by=STOPPED_AT_DEADLINE)
    return PairingOutcome(state, None, pairing.seconds_left(clock()))


def poll_pairing(
    ctx: Context,
    pairing: Pairing,
    *,
    timeout: float | None = None,
    clock: MonotonicClock = time.monotonic,
) -> PairingOutcome:
    """How the slot stands now, without waiting; past the deadline an open slot is cancelled."""
    state = ctx.client().wait_slot(pairing.slot_id, after=OPEN, wait=0).state
    if state == OPEN and clock() >= pairing.countdown.deadline(timeout):
        return replace(cancel_pairing(ctx, pairing, clock=clock), stopped_by=STOPPED_AT_DEADLINE)
    return PairingOutcome(state, None, pairing.seconds_left(clock()))


def cancel_pairing(
    ctx: Context, pairing: Pairing, *, clock: MonotonicClock = time.monotonic
) -> PairingOutcome:
    """Cancel the slot (best effort), then ask how it ended: a phone may have taken it at the
    last moment. Never raises a ``ClientError``: if the server cannot say, it is cancelled."""
    client = ctx.client()
    with contextlib.suppress(ClientError):
        client.cancel_slot(pairing.slot_id)
    try:
        state = client.wait_slot(pairing.slot_id, after=OPEN, wait=0).state
    except ClientError:
        state = CANCELLED
    return PairingOutcome(state, STOPPED_BY_CANCEL, pairing.seconds_left(clock()))


def server_time(client: SyncClient) -> datetime:
    """The server's clock (``/policy``), to count the slot's lifetime in its terms."""
    return client.policy().server_time
