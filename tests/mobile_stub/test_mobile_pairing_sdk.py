"""``sync_client.pairing``: the two halves of the handoff and the PC's wait, on the real server.

Also the relay's promise: the server never holds anything that decrypts without the QR key.
"""

from __future__ import annotations

import base64
import time

import pytest
from mobile_stub_support import CUSTOMER_A, LOGIN_PASSWORD, Customer, World

from sync_client.api import SlotState, SyncClient
from sync_client.envelope import MAX_PLAINTEXT_BYTES, new_relay_key, open_envelope
from sync_client.errors import EnvelopeError, InvalidInput, QrPayloadError, ServerRefused
from sync_client.pairing import receive_pfx, same_server, send_pfx, wait_for_outcome
from sync_client.qr import build_pair_payload, parse_pair_payload


def _phone(world: World, customer_id: str = CUSTOMER_A) -> SyncClient:
    client = SyncClient(world.http)
    client.login(customer_id, LOGIN_PASSWORD, device_kind="mobile")
    return client


def test_handoff_carries_slot_and_payload_and_hides_the_key(world: World, alice: Customer) -> None:
    handoff = world.send(alice)

    payload = parse_pair_payload(handoff.payload)
    assert payload.slot_id == handoff.slot_id
    assert payload.server_url == alice.pc.server_url
    assert handoff.expires_at > world.clock.now
    key_text = handoff.payload.split("#k=")[1]
    for shown in (repr(handoff), str(handoff)):
        assert key_text not in shown and handoff.payload not in shown
        assert handoff.slot_id in shown


def test_the_server_holds_nothing_that_decrypts_without_the_qr_key(
    world: World, alice: Customer
) -> None:
    handoff = world.send(alice)
    key = parse_pair_payload(handoff.payload).key
    row = world.slot_row(handoff.slot_id)
    assert row is not None and row.ciphertext is not None
    stored = row.ciphertext

    assert alice.pfx_bytes not in stored
    bound = {
        "origin": alice.pc.server_url,
        "slot_id": handoff.slot_id,
        "customer_id": CUSTOMER_A,
        "certificate_fingerprint": alice.fingerprint,
    }
    with pytest.raises(EnvelopeError):
        open_envelope(key=new_relay_key(), envelope=stored, **bound)
    # Positive control: the QR key does open what the server stores.
    assert open_envelope(key=key, envelope=stored, **bound) == alice.pfx_bytes

    # Nowhere in the database files (main file and write-ahead log): neither the PFX, in any
    # encoding a careless server might store, nor the key.
    secrets = [
        alice.pfx_bytes[:64],
        base64.b64encode(alice.pfx_bytes)[:64],
        key,
        base64.urlsafe_b64encode(key).rstrip(b"="),
        base64.b64encode(key),
        key.hex().encode(),
    ]
    files = world.db_files
    assert files
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret not in data, path


def test_receive_opens_what_send_sealed_once(world: World, alice: Customer) -> None:
    handoff = world.send(alice)
    payload = parse_pair_payload(handoff.payload)
    phone = _phone(world)

    assert receive_pfx(phone, payload, customer_id=CUSTOMER_A) == alice.pfx_bytes
    with pytest.raises(ServerRefused) as spent:
        receive_pfx(phone, payload, customer_id=CUSTOMER_A)
    assert spent.value.code == "slot_spent"


def test_receive_asks_the_server_who_is_logged_in_when_not_told(
    world: World, alice: Customer
) -> None:
    payload = parse_pair_payload(world.send(alice).payload)
    assert receive_pfx(_phone(world), payload) == alice.pfx_bytes


def test_receive_for_another_customer_id_fails_to_decrypt(world: World, alice: Customer) -> None:
    payload = parse_pair_payload(world.send(alice).payload)
    with pytest.raises(EnvelopeError):
        receive_pfx(_phone(world), payload, customer_id="B123456780")


