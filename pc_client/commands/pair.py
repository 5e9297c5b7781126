"""``pair``: function 5, upload to phone (憑證上傳手機).

    host ↔ client check (as ``status``) ─▶ the PFX password opens <ID>.pfx
    ─▶ send_pfx (slot + sealed upload) ─▶ QR code (terminal + PNG)
    ─▶ wait_for_outcome ─▶ claimed / expired / cancelled (or --timeout, Ctrl-C: cancel)

Both checks come before anything reaches the relay: a mismatch or a wrong password opens no
slot. The PFX goes out byte for byte as stored, still under its password, sealed by
``sync_client.pairing.send_pfx`` under a fresh relay key that only the QR code carries.

The QR image holds that key, so it is written 0600 (``render_qr_png``) and removed as soon as
this command stops watching the slot, however the slot ended, also at a ``--qr-png`` path the
user chose: once the slot has ended the image is worthless, and a file holding a key should
not outlive its use. Only ``--no-wait`` leaves it, since the slot is still open then (and it
is useless two minutes later). The key is printed nowhere else: no message, no log line; only
``--json`` shows the payload, for testers who hand it to ``mobile-stub pair --payload``.

The time left is measured on the server's clock (``expires_at`` against ``server_time`` from
``/policy``), then counted on the monotonic clock, so a PC whose clock is off still shows the
right time and still waits long enough to hear "expired" from the server.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from pc_client.app import App, Result
from pc_client.commands.status import gather, status_label
from pc_client.errors import CertificateMismatch
from pc_client.messages import msg
from pc_client.render import show_time
from sync_client.api import SlotState, SyncClient
from sync_client.errors import ClientError, InvalidInput
from sync_client.pairing import (
    CANCELLED,
    CLAIMED,
    DEFAULT_WAIT_STEP,
    EXPIRED,
    OPEN,
    Handoff,
    send_pfx,
    wait_for_outcome,
)
from sync_client.pfx import LoadedPfx, load_pfx
from sync_client.protocol import format_time, parse_time
from sync_client.qr import render_qr_png, render_qr_terminal

QR_PNG_NAME = "pair-qr.png"
# A claim wakes the long-poll at once whatever the step; on a terminal a shorter step only
# redraws the time left more often. Elsewhere nothing is redrawn, so the SDK's step will do.
COUNTDOWN_STEP = 5.0
# How long past the slot's expiry to keep asking: the server, not the PC, declares "expired".
EXPIRY_GRACE = 15.0
EXIT_INTERRUPTED = 130


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


def format_left(seconds: float) -> str:
    """``125.4`` → ``"2:06"``: minutes and seconds, rounded up, so ``0:00`` means it is over."""
    whole = max(0, -int(-seconds // 1))
    return f"{whole // 60}:{whole % 60:02d}"


class PayloadText(str):
    """The QR payload as ``--json`` prints it: the text itself, but a ``repr`` without the key.

    ``Result.data`` is a plain dict inside a dataclass, so a ``repr`` of the result (a debug
    print, a test failure) would otherwise show the relay key; ``json.dumps`` writes the text.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<QR payload: hidden>'"


@dataclass(frozen=True, repr=False)
class _Ready:
    """What the checks produced: the file as stored, opened, for one customer."""

    customer_id: str
    pfx_bytes: bytes
    loaded: LoadedPfx


