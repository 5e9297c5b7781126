"""``operations.pair`` called directly, as the page does: start, poll or wait, cancel.

The phone is the real SDK (``receive_pfx``) on its own ``TestClient``; the QR image is read
back with zxing-cpp, a decoder independent of the encoder.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from pc_harness import CUSTOMER, LOGIN_PASSWORD, PFX_PASSWORD, Pc, Server
from sqlmodel import select
from starlette.testclient import TestClient

from pc_client.app import Context, Options
from pc_client.errors import CertificateMismatch
from pc_client.operations.pair import (
    PairingOutcome,
    cancel_pairing,
    check_pairing,
    poll_pairing,
    start_pairing,
    wait_for_phone,
)
from sync_client.api import SyncClient
from sync_client.errors import ServerRefused, WrongPfxPassword
from sync_client.pairing import receive_pfx
from sync_client.qr import decode_qr_png, parse_pair_payload
from sync_server.models import RelaySlot


@pytest.fixture
def ctx(enrolled: Pc) -> Context:
    options = Options.build(
        home=str(enrolled.home), server_url=None, as_json=False, debug=False,
        environ=enrolled.environ,
    )  # fmt: skip
    return Context(options, http=enrolled.server.http)


def _slots(server: Server) -> list[RelaySlot]:
    with server.host.db.read() as session:
        return list(session.exec(select(RelaySlot)).all())


def _phone(server: Server) -> SyncClient:
    phone = SyncClient(TestClient(server.http.app))
    phone.login(CUSTOMER, LOGIN_PASSWORD, device_kind="mobile")
    return phone


def test_refusals_open_no_slot(ctx: Context, enrolled: Pc, server: Server) -> None:
    with pytest.raises(WrongPfxPassword):
        start_pairing(ctx, password="wrongpass1")
    server.revoke(enrolled.open_pfx(PFX_PASSWORD).serial)
    with pytest.raises(CertificateMismatch):
        check_pairing(ctx)
    with pytest.raises(CertificateMismatch):
        start_pairing(ctx, password=PFX_PASSWORD)
    assert _slots(server) == []


def test_start_show_poll_and_the_phone_takes_it(
    ctx: Context, enrolled: Pc, server: Server, tmp_path: Path
) -> None:
    pairing = start_pairing(ctx, password=PFX_PASSWORD, checked=check_pairing(ctx))

    assert pairing.payload not in repr(pairing) and "#k=" not in repr(pairing)
    png = tmp_path / "qr.png"
    png.write_bytes(pairing.qr_png_bytes())
    assert decode_qr_png(png) == pairing.payload
    assert "\u2588" in pairing.qr_terminal_text() or "\u2584" in pairing.qr_terminal_text()
    assert 100 < pairing.seconds_left(time.monotonic()) <= 120
    assert pairing.serial == enrolled.open_pfx(PFX_PASSWORD).serial
    waiting = poll_pairing(ctx, pairing)
    assert (waiting.state, waiting.stopped_by, waiting.ended) == ("open", None, False)

    received = receive_pfx(_phone(server), parse_pair_payload(pairing.payload))

    assert received == enrolled.pfx_path().read_bytes()
    done = poll_pairing(ctx, pairing)
    assert (done.state, done.ended) == ("claimed", True)


def test_cancel_stops_the_qr_code(ctx: Context, server: Server) -> None:
    pairing = start_pairing(ctx, password=PFX_PASSWORD)

    cancelled = cancel_pairing(ctx, pairing)

    assert (cancelled.state, cancelled.stopped_by) == ("cancelled", "cancel")
    with pytest.raises(ServerRefused) as refused:
        receive_pfx(_phone(server), parse_pair_payload(pairing.payload))
    assert refused.value.code == "slot_cancelled"
    assert poll_pairing(ctx, pairing).state == "cancelled"


def test_a_poll_past_the_deadline_cancels(ctx: Context) -> None:
    pairing = start_pairing(ctx, password=PFX_PASSWORD)
    started = pairing.countdown.started

    assert poll_pairing(ctx, pairing, timeout=30, clock=lambda: started + 29).state == "open"
    late = poll_pairing(ctx, pairing, timeout=30, clock=lambda: started + 31)

    assert (late.state, late.stopped_by) == ("cancelled", "timeout")


def test_waiting_in_a_thread_while_the_phone_scans(ctx: Context, server: Server) -> None:
    pairing = start_pairing(ctx, password=PFX_PASSWORD)
    ticks: list[PairingOutcome] = []
    outcome: list[PairingOutcome] = []
    waiter = threading.Thread(
        target=lambda: outcome.append(
            wait_for_phone(ctx, pairing, on_tick=ticks.append, wait_step=1.0)
        ),
        daemon=True,
    )
    waiter.start()

    receive_pfx(_phone(server), parse_pair_payload(pairing.payload))
    waiter.join(timeout=20)

    assert not waiter.is_alive()
    assert [(o.state, o.stopped_by) for o in outcome] == [("claimed", None)]
    assert ticks and ticks[-1].state == "claimed"


def test_a_cancel_from_another_thread_ends_the_wait_at_once(ctx: Context) -> None:
    pairing = start_pairing(ctx, password=PFX_PASSWORD)
    outcome: list[PairingOutcome] = []
    waiter = threading.Thread(
        target=lambda: outcome.append(wait_for_phone(ctx, pairing)), daemon=True
    )
    waiter.start()
    time.sleep(0.2)

    began = time.monotonic()
    cancel_pairing(ctx, pairing)
    waiter.join(timeout=20)

    assert not waiter.is_alive() and time.monotonic() - began < 10
    assert [o.state for o in outcome] == ["cancelled"]


def test_the_wait_stops_at_its_timeout_and_cancels(ctx: Context, server: Server) -> None:
    pairing = start_pairing(ctx, password=PFX_PASSWORD)

    outcome = wait_for_phone(ctx, pairing, timeout=0.3, wait_step=0.1)

    assert (outcome.state, outcome.stopped_by) == ("cancelled", "timeout")
    assert [slot.state for slot in _slots(server)] == ["cancelled"]
