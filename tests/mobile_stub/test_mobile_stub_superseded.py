"""After the PC renews, the phone's copy is the superseded certificate: its order is refused with
``certificate_superseded`` and the phone tells the customer to pair again."""

from __future__ import annotations

from cryptography import x509
from mobile_stub_support import CUSTOMER_A, LOGIN_PASSWORD, PFX_PASSWORD, Customer, Phone, World

from sync_client.keys import build_csr_pem, generate_private_key, sign
from sync_client.pfx import load_pfx
from sync_client.protocol import csr_sha256, renewal_message

ORDER = ("order", "--symbol", "2330", "--side", "buy", "--qty", "1", "--price", "600")


def renew_on_the_pc(world: World, alice: Customer) -> None:
    alice.pc.login(CUSTOMER_A, LOGIN_PASSWORD, device_kind="pc")
    old_key = load_pfx(alice.pfx_bytes, PFX_PASSWORD).key
    chal = alice.pc.renewal_challenge()
    csr_pem = build_csr_pem(generate_private_key("ec"), CUSTOMER_A)
    digest = csr_sha256(x509.load_pem_x509_csr(csr_pem.encode()))
    proof = sign(old_key, renewal_message(chal.challenge_id, chal.nonce, digest))
    alice.pc.renew(challenge_id=chal.challenge_id, csr_pem=csr_pem, signature=proof)


def test_the_phone_with_the_superseded_certificate_is_told_to_pair_again(
    world: World, alice: Customer, phone: Phone
) -> None:
    phone.login(CUSTOMER_A)
    assert phone.pair(world.send(alice).payload).rc == 0
    assert phone.run(*ORDER, input=PFX_PASSWORD + "\n").rc == 0  # before: accepted

    # The PC renews inside the renewal window; the server's clock then returns to the phone's
    # (which is the real one), so that the phone's orders are not stale.
    world.clock.advance(days=340)
    renew_on_the_pc(world, alice)
    world.clock.advance(days=-340)
    phone.login(CUSTOMER_A)
    refused = phone.run(*ORDER, input=PFX_PASSWORD + "\n")
    assert refused.rc == 1 and refused.code == "certificate_superseded"
    text = phone.run(*ORDER, input=PFX_PASSWORD + "\n", as_json=False, environ={"LANG": "en"})
    assert text.rc == 1
    assert "pair it again" in text.err and "Traceback" not in text.err
