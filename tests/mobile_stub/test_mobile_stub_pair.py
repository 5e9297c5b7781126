"""``mobile-stub pair`` against the real server: the handoff, and every refusal leaving the
phone's keystore exactly as it was."""

from __future__ import annotations

import base64
import logging
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from mobile_stub_support import (
    CUSTOMER_A,
    CUSTOMER_B,
    PFX_PASSWORD,
    Customer,
    Phone,
    World,
)

from sync_client.envelope import new_relay_key, seal
from sync_client.pfx import load_pfx
from sync_client.qr import build_pair_payload, parse_pair_payload, render_qr_png
from sync_server.revocation import revoke


def _paired_phone(world: World, phone: Phone, customer: Customer) -> None:
    """Log the phone in and give it the customer's certificate (a precondition, checked)."""
    phone.login(customer.customer_id)
    result = phone.pair(world.send(customer).payload)
    assert result.rc == 0, result.err


def test_pair_end_to_end_then_order_signed_by_the_phone(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)
    handoff = world.send(alice)

    result = phone.pair(handoff.payload)

    assert result.rc == 0, result.err
    assert result.unread_input == ""  # the PFX password was read
    data = result.json
    assert data["paired"] is True
    assert data["customer_id"] == CUSTOMER_A
    assert data["fingerprint_sha256"] == alice.fingerprint
    assert data["reused_pending"] is False
    stored = phone.home / "keystore" / f"{CUSTOMER_A}.pfx"
    assert stored.read_bytes() == alice.pfx_bytes  # as the PC sent it, still password-protected
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert load_pfx(stored.read_bytes(), PFX_PASSWORD).fingerprint_sha256 == alice.fingerprint
    assert not (phone.home / "pending" / f"{CUSTOMER_A}.json").exists()
    slot = world.slot_row(handoff.slot_id)
    assert slot is not None and slot.state == "claimed" and slot.ciphertext is None

    status = phone.run("status")
    assert status.rc == 0, status.err
    assert status.json["verdict"] == "match"
    assert status.json["phone"]["serial"] == str(alice.cert.serial_number)

    order = phone.run(
        "order", "--symbol", "2330", "--side", "buy", "--qty", "1000", "--price", "612.50",
        input=PFX_PASSWORD + "\n",
    )  # fmt: skip
    assert order.rc == 0, order.err
    assert order.json["serial"] == str(alice.cert.serial_number)
    assert order.json["order_id"]


def test_pair_from_the_qr_png_the_pc_wrote(
    world: World, alice: Customer, phone: Phone, tmp_path: Path
) -> None:
    phone.login(CUSTOMER_A)
    handoff = world.send(alice)
    png = tmp_path / "pair.png"
    render_qr_png(handoff.payload, png)

    result = phone.run("pair", "--qr-png", str(png), input=PFX_PASSWORD + "\n")

    assert result.rc == 0, result.err
    assert result.json["slot_id"] == handoff.slot_id
    assert phone.keystore_snapshot()[f"{CUSTOMER_A}.pfx"] == alice.pfx_bytes


def test_payload_from_standard_input_then_password(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)
    handoff = world.send(alice)

    result = phone.run("pair", "--payload", "-", input=f"{handoff.payload}\n{PFX_PASSWORD}\n")

    assert result.rc == 0, result.err


def test_second_claim_is_refused_as_spent(
    world: World, alice: Customer, make_phone: Callable[[str], Phone]
) -> None:
    first, second = make_phone("first"), make_phone("second")
    first.login(CUSTOMER_A)
    second.login(CUSTOMER_A)
    handoff = world.send(alice)
    assert first.pair(handoff.payload).rc == 0

    result = second.pair(handoff.payload)

    assert result.rc == 1
    assert result.code == "slot_spent"
    assert result.err.startswith("error: ") and result.err.rstrip().endswith("[slot_spent]")
    assert second.keystore_snapshot() == {}
    assert not (second.home / "pending").exists()


def test_other_customer_is_refused_and_the_slot_still_works(
    world: World, alice: Customer, make_phone: Callable[[str], Phone]
) -> None:
    world.add_customer(CUSTOMER_B)
    bobs, alices = make_phone("bob"), make_phone("alice")
    bobs.login(CUSTOMER_B)
    handoff = world.send(alice)

    refused = bobs.pair(handoff.payload)

    assert refused.rc == 1 and refused.code == "slot_wrong_customer"
    assert bobs.keystore_snapshot() == {}
    slot = world.slot_row(handoff.slot_id)
    assert slot is not None and slot.state == "open" and slot.ciphertext is not None
    alices.login(CUSTOMER_A)
    assert alices.pair(handoff.payload).rc == 0


