"""What binds a pairing to its own server, slot, customer and certificate, and the CA check.

A PC (or anyone who can write the relay's database) that seals an envelope for another slot,
customer, certificate or server gets nothing past the phone: the envelope does not open
(``envelope_invalid``). A PFX whose certificate names the customer but was not issued by the
host's CA (``GET /api/v1/ca``) is refused (``pfx_foreign_ca``) and discarded. In every case the
phone's keystore is as it was and no pending pairing is left behind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from mobile_stub_support import (
    CUSTOMER_A,
    CUSTOMER_B,
    FAST_PFX_ITERATIONS,
    PFX_PASSWORD,
    Customer,
    Phone,
    World,
)

from sync_client.envelope import new_relay_key, seal
from sync_client.keys import build_csr_pem, generate_private_key
from sync_client.pfx import build_pfx
from sync_client.qr import build_pair_payload
from sync_server.ca import CA, new_serial

OTHER_SLOT = "AAAAAAAAAAAAAAAAAAAAAA"


def _paired_once(world: World, phone: Phone, alice: Customer) -> dict[str, bytes]:
    """Alice's phone with her certificate already stored: the keystore a refusal must keep."""
    phone.login(CUSTOMER_A)
    assert phone.pair(world.send(alice).payload).rc == 0
    before = phone.keystore_snapshot()
    assert f"{CUSTOMER_A}.pfx" in before
    return before


def _fill_slot(alice: Customer, plaintext: bytes, **binding: Any) -> str:
    """Open a slot as Alice's PC, seal ``plaintext`` with ``binding`` over the right values,
    upload it; the QR text for that slot on Alice's server."""
    slot = alice.pc.open_slot(certificate_fingerprint=alice.fingerprint)
    key = new_relay_key()
    bound = {
        "origin": alice.pc.server_url,
        "slot_id": slot.slot_id,
        "customer_id": CUSTOMER_A,
        "certificate_fingerprint": alice.fingerprint,
    } | binding
    alice.pc.upload_ciphertext(slot.slot_id, seal(key=key, plaintext=plaintext, **bound))
    return build_pair_payload(alice.pc.server_url, slot.slot_id, key)


def _assert_nothing_kept(phone: Phone, before: dict[str, bytes]) -> None:
    assert phone.keystore_snapshot() == before
    assert not (phone.home / "pending" / f"{CUSTOMER_A}.json").exists()


def test_the_right_binding_pairs(world: World, alice: Customer, phone: Phone) -> None:
    # The positive control for the refusals below: the same helper, nothing changed.
    before = _paired_once(world, phone, alice)
    result = phone.pair(_fill_slot(alice, alice.pfx_bytes))
    assert result.rc == 0, result.err
    assert phone.keystore_snapshot() == before  # the same certificate, stored again


@pytest.mark.parametrize(
    "binding",
    [
        {"slot_id": OTHER_SLOT},
        {"customer_id": CUSTOMER_B},
        {"certificate_fingerprint": "ab" * 32},
        {"origin": "https://evil.example"},
        {"origin": "http://testserver:8080"},
        {"origin": "https://testserver"},
    ],
    ids=[
        "other-slot",
        "other-customer",
        "other-certificate",
        "other-host",
        "other-port",
        "other-scheme",
    ],
)
def test_an_envelope_sealed_for_anything_else_does_not_open(
    world: World, alice: Customer, phone: Phone, binding: dict[str, str]
) -> None:
    before = _paired_once(world, phone, alice)

    result = phone.pair(_fill_slot(alice, alice.pfx_bytes, **binding))

    assert result.rc == 1 and result.code == "envelope_invalid"
    _assert_nothing_kept(phone, before)


def _foreign_pfx(foreign: CA, *, chain: list[x509.Certificate]) -> bytes:
    """A well-formed PFX for customer A: key and certificate match, the CN is right, the
    dates are now; only the issuer is not the brokerage's CA."""
    key = generate_private_key("ec")
    csr = x509.load_pem_x509_csr(build_csr_pem(key, CUSTOMER_A).encode("ascii"))
    now = datetime.now(UTC)
    cert = foreign.issue_certificate(
        csr, subject_cn=CUSTOMER_A, serial=new_serial(), not_before=now,
        not_after=now + timedelta(days=30),
    )  # fmt: skip
    return build_pfx(
        customer_id=CUSTOMER_A, key=key, cert=cert, chain=chain, password=PFX_PASSWORD,
        iterations=FAST_PFX_ITERATIONS,
    )  # fmt: skip


@pytest.mark.parametrize("with_its_ca", [False, True], ids=["bare", "foreign-ca-inside"])
def test_a_pfx_from_a_foreign_ca_is_refused_and_discarded(
    world: World, alice: Customer, phone: Phone, with_its_ca: bool
) -> None:
    before = _paired_once(world, phone, alice)
    foreign = CA.generate()
    # Even with the foreign CA inside the PFX: the phone trusts only the host's chain.
    pfx = _foreign_pfx(foreign, chain=[foreign.cert] if with_its_ca else [])

    result = phone.pair(_fill_slot(alice, pfx))

    assert result.rc == 1 and result.code == "pfx_foreign_ca"
    _assert_nothing_kept(phone, before)
    # Discarded, not pending: there is nothing to retry.
    assert phone.run("pair", "--retry", input=PFX_PASSWORD + "\n").code == "no_pending_pairing"


def test_a_foreign_pfx_on_a_fresh_phone_leaves_no_keystore(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)

    result = phone.pair(_fill_slot(alice, _foreign_pfx(CA.generate(), chain=[])))

    assert result.code == "pfx_foreign_ca"
    _assert_nothing_kept(phone, {})
    # The real certificate still pairs afterwards.
    assert phone.pair(world.send(alice).payload).rc == 0
