"""``pair``: function 5, upload to phone (憑證上傳手機).

    check_pairing (as ``status``) ─▶ the PFX password ─▶ start_pairing (slot + sealed upload)
    ─▶ QR code (terminal + PNG) ─▶ wait_for_phone ─▶ claimed / expired / cancelled
    (or --timeout, Ctrl-C: cancel_pairing)

The pairing itself is ``pc_client.operations.pair``'s; this command adds what only a command
line has: the PNG file, the countdown on a terminal, Ctrl-C.

The QR image holds the relay key, so it is written 0600 and removed as soon as this command
stops watching the slot, however the slot ended, also at a ``--qr-png`` path the user chose:
once the slot has ended the image is worthless, and a file holding a key should not outlive
its use. Only ``--no-wait`` leaves it, since the slot is still open then (and it is useless two
minutes later). The key is printed nowhere else: no message, no log line; only ``--json``
shows the payload, for testers who hand it to ``mobile-stub pair --payload``.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import click

from pc_client.app import App, Result
from pc_client.errors import PcCode
from pc_client.messages import PAIR_TIMEOUT_WITH_NO_WAIT, msg, pair_png_text
from pc_client.operations.pair import (
    EXPIRY_GRACE,
    STOPPED_AT_DEADLINE,
    Countdown,
    Pairing,
    PairingOutcome,
    cancel_pairing,
    check_pairing,
    measure_countdown,
    start_pairing,
    wait_for_phone,
)
from pc_client.render import show_time
from sync_client.cli_runner import EXIT_ERROR, EXIT_INTERRUPTED
from sync_client.codes import ErrorCode
from sync_client.errors import ClientCode, InvalidInput
from sync_client.fsio import write_file_atomic
from sync_client.i18n import os_reason
from sync_client.pairing import CLAIMED, DEFAULT_WAIT_STEP, EXPIRED, OPEN
from sync_client.protocol import format_time

__all__ = [
    "EXPIRY_GRACE",
    "QR_PNG_NAME",
    "Countdown",
    "PayloadText",
    "format_left",
    "measure_countdown",
    "pair",
]

QR_PNG_NAME = "pair-qr.png"
# A claim wakes the long-poll at once whatever the step; on a terminal a shorter step only
# redraws the time left more often. Elsewhere nothing is redrawn, so the SDK's step will do.
COUNTDOWN_STEP = 5.0
STOPPED_BY_INTERRUPT = "interrupt"


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
    "--qr-theme",
    type=click.Choice(["light", "dark"]),
    default=None,
    help="The terminal's background, so the QR code is drawn to scan "
    "[default: from $COLORFGBG, else dark].",
)
@click.option(
    "--timeout",
    metavar="S",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Stop waiting after S seconds and cancel the QR code [default: until it expires].",
)
@click.pass_obj
def pair(
    app: App, qr_png: Path | None, no_wait: bool, qr_theme: str | None, timeout: float | None
) -> Result:
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
        raise click.UsageError(msg(PAIR_TIMEOUT_WITH_NO_WAIT))
    png_path = (qr_png or app.store.home / QR_PNG_NAME).absolute()
    checked = check_pairing(app)
    _check_png_path(png_path)
    password = app.prompter.secret(msg("prompt.pfx_password"))
    pairing = start_pairing(app, password=password, checked=checked)
    light = qr_theme == "light" if qr_theme else bool(app.options.light_terminal)
    screen = _Screen(enabled=not app.options.as_json, light_terminal=light)
    data = _answer(pairing, png_path)
    keep_png = False
    try:
        # From here on the slot is open: any failure (or Ctrl-C) cancels it.
        with _cancel_on_failure(app, pairing):
            _write_png(pairing, png_path)
            screen.show_qr(pairing, png_path, no_wait=no_wait)
            if no_wait:
                keep_png = True  # the QR code still works: the image is the user's now
                return Result(
                    {**data, "outcome": OPEN, "qr_png_removed": False},
                    [msg("pair.no_wait", until=show_time(pairing.expires_at))],
                )
            outcome, stopped_by = _wait(app, pairing, screen, timeout)
    finally:
        screen.end_wait()
        if not keep_png:
            _remove_png(png_path)
    data.update(outcome=outcome, qr_png_removed=not png_path.exists())
    return _report(data, outcome=outcome, stopped_by=stopped_by, pairing=pairing, timeout=timeout)


# -- steps -------------------------------------------------------------------------------------


def _check_png_path(png_path: Path) -> None:
    """The image must be writable where it goes, before the password is asked."""
    if png_path.is_dir():
        raise InvalidInput(msg("pair.png_is_folder", path=png_path), code=PcCode.CANNOT_WRITE)
    if not png_path.parent.is_dir():
        raise InvalidInput(
            msg("pair.png_no_folder", path=png_path.parent), code=PcCode.CANNOT_WRITE
        )


def _write_png(pairing: Pairing, path: Path) -> None:
    try:
        write_file_atomic(path, pairing.qr_png_bytes(), mode=0o600)
    except OSError as exc:
        raise InvalidInput(
            msg("store.cannot_write", path=path, reason=os_reason(exc)),
            code=PcCode.CANNOT_WRITE,
        ) from None


def _wait(
    app: App, pairing: Pairing, screen: _Screen, timeout: float | None
) -> tuple[str, str | None]:
    """Wait for the slot's end: (final state, ``"timeout"``/``"interrupt"``/``None``).

    When the PC stops watching (the deadline, Ctrl-C) the slot is cancelled: a QR code nobody
    watches must not keep working.
    """
    screen.draw(pairing.seconds_left(time.monotonic()))
    try:
        outcome = wait_for_phone(
            app,
            pairing,
            timeout=timeout,
            on_tick=screen.tick,
            wait_step=COUNTDOWN_STEP if screen.live else DEFAULT_WAIT_STEP,
        )
    except KeyboardInterrupt:
        return cancel_pairing(app, pairing).state, STOPPED_BY_INTERRUPT
    return outcome.state, outcome.stopped_by


@contextlib.contextmanager
def _cancel_on_failure(app: App, pairing: Pairing) -> Iterator[None]:
    """Cancel the slot (best effort) if the block fails, then let the failure through."""
    try:
        yield
    except BaseException:
        cancel_pairing(app, pairing)
        raise


def _remove_png(path: Path) -> None:
    # Reported through ``qr_png_removed``; a failure here must not hide the pairing's outcome.
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


# -- what the user sees ------------------------------------------------------------------------


def _answer(pairing: Pairing, png: Path) -> dict[str, Any]:
    """The ``--json`` fields of every outcome. ``payload`` carries the relay key."""
    return {
        "customer_id": pairing.customer_id,
        "serial": str(pairing.serial),
        "serial_display": pairing.serial_display,
        "fingerprint_sha256": pairing.fingerprint_sha256,
        "slot_id": pairing.slot_id,
        "expires_at": format_time(pairing.expires_at),
        "payload": PayloadText(pairing.payload),
        "qr_png": str(png),
    }


def _report(
    data: dict[str, Any],
    *,
    outcome: str,
    stopped_by: str | None,
    pairing: Pairing,
    timeout: float | None,
) -> Result:
    if outcome == CLAIMED:
        # Even after Ctrl-C or --timeout: if the phone took it first, that is what happened.
        return Result(data, [msg("pair.claimed"), msg("pair.claimed_next")])
    code: StrEnum
    exit_code = EXIT_ERROR
    if stopped_by == STOPPED_BY_INTERRUPT:
        code, text, exit_code = ClientCode.INTERRUPTED, msg("pair.interrupted"), EXIT_INTERRUPTED
    elif outcome == EXPIRED:
        code, text = ErrorCode.SLOT_EXPIRED, msg("pair.expired", id=pairing.customer_id)
    elif stopped_by == STOPPED_AT_DEADLINE and timeout is not None:
        code, text = PcCode.PAIR_TIMEOUT, msg("pair.timeout", seconds=f"{timeout:g}")
    else:
        code, text = ErrorCode.SLOT_CANCELLED, msg("pair.cancelled")
    # The command line prints data["message"] as the one error line (stderr); nothing else.
    return Result({**data, "error": code, "message": text}, [], exit_code=exit_code)


class _Screen:
    """The QR code and the time left, printed while the command runs (nothing with --json).

    On a terminal the time left is redrawn in place at each long-poll answer; in a log or a
    pipe the waiting line is printed once, since a log gains nothing from a countdown.
    """

    def __init__(self, *, enabled: bool, light_terminal: bool) -> None:
        self.enabled = enabled
        self.light_terminal = light_terminal
        self.live = enabled and _stdout_is_terminal()
        self._drawn = 0

    def show_qr(self, pairing: Pairing, png: Path, *, no_wait: bool) -> None:
        if not self.enabled:
            return
        click.echo(
            msg(
                "pair.intro",
                id=pairing.customer_id,
                serial=pairing.serial_display,
                until=show_time(pairing.not_after),
            )
        )
        click.echo(msg("pair.instructions", id=pairing.customer_id))
        click.echo("")
        click.echo(pairing.qr_terminal_text(light_terminal=self.light_terminal), nl=False)
        click.echo(pair_png_text(png, kept=no_wait))
        if not no_wait and not self.live:
            click.echo(msg("pair.waiting_until", until=show_time(pairing.expires_at)))

    def draw(self, seconds_left: float) -> None:
        if not self.live:
            return
        line = msg("pair.waiting", left=format_left(seconds_left))
        # Pad over the previous line instead of ANSI codes: any terminal shows this right.
        click.echo("\r" + line.ljust(self._drawn), nl=False)
        self._drawn = len(line)

    def tick(self, outcome: PairingOutcome) -> None:
        if outcome.state == OPEN:
            self.draw(outcome.seconds_left)

    def end_wait(self) -> None:
        if self._drawn:
            click.echo("")
            self._drawn = 0


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
