"""``pair``: receive the certificate the PC shows as a QR code (function 5, the phone's half)."""

from __future__ import annotations

from pathlib import Path

import click

from mobile_stub.app import App, pass_app
from mobile_stub.messages import msg
from mobile_stub.render import render_paired, render_pairing_given_up
from sync_client.cli_runner import Answer


@click.command(short_help="Receive the certificate that the PC shows as a QR code.")
@click.option(
    "--qr-png",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    default=None,
    help="Read the QR code from this image (the PNG that pc-client pair wrote).",
)
@click.option(
    "--payload",
    metavar="TEXT",
    default=None,
    help="The QR code's text (the pairing link); '-' reads it from the first input line.",
)
@click.option(
    "--retry", is_flag=True, help="Type the PFX password again for the certificate received."
)
@click.option("--give-up", is_flag=True, help="Discard a received certificate that did not open.")
@pass_app
def pair(app: App, qr_png: Path | None, payload: str | None, retry: bool, give_up: bool) -> Answer:
    """Receive the certificate that the PC shows as a QR code, and keep it on this phone.

    Give exactly one of --qr-png, --payload, --retry, --give-up. The phone must be logged in as
    the PC's customer. The QR code can be used once; if the PFX password is then mistyped, the
    received certificate is kept (still protected by its password) until `pair --retry` opens
    it or `pair --give-up` discards it. Scanning the same QR code again also reuses it.

    Prompts: 1. QR payload (only with --payload -); 2. PFX password (not with --give-up).
    """
    from mobile_stub.keystore import discard_pending, require_pending
    from mobile_stub.pairing import finish_pairing, pair_from_payload, refuse_other_server
    from mobile_stub.session import require_session
    from sync_client.qr import decode_qr_png, parse_pair_payload

    chosen = [qr_png is not None, payload is not None, retry, give_up]
    if sum(chosen) != 1:
        raise click.UsageError(msg("phone.pair.choose_one"))
    if give_up:
        session = require_session(app.home)
        discarded = discard_pending(app.home, session.customer_id)
        return app.answer(render_pairing_given_up(session.customer_id, discarded=discarded))
    parsed = None
    if not retry:
        if qr_png is not None:
            text = decode_qr_png(qr_png)
        elif payload == "-":
            text = app.secret(msg("phone.prompt.qr_payload"))
        else:
            assert payload is not None
            text = payload
        parsed = parse_pair_payload(text)
        # Before any connection, even to the session's own server: a QR code for another
        # server is refused having sent nothing at all.
        refuse_other_server(parsed, require_session(app.home))
    with app.session_client() as (session, client):
        if retry:
            pending = require_pending(app.home, session.customer_id)
            paired = finish_pairing(
                app.home,
                client,
                session,
                pending,
                read_password=lambda: app.secret(msg("phone.prompt.pfx_password")),
            )
        else:
            assert parsed is not None
            paired = pair_from_payload(
                app.home,
                client,
                session,
                parsed,
                read_password=lambda: app.secret(msg("phone.prompt.pfx_password")),
            )
    return app.answer(render_paired(paired))
