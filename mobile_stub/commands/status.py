"""``status``: the host's certificate beside the phone's, and the verdict."""

from __future__ import annotations

import click

from mobile_stub.app import App, pass_app
from mobile_stub.render import render_status
from mobile_stub.store import saved_security_setting
from sync_client.cli_runner import Answer


@click.command(short_help="Compare the host's certificate with this phone's.")
@pass_app
def status(app: App) -> Answer:
    """Show the host's certificate beside this phone's, and whether they match."""
    from mobile_stub.keystore import find_certificate, load_pending
    from mobile_stub.verdict import match_verdict

    with app.session_client() as (session, client):
        host = client.status()
    entry = find_certificate(app.home, session.customer_id)
    pending = load_pending(app.home, session.customer_id)
    saved = saved_security_setting(app.home, session.customer_id)
    verdict = match_verdict(
        host,
        on_phone=entry is not None,
        phone_fingerprint=entry.fingerprint_sha256 if entry is not None else None,
    )
    return app.answer(
        render_status(
            host,
            session,
            keystore_dir=app.home.keystore_dir,
            entry=entry,
            pending=pending is not None,
            saved=saved,
            verdict=verdict,
        )
    )