@click.command()
@click.option(
    "--qr-png",
    "qr_png",
    metavar="FILE",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"Write the QR code image to FILE [default: <store folder>/{QR_PNG_NAME}].",
)
@click.option("--no-wait", is_flag=True, help="Exit as soon as the QR code is shown.")
@click.option(
    "--timeout",
    metavar="S",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Stop waiting after S seconds and cancel the QR code [default: until it expires].",
)
@click.pass_obj
def pair(app: App, qr_png: Path | None, no_wait: bool, timeout: float | None) -> Result:
    """Put your certificate on your phone: show a QR code for the trading app to scan.

    \b
    Prompts, in this order (one line each from standard input when it is not a terminal):
      1. PFX password

    Only when this computer's certificate is the host's current valid one. The file travels
    encrypted under a key that only the QR code carries, and stays protected by the PFX
    password, which the phone asks for. The phone must be logged in as the same customer.
    The QR code works once, for a short time (the server's setting; 120 s by default).

    The QR image (mode 0600) is deleted when pairing ends, also at a path given with
    --qr-png; with --no-wait it stays, since the QR code still works when the command exits.
    Ctrl-C while waiting cancels the QR code.

    With --json nothing is shown while waiting; one JSON object at the end holds the QR
    payload (for `mobile-stub pair --payload`), slot_id, expires_at, qr_png and outcome:
    claimed, expired, cancelled, or open with --no-wait.

    Exit status: 0 when the phone took the certificate (with --no-wait: once the QR code is
    shown); 1 when the QR code expired, was cancelled or --timeout passed; 130 after Ctrl-C.
    """
    if no_wait and timeout is not None:
        raise click.UsageError("--timeout has no effect with --no-wait.")
    png_path = (qr_png or app.store.home / QR_PNG_NAME).absolute()
    ready = _check_and_open(app, png_path)
    client = app.client()
    server_now = _server_time(client)
    started = time.monotonic()  # the countdown's anchor: when the server said server_now
    handoff = send_pfx(
        client,
        pfx_bytes=ready.pfx_bytes,
        customer_id=ready.customer_id,
        certificate_fingerprint=ready.loaded.fingerprint_sha256,
    )
    screen = _Screen(enabled=not app.options.as_json)
    data = _answer(ready, handoff, png_path)
    keep_png = False
    try:
        # From here on the slot is open: any failure (or Ctrl-C) cancels it.
        with _cancel_on_failure(client, handoff.slot_id):
            _write_png(handoff, png_path)
            screen.show_qr(handoff, ready, png_path, no_wait=no_wait)
            if no_wait:
                keep_png = True  # the QR code still works: the image is the user's now
                return Result(
                    {**data, "outcome": OPEN, "qr_png_removed": False},
                    [msg("pair.no_wait", until=show_time(handoff.expires_at))],
                )
            countdown = measure_countdown(
                expires_at=handoff.expires_at, server_now=server_now, started=started
            )
            outcome, stopped_by = _wait(client, handoff, countdown, screen, timeout)
    finally:
        screen.end_wait()
        if not keep_png:
            _remove_png(png_path)
    data.update(outcome=outcome, qr_png_removed=not png_path.exists())
    return _report(data, outcome=outcome, stopped_by=stopped_by, ready=ready, timeout=timeout)


# -- steps -------------------------------------------------------------------------------------


def _check_and_open(app: App, png_path: Path) -> _Ready:
    """The checks of function 5, all before the relay hears of it: match, file, password."""
    view = gather(app)
    if not view.check.usable:
        reason = msg("verdict." + view.check.verdict.value)
        if view.check.verdict.value == "match":
            reason = msg("export.host_not_valid", label=status_label(view.host.code))
        raise CertificateMismatch(msg("pair.refused", reason=reason))
    assert view.host.certificate is not None  # usable: the host has a valid certificate
    if png_path.is_dir():
        raise InvalidInput(msg("pair.png_is_folder", path=png_path), code="cannot_write")
    if not png_path.parent.is_dir():
        raise InvalidInput(msg("pair.png_no_folder", path=png_path.parent), code="cannot_write")
    password = app.prompter.secret(msg("prompt.pfx_password"))
    pfx_bytes = app.store.read_pfx_bytes(view.customer_id)
    loaded = load_pfx(pfx_bytes, password)  # WrongPfxPassword
    if loaded.fingerprint_sha256 != view.host.certificate.fingerprint_sha256:
        raise CertificateMismatch(msg("export.changed"))
    return _Ready(view.customer_id, pfx_bytes, loaded)


def _server_time(client: SyncClient) -> datetime:
    """The server's clock (``/policy``), to count the slot's lifetime in its terms."""
    raw = client.policy().get("server_time")
    try:
        return parse_time(str(raw))
    except ValueError:
        return datetime.now(UTC)  # a server that does not say: trust this PC's clock


def _write_png(handoff: Handoff, path: Path) -> None:
    try:
        render_qr_png(handoff.payload, path)
    except OSError as exc:
        raise InvalidInput(
            msg("store.cannot_write", path=path, reason=exc.strerror or type(exc).__name__),
            code="cannot_write",
        ) from None


def _wait(
    client: SyncClient,
    handoff: Handoff,
    countdown: Countdown,
    screen: _Screen,
    timeout: float | None,
) -> tuple[str, str | None]:
    """Wait for the slot's end: (final state, ``"timeout"``/``"interrupt"``/``None``).

    When the PC stops watching (the deadline, Ctrl-C) it cancels the slot: a QR code nobody
    watches must not keep working.
    """
    screen.draw(countdown)
    try:
        outcome = wait_for_outcome(
            client,
            handoff.slot_id,
            deadline=countdown.deadline(timeout),
            on_tick=lambda state: screen.tick(countdown, state),
            wait_step=COUNTDOWN_STEP if screen.live else DEFAULT_WAIT_STEP,
        )
    except KeyboardInterrupt:
        return _cancel(client, handoff.slot_id), "interrupt"
    if outcome == OPEN:
        return _cancel(client, handoff.slot_id), "timeout"
    return outcome, None


