"""The relay's server side: slots are for the current certificate, uploaded once, claimed once,
by the same customer's phone, short-lived, cancellable; the PC hears of the claim at once."""

from __future__ import annotations

import base64
import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from html.parser import HTMLParser
from typing import Any

import httpx2
import pytest

from sync_client.api import SyncClient
from sync_client.protocol import format_time
from sync_server import relay, revocation
from sync_server.models import RelaySlot

from .harness import Enrolled, ServerHarness, race, refused

SLOTS = "/api/v1/relay/slots"


@dataclass
class Pairing:
    """One customer's PC (enrolled) and phone, and the slot the PC opened."""

    enrolled: Enrolled
    phone: SyncClient
    slot_id: str

    @property
    def pc(self) -> SyncClient:
        return self.enrolled.sdk


def bearer(sdk: SyncClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {sdk.token}"}


def open_slot(server: ServerHarness, enrolled: Enrolled, fingerprint: str | None = None):
    fingerprint = fingerprint or enrolled.issued.certificate.fingerprint_sha256
    return server.post("/relay/slots", enrolled.sdk.token, {"certificate_fingerprint": fingerprint})


def upload(server: ServerHarness, sdk: SyncClient, slot_id: str, data: bytes) -> httpx2.Response:
    body = {"ciphertext": base64.b64encode(data).decode()}
    return server.client.put(f"{SLOTS}/{slot_id}/ciphertext", json=body, headers=bearer(sdk))


def claim(server: ServerHarness, sdk: SyncClient, slot_id: str) -> httpx2.Response:
    return server.client.post(f"{SLOTS}/{slot_id}/claim", headers=bearer(sdk))


def events(server: ServerHarness, sdk: SyncClient, slot_id: str, **params: Any) -> httpx2.Response:
    query = {"after": "open", "wait": "0", **params}
    return server.client.get(f"{SLOTS}/{slot_id}/events", params=query, headers=bearer(sdk))


def slot_row(server: ServerHarness, slot_id: str) -> RelaySlot:
    (row,) = server.rows(RelaySlot, id=slot_id)
    return row


@pytest.fixture
def pairing(server: ServerHarness) -> Pairing:
    enrolled = server.enroll()
    phone = server.login(enrolled.customer_id, kind="mobile")
    response = open_slot(server, enrolled)
    assert response.status_code == 201
    return Pairing(enrolled, phone, response.json()["slot_id"])


# The server cannot read an envelope; it checks only its frame: at least 29 bytes, version 2.
CIPHERTEXT = b"\x02" + os.urandom(3000)


def envelope_of(size: int) -> bytes:
    """``size`` bytes that pass the server's frame check (the version byte, then noise)."""
    return b"\x02" + os.urandom(size - 1)


# -- opening ------------------------------------------------------------------------------


def test_a_slot_is_opened_for_the_current_certificate(server: ServerHarness) -> None:
    enrolled = server.enroll()
    fingerprint = enrolled.issued.certificate.fingerprint_sha256
    response = open_slot(server, enrolled, fingerprint.upper())
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"slot_id", "expires_at"}
    slot_id = body["slot_id"]
    assert len(slot_id) == 22 and len(base64.urlsafe_b64decode(slot_id + "==")) == 16
    assert body["expires_at"] == format_time(server.clock.now + timedelta(seconds=120))
    row = slot_row(server, slot_id)
    assert (row.customer_id, row.state, row.ciphertext) == (enrolled.customer_id, "open", None)
    assert row.certificate_serial == str(enrolled.serial)


def test_a_slot_needs_the_current_certificate(server: ServerHarness) -> None:
    enrolled = server.enroll()
    refused(open_slot(server, enrolled, "00" * 32), "certificate_not_current")
    revocation.revoke(server.host, str(enrolled.serial), reason="unspecified", actor="s:t")
    refused(open_slot(server, enrolled), "certificate_not_current")
    assert server.rows(RelaySlot) == []
    outcomes = [e.outcome for e in server.audit(action="relay_open")]
    assert outcomes == ["certificate_not_current"] * 2


def test_a_customer_without_a_certificate_cannot_open_a_slot(server: ServerHarness) -> None:
    sdk = server.login(server.add_customer())
    body = {"certificate_fingerprint": "00" * 32}
    refused(server.post("/relay/slots", sdk.token, body), "certificate_not_current")
    refused(server.post("/relay/slots", sdk.token, {}), "bad_request")