def test_expired_slot_is_refused(world: World, alice: Customer, phone: Phone) -> None:
    phone.login(CUSTOMER_A)
    handoff = world.send(alice)
    world.clock.advance(seconds=121)  # the default lifetime is 120 s

    result = phone.pair(handoff.payload)

    assert result.rc == 1 and result.code == "slot_expired"
    assert result.unread_input == PFX_PASSWORD + "\n"  # refused before any password prompt
    assert phone.keystore_snapshot() == {}
    slot = world.slot_row(handoff.slot_id)
    assert slot is not None and slot.ciphertext is None  # wiped on the refused claim


def test_cancelled_slot_is_refused(world: World, alice: Customer, phone: Phone) -> None:
    phone.login(CUSTOMER_A)
    handoff = world.send(alice)
    alice.pc.cancel_slot(handoff.slot_id)

    result = phone.pair(handoff.payload)

    assert result.rc == 1 and result.code == "slot_cancelled"


def test_tampered_ciphertext_is_detected_and_the_keystore_is_unchanged(
    world: World, alice: Customer, phone: Phone
) -> None:
    _paired_phone(world, phone, alice)
    before = phone.keystore_snapshot()
    handoff = world.send(alice)
    world.flip_stored_ciphertext(handoff.slot_id, index=40)

    result = phone.pair(handoff.payload)

    assert result.rc == 1 and result.code == "envelope_invalid"
    assert result.unread_input == PFX_PASSWORD + "\n"
    assert phone.keystore_snapshot() == before
    assert not (phone.home / "pending" / f"{CUSTOMER_A}.json").exists()


def test_tampered_slot_id_in_the_payload_is_refused(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)
    first = parse_pair_payload(world.send(alice).payload)
    second = parse_pair_payload(world.send(alice).payload)
    # Another real slot of the same customer, with the first slot's key: the claim succeeds
    # (and spends the second slot) but the slot id in the AAD makes decryption fail.
    swapped = build_pair_payload(first.server_url, second.slot_id, first.key)
    result = phone.pair(swapped)
    assert result.rc == 1 and result.code == "envelope_invalid"

    # A slot id that no slot has.
    other = "B" if first.slot_id[0] != "B" else "C"
    unknown = build_pair_payload(first.server_url, other + first.slot_id[1:], first.key)
    result = phone.pair(unknown)
    assert result.rc == 1 and result.code == "slot_not_found"

    # Not a slot id at all.
    malformed = first.text.replace(first.slot_id, first.slot_id[:-1] + "!")
    result = phone.pair(malformed)
    assert result.rc == 1 and result.code == "qr_payload_invalid"

    assert phone.keystore_snapshot() == {}
    # The first slot was never touched by any of this and still pairs.
    assert phone.pair(first.text).rc == 0


def test_payload_for_another_server_is_refused_before_any_request(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)
    real = parse_pair_payload(world.send(alice).payload)
    foreign = build_pair_payload("https://evil.example", real.slot_id, real.key)
    sent_before = len(world.requests)

    result = phone.pair(foreign)

    assert result.rc == 1 and result.code == "qr_other_server"
    assert "https://evil.example" in result.json["message"]
    assert len(world.requests) == sent_before
    assert phone.pair(real.text).rc == 0


def test_wrong_password_keeps_the_pairing_and_retry_needs_no_new_claim(
    world: World, alice: Customer, phone: Phone
) -> None:
    _paired_phone(world, phone, alice)
    before = phone.keystore_snapshot()
    handoff = world.send(alice)

    wrong = phone.pair(handoff.payload, password="not-the-password")

    assert wrong.rc == 1 and wrong.code == "wrong_password"
    assert "--retry" in wrong.json["message"]
    assert phone.keystore_snapshot() == before
    pending = phone.home / "pending" / f"{CUSTOMER_A}.json"
    assert stat.S_IMODE(pending.stat().st_mode) == 0o600
    assert phone.run("status").json["pending_pairing"] is True

    claims_before = [p for p in world.request_paths() if p.endswith("/claim")]
    again = phone.run("pair", "--retry", input="still-wrong\n")
    assert again.rc == 1 and again.code == "wrong_password"
    retried = phone.run("pair", "--retry", input=PFX_PASSWORD + "\n")

    assert retried.rc == 0, retried.err
    assert retried.json["slot_id"] == handoff.slot_id
    assert [p for p in world.request_paths() if p.endswith("/claim")] == claims_before
    assert not pending.exists()
    assert phone.run("pair", "--retry", input=PFX_PASSWORD + "\n").code == "no_pending_pairing"