def test_receive_refuses_a_payload_for_another_server(world: World, alice: Customer) -> None:
    real = parse_pair_payload(world.send(alice).payload)
    foreign = parse_pair_payload(build_pair_payload("http://10.0.0.9:8000", real.slot_id, real.key))
    phone = _phone(world)

    with pytest.raises(QrPayloadError) as refused:
        receive_pfx(phone, foreign, customer_id=CUSTOMER_A)
    assert refused.value.code == "wrong_server"
    assert receive_pfx(phone, real, customer_id=CUSTOMER_A) == alice.pfx_bytes


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://testserver", "HTTP://TestServer/", True),
        ("http://host", "http://host:80", True),
        ("https://host", "https://host:443/", True),
        ("http://host", "https://host", False),
        ("http://host:8000", "http://host:8001", False),
        ("http://host/certsync", "http://host", False),
    ],
)
def test_same_server(a: str, b: str, same: bool) -> None:
    assert same_server(a, b) is same


def test_send_refuses_a_certificate_that_is_not_current(world: World, alice: Customer) -> None:
    with pytest.raises(ServerRefused) as refused:
        send_pfx(
            alice.pc,
            pfx_bytes=alice.pfx_bytes,
            customer_id=CUSTOMER_A,
            certificate_fingerprint="00" * 32,
        )
    assert refused.value.code == "certificate_not_current"


def test_send_refuses_an_oversized_file_before_opening_a_slot(
    world: World, alice: Customer
) -> None:
    before = len(world.requests)
    with pytest.raises(InvalidInput):
        send_pfx(
            alice.pc,
            pfx_bytes=b"\x30" * (MAX_PLAINTEXT_BYTES + 1),
            customer_id=CUSTOMER_A,
            certificate_fingerprint=alice.fingerprint,
        )
    assert len(world.requests) == before


def test_wait_reports_the_claim(world: World, alice: Customer) -> None:
    handoff = world.send(alice)
    receive_pfx(_phone(world), parse_pair_payload(handoff.payload), customer_id=CUSTOMER_A)
    ticks: list[SlotState] = []

    outcome = wait_for_outcome(
        alice.pc, handoff.slot_id, deadline=_FAR, on_tick=ticks.append, clock=_steady
    )

    assert outcome == "claimed"
    assert [t.state for t in ticks] == ["claimed"]


def test_wait_reports_expiry_and_cancellation(world: World, alice: Customer) -> None:
    expiring, cancelled = world.send(alice), world.send(alice)
    alice.pc.cancel_slot(cancelled.slot_id)
    world.clock.advance(seconds=121)

    assert wait_for_outcome(alice.pc, expiring.slot_id, deadline=_FAR, clock=_steady) == ("expired")
    assert wait_for_outcome(alice.pc, cancelled.slot_id, deadline=_FAR, clock=_steady) == (
        "cancelled"
    )


def test_wait_stops_at_the_deadline_with_the_slot_still_open(world: World, alice: Customer) -> None:
    handoff = world.send(alice)
    seen: list[SlotState] = []
    started = time.monotonic()

    outcome = wait_for_outcome(
        alice.pc, handoff.slot_id, deadline=started + 0.3, on_tick=seen.append, wait_step=0.1
    )

    assert outcome == "open"
    assert time.monotonic() - started >= 0.25
    # Each round is a long-poll that the server holds for wait_step: a handful of requests,
    # never a tight loop.
    assert 2 <= len(seen) <= 4
    assert all(s.state == "open" for s in seen)


def test_wait_step_must_be_positive(world: World, alice: Customer) -> None:
    with pytest.raises(InvalidInput):
        wait_for_outcome(alice.pc, "A" * 22, deadline=_FAR, wait_step=0)


def _steady() -> float:
    """A clock that never reaches ``_FAR``: the wait ends only with the slot's outcome."""
    return 0.0


_FAR = 1e9