def test_an_expired_certificate_cannot_open_a_slot(server: ServerHarness) -> None:
    enrolled = server.enroll()
    server.clock.advance(server.settings.certificate_validity)
    sdk = server.login(enrolled.customer_id)
    body = {"certificate_fingerprint": enrolled.issued.certificate.fingerprint_sha256}
    refused(server.post("/relay/slots", sdk.token, body), "certificate_not_current")


# -- uploading ----------------------------------------------------------------------------


def test_ciphertext_is_uploaded_once(server: ServerHarness, pairing: Pairing) -> None:
    assert upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT).status_code == 204
    refused(upload(server, pairing.pc, pairing.slot_id, envelope_of(29)), "slot_already_uploaded")
    assert slot_row(server, pairing.slot_id).ciphertext == CIPHERTEXT


def test_an_upload_to_a_slot_past_its_lifetime_is_expired_and_stores_nothing(
    server: ServerHarness, pairing: Pairing
) -> None:
    # The upload is one conditional UPDATE; when it stores nothing, the slot says why.
    server.clock.advance(server.settings.relay_slot_lifetime)
    refused(upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT), "slot_expired")
    row = slot_row(server, pairing.slot_id)
    assert (row.ciphertext, row.uploaded_at) == (None, None)
    assert server.audit(action="relay_upload") == []


def test_an_upload_to_a_claimed_slot_is_spent_and_keeps_it_wiped(
    server: ServerHarness, pairing: Pairing
) -> None:
    assert upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT).status_code == 204
    assert claim(server, pairing.phone, pairing.slot_id).status_code == 200
    refused(upload(server, pairing.pc, pairing.slot_id, envelope_of(29)), "slot_spent")
    row = slot_row(server, pairing.slot_id)
    assert (row.state, row.ciphertext) == ("claimed", None)
    assert len(server.audit(action="relay_upload")) == 1


def test_ciphertext_up_to_64_kib_and_no_more(server: ServerHarness, pairing: Pairing) -> None:
    limit = server.settings.relay_max_ciphertext_bytes
    assert limit == 64 * 1024
    refused(upload(server, pairing.pc, pairing.slot_id, envelope_of(limit + 1)), "slot_too_large")
    assert slot_row(server, pairing.slot_id).ciphertext is None
    refused(
        upload(server, pairing.pc, pairing.slot_id, envelope_of(3 * limit)), "payload_too_large"
    )
    assert upload(server, pairing.pc, pairing.slot_id, envelope_of(limit)).status_code == 204


@pytest.mark.parametrize(
    "data",
    [b"", b"\x02", b"\x02" + bytes(27), b"\x01" + bytes(40), b"\x00" * 29, b"\x03" + bytes(28)],
    ids=["empty", "version-only", "28-bytes", "version-1", "version-0", "version-3"],
)
def test_an_upload_that_is_not_a_version_2_envelope_is_refused(
    server: ServerHarness, pairing: Pairing, data: bytes
) -> None:
    body = refused(upload(server, pairing.pc, pairing.slot_id, data), "ciphertext_invalid")
    assert "29" in body["message"]
    row = slot_row(server, pairing.slot_id)
    assert (row.state, row.ciphertext, row.uploaded_at) == ("open", None, None)
    # Nothing was spent: the smallest real envelope (version, nonce, tag) is then accepted.
    assert upload(server, pairing.pc, pairing.slot_id, envelope_of(29)).status_code == 204


@pytest.mark.parametrize(
    "body", [{"ciphertext": "not base64!"}, {"ciphertext": "\u00f62"}, {"ciphertext": 5}, {}]
)
def test_ciphertext_must_be_base64(server: ServerHarness, pairing: Pairing, body: Any) -> None:
    url = f"{SLOTS}/{pairing.slot_id}/ciphertext"
    refused(server.client.put(url, json=body, headers=bearer(pairing.pc)), "bad_request")


def test_only_the_slots_pc_customer_may_upload(server: ServerHarness, pairing: Pairing) -> None:
    other = server.enroll()
    refused(upload(server, other.sdk, pairing.slot_id, CIPHERTEXT), "slot_not_found")
    refused(upload(server, pairing.pc, "A" * 22, CIPHERTEXT), "slot_not_found")
    assert slot_row(server, pairing.slot_id).ciphertext is None


# -- claiming -----------------------------------------------------------------------------