def test_scanning_the_same_code_again_reuses_the_received_file(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)
    handoff = world.send(alice)
    assert phone.pair(handoff.payload, password="typo").code == "wrong_password"
    claims = len([p for p in world.request_paths() if p.endswith("/claim")])

    result = phone.pair(handoff.payload)

    assert result.rc == 0, result.err
    assert result.json["reused_pending"] is True
    assert len([p for p in world.request_paths() if p.endswith("/claim")]) == claims


def test_give_up_discards_the_received_file(world: World, alice: Customer, phone: Phone) -> None:
    phone.login(CUSTOMER_A)
    handoff = world.send(alice)
    assert phone.pair(handoff.payload, password="typo").code == "wrong_password"

    given_up = phone.run("pair", "--give-up")

    assert given_up.rc == 0 and given_up.json["discarded"] is True
    assert phone.run("pair", "--retry", input=PFX_PASSWORD + "\n").code == "no_pending_pairing"
    assert phone.run("pair", "--give-up").json["discarded"] is False
    assert phone.pair(handoff.payload).code == "slot_spent"  # the slot was spent by the claim
    assert phone.keystore_snapshot() == {}


def test_a_certificate_of_another_customer_is_not_stored(
    world: World, alice: Customer, phone: Phone
) -> None:
    bob = world.add_customer(CUSTOMER_B)
    phone.login(CUSTOMER_A)
    # A PC that seals the wrong file into Alice's slot: the relay cannot tell, the phone must.
    slot = alice.pc.open_slot(certificate_fingerprint=alice.fingerprint)
    key = new_relay_key()
    alice.pc.upload_ciphertext(
        slot.slot_id,
        seal(
            key=key,
            origin=alice.pc.server_url,
            slot_id=slot.slot_id,
            customer_id=CUSTOMER_A,
            certificate_fingerprint=alice.fingerprint,
            plaintext=bob.pfx_bytes,
        ),
    )

    result = phone.pair(build_pair_payload(alice.pc.server_url, slot.slot_id, key))

    assert result.rc == 1 and result.code == "pfx_wrong_customer"
    assert phone.keystore_snapshot() == {}
    assert not (phone.home / "pending" / f"{CUSTOMER_A}.json").exists()


def test_a_certificate_revoked_meanwhile_is_not_stored(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)
    handoff = world.send(alice)
    revoke(world.host, str(alice.cert.serial_number), reason="key_compromise", actor="test")

    result = phone.pair(handoff.payload)

    assert result.rc == 1 and result.code == "certificate_not_current"
    assert phone.keystore_snapshot() == {}
    assert not (phone.home / "pending" / f"{CUSTOMER_A}.json").exists()


def test_pair_needs_a_login_and_exactly_one_source(phone: Phone, world: World) -> None:
    assert phone.run("pair", "--retry").code == "not_logged_in"
    usage = phone.run("pair")
    assert usage.rc == 2 and usage.code == "usage"
    both = phone.run("pair", "--retry", "--give-up")
    assert both.rc == 2
    assert len(both.err.strip().splitlines()) == 1


def test_relay_key_never_reaches_the_server_or_a_log(
    world: World,
    alice: Customer,
    make_phone: Callable[[str], Phone],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    phone, intruder = make_phone("alice"), make_phone("bob")
    world.add_customer(CUSTOMER_B)
    phone.login(CUSTOMER_A)
    intruder.login(CUSTOMER_B)
    handoff = world.send(alice)
    key = parse_pair_payload(handoff.payload).key
    forms = [
        key,
        base64.urlsafe_b64encode(key).rstrip(b"="),
        base64.b64encode(key),
        key.hex().encode(),
    ]
    assert intruder.pair(handoff.payload).code == "slot_wrong_customer"
    assert phone.pair(handoff.payload, password="typo").code == "wrong_password"
    assert phone.run("pair", "--retry", input=PFX_PASSWORD + "\n").rc == 0
    assert phone.pair(handoff.payload).code == "slot_spent"

    assert world.requests, "the hook saw no requests"
    for request in world.requests:
        seen = [
            str(request.url).encode(),
            request.url.raw_path,
            request.content,
            *(f"{k}: {v}".encode() for k, v in request.headers.items()),
        ]
        for form in forms:
            assert not any(form in part for part in seen), request.url
    logged = "\n".join(record.getMessage() for record in caplog.records).encode()
    assert logged, "no log lines were captured at all"
    for form in forms:
        assert form not in logged
    assert "Traceback" not in caplog.text