@contextlib.contextmanager
def _cancel_on_failure(client: SyncClient, slot_id: str) -> Iterator[None]:
    """Cancel the slot (best effort) if the block fails, then let the failure through."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(ClientError):
            client.cancel_slot(slot_id)
        raise


def _cancel(client: SyncClient, slot_id: str) -> str:
    """Cancel the slot, then ask how it ended: a phone may have taken it at the last moment."""
    with contextlib.suppress(ClientError):
        client.cancel_slot(slot_id)
    try:
        return client.wait_slot(slot_id, after=OPEN, wait=0).state
    except ClientError:
        return CANCELLED


def _remove_png(path: Path) -> None:
    # Reported through ``qr_png_removed``; a failure here must not hide the pairing's outcome.
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


# -- what the user sees ------------------------------------------------------------------------


def _answer(ready: _Ready, handoff: Handoff, png: Path) -> dict[str, Any]:
    """The ``--json`` fields of every outcome. ``payload`` carries the relay key."""
    return {
        "customer_id": ready.customer_id,
        "serial": str(ready.loaded.serial),
        "serial_display": ready.loaded.serial_display,
        "fingerprint_sha256": ready.loaded.fingerprint_sha256,
        "slot_id": handoff.slot_id,
        "expires_at": format_time(handoff.expires_at),
        "payload": PayloadText(handoff.payload),
        "qr_png": str(png),
    }


def _report(
    data: dict[str, Any],
    *,
    outcome: str,
    stopped_by: str | None,
    ready: _Ready,
    timeout: float | None,
) -> Result:
    if outcome == CLAIMED:
        # Even after Ctrl-C or --timeout: if the phone took it first, that is what happened.
        return Result(data, [msg("pair.claimed"), msg("pair.claimed_next")])
    if stopped_by == "interrupt":
        code, text, exit_code = "interrupted", msg("pair.interrupted"), EXIT_INTERRUPTED
    elif outcome == EXPIRED:
        code, text, exit_code = "slot_expired", msg("pair.expired", id=ready.customer_id), 1
    elif stopped_by == "timeout" and timeout is not None:
        code, text, exit_code = "pair_timeout", msg("pair.timeout", seconds=f"{timeout:g}"), 1
    else:
        code, text, exit_code = "slot_cancelled", msg("pair.cancelled"), 1
    # The command line prints data["message"] as the one error line (stderr); nothing else.
    return Result({**data, "error": code, "message": text}, [], exit_code=exit_code)


class _Screen:
    """The QR code and the time left, printed while the command runs (nothing with --json).

    On a terminal the time left is redrawn in place at each long-poll answer; in a log or a
    pipe the waiting line is printed once, since a log gains nothing from a countdown.
    """

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.live = enabled and _stdout_is_terminal()
        self._drawn = 0

    def show_qr(self, handoff: Handoff, ready: _Ready, png: Path, *, no_wait: bool) -> None:
        if not self.enabled:
            return
        loaded = ready.loaded
        click.echo(
            msg(
                "pair.intro",
                id=ready.customer_id,
                serial=loaded.serial_display,
                until=show_time(loaded.not_after),
            )
        )
        click.echo(msg("pair.instructions", id=ready.customer_id))
        click.echo("")
        click.echo(render_qr_terminal(handoff.payload), nl=False)
        click.echo(msg("pair.png_kept" if no_wait else "pair.png", path=png))
        if not no_wait and not self.live:
            click.echo(msg("pair.waiting_until", until=show_time(handoff.expires_at)))

    def draw(self, countdown: Countdown) -> None:
        if not self.live:
            return
        line = msg("pair.waiting", left=format_left(countdown.left(time.monotonic())))
        # Pad over the previous line instead of ANSI codes: any terminal shows this right.
        click.echo("\r" + line.ljust(self._drawn), nl=False)
        self._drawn = len(line)

    def tick(self, countdown: Countdown, state: SlotState) -> None:
        if state.state == OPEN:
            self.draw(countdown)

    def end_wait(self) -> None:
        if self._drawn:
            click.echo("")
            self._drawn = 0


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