def test_the_same_customers_phone_claims_the_ciphertext_once(
    server: ServerHarness, pairing: Pairing
) -> None:
    upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT)
    response = claim(server, pairing.phone, pairing.slot_id)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "slot_id": pairing.slot_id,
        "customer_id": pairing.enrolled.customer_id,
        "certificate_fingerprint": pairing.enrolled.issued.certificate.fingerprint_sha256,
        "ciphertext": base64.b64encode(CIPHERTEXT).decode(),
    }
    row = slot_row(server, pairing.slot_id)
    assert (row.state, row.ciphertext, row.ended_at) == ("claimed", None, server.clock.now)
    refused(claim(server, pairing.phone, pairing.slot_id), "slot_spent")
    refused(upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT), "slot_spent")
    outcomes = [e.outcome for e in server.audit(action="relay_claim")]
    assert outcomes == ["ok", "slot_spent"]


def test_the_sdk_claims_too(server: ServerHarness, pairing: Pairing) -> None:
    pairing.pc.upload_ciphertext(pairing.slot_id, CIPHERTEXT)
    claimed = pairing.phone.claim_slot(pairing.slot_id)
    assert claimed.ciphertext == CIPHERTEXT
    assert claimed.slot_id == pairing.slot_id
    assert claimed.certificate_fingerprint == (
        pairing.enrolled.issued.certificate.fingerprint_sha256
    )
    assert CIPHERTEXT.hex()[:32] not in repr(claimed)


def test_a_claim_before_the_upload_is_not_ready_and_spends_nothing(
    server: ServerHarness, pairing: Pairing
) -> None:
    refused(claim(server, pairing.phone, pairing.slot_id), "slot_not_ready")
    upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT)
    assert claim(server, pairing.phone, pairing.slot_id).status_code == 200


def test_another_customers_phone_is_refused_and_does_not_spend_it(
    server: ServerHarness, pairing: Pairing
) -> None:
    upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT)
    stranger = server.login(server.add_customer(), kind="mobile")
    refused(claim(server, stranger, pairing.slot_id), "slot_wrong_customer")
    row = slot_row(server, pairing.slot_id)
    assert (row.state, row.ciphertext) == ("open", CIPHERTEXT)
    assert claim(server, pairing.phone, pairing.slot_id).status_code == 200
    assert [e.outcome for e in server.audit(action="relay_claim")] == ["slot_wrong_customer", "ok"]


def test_an_unknown_slot_is_not_found(server: ServerHarness, pairing: Pairing) -> None:
    refused(claim(server, pairing.phone, "B" * 22), "slot_not_found")


def test_a_claim_after_the_lifetime_is_expired_and_the_ciphertext_wiped(
    server: ServerHarness, pairing: Pairing
) -> None:
    upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT)
    server.clock.advance(server.settings.relay_slot_lifetime - timedelta(seconds=1))
    assert slot_row(server, pairing.slot_id).ciphertext == CIPHERTEXT
    server.clock.advance(seconds=1)
    refused(claim(server, pairing.phone, pairing.slot_id), "slot_expired")
    row = slot_row(server, pairing.slot_id)
    assert (row.state, row.ciphertext) == ("expired", None)
    refused(claim(server, pairing.phone, pairing.slot_id), "slot_expired")


def test_a_cancelled_slot_is_refused_and_wiped(server: ServerHarness, pairing: Pairing) -> None:
    upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT)
    stranger = server.enroll()
    url = f"{SLOTS}/{pairing.slot_id}"
    refused(server.client.delete(url, headers=bearer(stranger.sdk)), "slot_not_found")
    assert slot_row(server, pairing.slot_id).state == "open"
    assert server.client.delete(url, headers=bearer(pairing.pc)).status_code == 204
    row = slot_row(server, pairing.slot_id)
    assert (row.state, row.ciphertext) == ("cancelled", None)
    refused(claim(server, pairing.phone, pairing.slot_id), "slot_cancelled")
    assert events(server, pairing.pc, pairing.slot_id).json()["state"] == "cancelled"


# -- the PC's long-poll ---------------------------------------------------------------------


def test_events_report_the_state(server: ServerHarness, pairing: Pairing) -> None:
    response = events(server, pairing.pc, pairing.slot_id)
    assert response.status_code == 200
    assert response.json() == {
        "slot_id": pairing.slot_id,
        "state": "open",
        "expires_at": format_time(server.clock.now + server.settings.relay_slot_lifetime),
    }
    upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT)
    claim(server, pairing.phone, pairing.slot_id)
    assert events(server, pairing.pc, pairing.slot_id).json()["state"] == "claimed"


