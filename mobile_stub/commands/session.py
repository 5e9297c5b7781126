"""``login ID`` and ``logout``: the phone's mobile session, which every other command uses."""

from __future__ import annotations

import contextlib

import click

from mobile_stub.app import App, pass_app
from mobile_stub.errors import PhoneStoreCorrupt
from mobile_stub.messages import msg
from mobile_stub.render import render_login, render_logout
from mobile_stub.store import saved_security_setting
from sync_client.cli_runner import Answer
from sync_client.errors import ClientError
from sync_client.national_id import normalize_national_id


@click.command(short_help="Log the phone in as CUSTOMER_ID (the national ID).")
@click.argument("customer_id")
@pass_app
def login(app: App, customer_id: str) -> Answer:
    """Log the phone in as CUSTOMER_ID, the national ID: a mobile session.

    Prompts: 1. login password.
    """
    from mobile_stub.session import PhoneSession, load_session, save_session
    from sync_client.pairing import same_server

    customer_id = normalize_national_id(customer_id)
    password = app.secret(msg("phone.prompt.login_password"))
    server_url = app.login_server()
    with app.connect(server_url) as client:
        result = client.login(customer_id, password, device_kind="mobile")
    try:
        previous = load_session(app.home)
    except PhoneStoreCorrupt:
        previous = None  # a damaged session file is simply replaced
    if previous is not None and same_server(previous.server_url, server_url):
        # Best effort: the old token should not outlive the login that replaced it.
        with contextlib.suppress(ClientError), app.connect(server_url, previous.token) as old:
            old.logout()
    setting = saved_security_setting(app.home, result.customer_id)
    save_session(
        app.home,
        PhoneSession(
            server_url=server_url,
            customer_id=result.customer_id,
            token=result.token,
            expires_at=result.expires_at,
            security_setting=setting,
        ),
    )
    return app.answer(render_login(server_url, result, setting))


@click.command(short_help="End the phone session.")
@pass_app
def logout(app: App) -> Answer:
    """End the phone session, on the server too; the certificate on the phone and a received
    one waiting for its password stay."""
    from mobile_stub.session import end_session, load_session

    session = load_session(app.home)
    notified = False
    if session is not None:
        try:
            with app.connect(session.server_url, session.token) as client:
                client.logout()
            notified = True
        except ClientError:
            # The local session ends regardless: an unreachable server or an already expired
            # token must not keep the phone logged in.
            notified = False
    end_session(app.home)
    return app.answer(render_logout(session, notified=notified))
