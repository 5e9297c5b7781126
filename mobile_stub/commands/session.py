"""``login ID`` and ``logout``: the phone's mobile session, which every other command uses."""

from __future__ import annotations

import contextlib

import click

from mobile_stub.app import App, pass_app
from mobile_stub.errors import PhoneStoreCorrupt
from mobile_stub.messages import msg
from mobile_stub.render import Rendered, render_login, render_logout
from mobile_stub.store import saved_security_setting
from sync_client.cli_runner import Answer
from sync_client.errors import ClientError
from sync_client.national_id import normalize_national_id


@click.command(short_help="Log the phone in as CUSTOMER_ID (the national ID).")
@click.argument("customer_id")
@click.option(
    "--accept-new-ca",
    is_flag=True,
    help="Trust the server's new certificate authority (only after the brokerage confirmed "
    "that it changed).",
)
@pass_app
def login(app: App, customer_id: str, accept_new_ca: bool) -> Answer:
    """Log the phone in as CUSTOMER_ID, the national ID: a mobile session.

    Prompts: 1. login password.

    The first login to a server pins its certificate authority (the fingerprint is shown);
    a server with another one is refused [ca_changed] unless --accept-new-ca is given.
    """
    from mobile_stub.session import (
        PhoneSession,
        keep_login_pin,
        load_session,
        pin_login_ca,
        pin_sentence,
        save_session,
    )
    from sync_client.pairing import same_server

    customer_id = normalize_national_id(customer_id)
    password = app.secret(msg("phone.prompt.login_password"))
    server_url = app.login_server()
    with app.connect(server_url, verify_ca=False) as client:
        pin = pin_login_ca(app.home, client, server_url, accept_new=accept_new_ca)
        result = client.login(customer_id, password, device_kind="mobile")
    keep_login_pin(app.home, pin)
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
    data, text = render_login(server_url, result, setting)
    said = pin_sentence(pin)
    data = {**data, "ca_fingerprint": pin.shown, "ca_pin": pin.outcome.value}
    return app.answer(Rendered(data, f"{said}\n{text}" if said else text))


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