def test_a_waiting_pc_hears_of_the_claim_at_once(server: ServerHarness, pairing: Pairing) -> None:
    upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT)
    heard: list[tuple[float, dict[str, Any]]] = []

    def wait() -> None:
        response = events(server, pairing.pc, pairing.slot_id, wait="10")
        heard.append((time.monotonic(), response.json()))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)
    assert not heard  # still waiting: the state is open
    claimed_at = time.monotonic()
    assert claim(server, pairing.phone, pairing.slot_id).status_code == 200
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    ((woke_at, body),) = heard
    assert body["state"] == "claimed"
    assert woke_at - claimed_at < 1.0


def test_a_wait_ends_when_its_time_runs_out(server: ServerHarness, pairing: Pairing) -> None:
    started = time.monotonic()
    response = events(server, pairing.pc, pairing.slot_id, wait="0.3")
    assert response.json()["state"] == "open"
    assert 0.25 < time.monotonic() - started < 3


def test_events_of_an_expired_slot_say_expired_and_wipe_it(
    server: ServerHarness, pairing: Pairing
) -> None:
    upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT)
    server.clock.advance(server.settings.relay_slot_lifetime)
    assert events(server, pairing.pc, pairing.slot_id).json()["state"] == "expired"
    row = slot_row(server, pairing.slot_id)
    assert (row.state, row.ciphertext) == ("expired", None)
    assert [e.action for e in server.audit()][-1] == "relay_expire"


@pytest.mark.parametrize("wait", ["soon", "nan", ""])
def test_a_bad_wait_is_a_bad_request(server: ServerHarness, pairing: Pairing, wait: str) -> None:
    refused(events(server, pairing.pc, pairing.slot_id, wait=wait), "bad_request")


def test_another_customers_slot_has_no_events(server: ServerHarness, pairing: Pairing) -> None:
    other = server.enroll()
    refused(events(server, other.sdk, pairing.slot_id), "slot_not_found")


# -- racing claims and pruning ---------------------------------------------------------------


def test_two_simultaneous_claims_one_wins(server: ServerHarness) -> None:
    enrolled = server.enroll()
    phones = [server.login(enrolled.customer_id, kind="mobile") for _ in range(2)]
    for _ in range(5):
        slot_id = open_slot(server, enrolled).json()["slot_id"]
        upload(server, enrolled.sdk, slot_id, CIPHERTEXT)
        responses = race(*[partial(claim, server, phone, slot_id) for phone in phones])
        assert sorted(r.status_code for r in responses) == [200, 410]
        refused(next(r for r in responses if r.status_code == 410), "slot_spent")


def test_prune_wipes_expired_slots_and_deletes_old_ended_ones(
    server: ServerHarness, pairing: Pairing
) -> None:
    upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT)
    later = server.clock.advance(server.settings.relay_slot_lifetime)
    removed = relay.prune(server.host, now=later, older_than=timedelta(hours=1))
    assert removed == 0
    row = slot_row(server, pairing.slot_id)
    assert (row.state, row.ciphertext) == ("expired", None)
    much_later = server.clock.advance(hours=1)
    assert relay.prune(server.host, now=much_later, older_than=timedelta(hours=1)) == 1
    assert server.rows(RelaySlot) == []
    assert server.audit(action="relay_prune")[-1].detail == "1 slots"


# -- the page the QR link opens -----------------------------------------------------------


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes (the standard library's parser)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _csp(header: str) -> dict[str, str]:
    directives = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


@pytest.mark.parametrize("slot_id", ["AAAAAAAAAAAAAAAAAAAAAA", "no-such-slot"])
def test_the_pairing_page_forbids_scripts_and_leaks_no_referrer(
    server: ServerHarness, slot_id: str
) -> None:
    response = server.client.get(f"/pair/{slot_id}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = _csp(response.headers["content-security-policy"])
    assert csp["default-src"] == "'none'"
    # Nothing re-allows a script: no script-src of any kind, nor a fallback that could.
    assert not {"script-src", "script-src-elem", "script-src-attr", "worker-src"} & set(csp)
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    parser = _Tags()
    parser.feed(response.text)
    tags = {tag for tag, _attrs in parser.tags}
    assert tags and not tags & {"script", "iframe", "object", "embed", "link", "base", "form"}
    handlers = [name for _tag, attrs in parser.tags for name in attrs if name.startswith("on")]
    assert handlers == []
    assert "javascript:" not in response.text.lower()


def test_the_pairing_page_looks_nothing_up(server: ServerHarness, pairing: Pairing) -> None:
    upload(server, pairing.pc, pairing.slot_id, CIPHERTEXT)
    before = slot_row(server, pairing.slot_id)

    response = server.client.get(f"/pair/{pairing.slot_id}")

    assert response.status_code == 200
    assert pairing.slot_id not in response.text
    assert slot_row(server, pairing.slot_id) == before
