"""Scale-out on the machine's real PostgreSQL: two independent instances, one database.

Each instance is its own ``open_host`` (its own engine and pool), its own app and its own
``TestClient`` (its own event loop thread), sharing only the database and the CA files, as two
``sync-server serve`` processes behind a load balancer would. Threads released together by a
barrier send the same one-time thing to both at once; the database must let exactly one win.

PostgreSQL must be reachable at 127.0.0.1:5432 (trust auth, user postgres; or at the server URL
in ``CERTSYNC_TEST_POSTGRES``): these tests fail when it is not, unless
``CERTSYNC_SKIP_POSTGRES=1`` says to skip them. Each run creates its own database and drops it.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx2
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.testclient import TestClient

from sync_client.keys import PrivateKey, build_csr_pem, generate_private_key, sign
from sync_client.orders import build_order, sign_order
from sync_client.protocol import renewal_message
from sync_server import redownloads, revocation
from sync_server.app import create_app
from sync_server.errors import ConfigError
from sync_server.host import open_host
from sync_server.models import Certificate, EnrollmentCode, RelaySlot
from sync_server.settings import Settings

from .harness import FAST_KDF, PASSWORD, Enrolled, ServerHarness, race, refused

pytestmark = pytest.mark.postgres

# The server, without a database name; CERTSYNC_TEST_POSTGRES points elsewhere if need be.
SERVER = os.environ.get("CERTSYNC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
ROUNDS = 10  # each race is run this many times
VALIDITY = timedelta(days=20)  # every fresh certificate is inside the renewal window


class WallClock:
    """The real time, for instances that run as in production."""

    @property
    def now(self) -> datetime:
        return datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh database for this module, dropped afterwards."""
    try:
        admin = psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CERTSYNC_SKIP_POSTGRES") == "1":
            pytest.skip("PostgreSQL is not reachable and CERTSYNC_SKIP_POSTGRES=1")
        pytest.fail(
            f"PostgreSQL is not reachable at {SERVER} ({exc}). Start it, or set "
            "CERTSYNC_SKIP_POSTGRES=1 to skip these tests.",
            pytrace=False,
        )
    name = f"certsync_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class Instances:
    a: ServerHarness
    b: ServerHarness

    @property
    def both(self) -> tuple[ServerHarness, ServerHarness]:
        return self.a, self.b


@pytest.fixture(scope="module")
def instances(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instances]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("ca"),  # the CA files both instances load
        database_url=database_url,
        certificate_validity=VALIDITY,
        **FAST_KDF,
    )
    host_a = open_host(settings)  # creates the tables and the CA
    host_b = open_host(settings)  # finds both
    assert host_a.db is not host_b.db and not host_a.db.is_sqlite
    assert host_a.ca.fingerprint_sha256 == host_b.ca.fingerprint_sha256
    ids = itertools.count(1)
    try:
        with TestClient(create_app(host_a)) as a, TestClient(create_app(host_b)) as b:
            yield Instances(
                ServerHarness(host_a, a.app, a, WallClock(), ids=ids),  # type: ignore[arg-type]
                ServerHarness(host_b, b.app, b, WallClock(), ids=ids),  # type: ignore[arg-type]
            )
    finally:
        host_a.db.dispose()
        host_b.db.dispose()


def one_winner(responses: list[httpx2.Response], won: int, *lost: str) -> httpx2.Response:
    """Exactly one response is the success ``won``; the others are refusals among ``lost``."""
    winners = [r for r in responses if r.status_code == won]
    assert len(winners) == 1, [(r.status_code, r.json()) for r in responses]
    for loser in responses:
        if loser is not winners[0]:
            body = loser.json()
            assert body.get("error") in lost, body
            refused(loser, body["error"])
    return winners[0]


def csr_sha256(csr_pem: str) -> str:
    der = x509.load_pem_x509_csr(csr_pem.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def renewal_body(enrolled: Enrolled, challenge: dict[str, str], key: PrivateKey) -> dict[str, str]:
    csr = build_csr_pem(key, enrolled.customer_id)
    message = renewal_message(challenge["challenge_id"], challenge["nonce"], csr_sha256(csr))
    return {
        "challenge_id": challenge["challenge_id"],
        "csr_pem": csr,
        "signature": base64.b64encode(sign(enrolled.key, message)).decode(),
    }


# -- the races ----------------------------------------------------------------------------


def test_one_enrollment_code_applied_on_both_instances_at_once(instances: Instances) -> None:
    a, b = instances.both
    losers = []
    for _ in range(ROUNDS):
        customer_id = a.add_customer()
        code = a.enrollment_code(customer_id)
        bodies = [
            {
                "enrollment_code": code,
                "terms_accepted": True,
                "csr_pem": build_csr_pem(generate_private_key("ec"), customer_id),
            }
            for _ in range(2)
        ]
        pc_a, pc_b = a.login(customer_id), b.login(customer_id)
        responses = race(
            partial(a.post, "/certificate/apply", pc_a.token, bodies[0]),
            partial(b.post, "/certificate/apply", pc_b.token, bodies[1]),
        )
        # The loser either lost the slip's conditional UPDATE (used) or, starting a moment
        # later, already saw the winner's certificate (already valid): both refuse.
        one_winner(responses, 201, "enrollment_code_used", "certificate_already_valid")
        losers += [r.json()["error"] for r in responses if r.status_code != 201]
        assert len(a.rows(Certificate, customer_id=customer_id)) == 1
        (slip,) = a.rows(EnrollmentCode, customer_id=customer_id)
        assert slip.used_at is not None
    # The race was real: in some rounds both requests were inside the slip check at once.
    assert "enrollment_code_used" in losers


def test_one_relay_slot_claimed_on_both_instances_at_once(instances: Instances) -> None:
    a, b = instances.both
    enrolled = a.enroll()
    fingerprint = enrolled.issued.certificate.fingerprint_sha256
    phone_a = a.login(enrolled.customer_id, kind="mobile")
    phone_b = b.login(enrolled.customer_id, kind="mobile")
    ciphertext = b"\x02" + os.urandom(4999)  # an envelope's frame: version 2, then noise
    for _ in range(ROUNDS):
        slot = enrolled.sdk.open_slot(certificate_fingerprint=fingerprint)
        enrolled.sdk.upload_ciphertext(slot.slot_id, ciphertext)
        url = f"/api/v1/relay/slots/{slot.slot_id}/claim"
        responses = race(
            partial(a.client.post, url, headers={"Authorization": f"Bearer {phone_a.token}"}),
            partial(b.client.post, url, headers={"Authorization": f"Bearer {phone_b.token}"}),
        )
        winner = one_winner(responses, 200, "slot_spent")
        assert base64.b64decode(winner.json()["ciphertext"]) == ciphertext
        (row,) = a.rows(RelaySlot, id=slot.slot_id)
        assert (row.state, row.ciphertext) == ("claimed", None)


def test_one_redownload_used_on_both_instances_at_once(instances: Instances) -> None:
    a, b = instances.both
    enrolled = a.enroll()
    pc_b = b.login(enrolled.customer_id)
    for _ in range(ROUNDS):
        redownloads.open_redownload(a.host, enrolled.customer_id, actor="staff:test")
        responses = race(
            partial(a.post, "/certificate/redownload", enrolled.sdk.token, {}),
            partial(b.post, "/certificate/redownload", pc_b.token, {}),
        )
        winner = one_winner(responses, 200, "redownload_used")
        assert winner.json()["certificate"]["serial"] == str(enrolled.serial)
    outcomes = [e.outcome for e in a.audit(action="redownload", customer_id=enrolled.customer_id)]
    assert sorted(outcomes) == sorted(["ok", "redownload_used"] * ROUNDS)


def test_one_renewal_challenge_with_two_csrs_on_both_instances(instances: Instances) -> None:
    a, b = instances.both
    for _ in range(ROUNDS):
        enrolled = a.enroll()
        pc_b = b.login(enrolled.customer_id)
        challenge = a.post("/certificate/renewal-challenge", enrolled.sdk.token).json()
        bodies = [renewal_body(enrolled, challenge, generate_private_key("ec")) for _ in range(2)]
        responses = race(
            partial(a.post, "/certificate/renew", enrolled.sdk.token, bodies[0]),
            partial(b.post, "/certificate/renew", pc_b.token, bodies[1]),
        )
        # The loser lost the challenge's conditional UPDATE, or saw it used (challenge_used),
        # or read the old certificate just after the winner superseded it (renewal_not_open).
        winner = one_winner(responses, 201, "challenge_used", "renewal_not_open")
        rows = a.rows(Certificate, customer_id=enrolled.customer_id)
        assert len(rows) == 2  # the old one and exactly one new one
        (old,) = [r for r in rows if r.serial == str(enrolled.serial)]
        assert old.superseded_by == winner.json()["certificate"]["serial"]


def test_wrong_passwords_on_both_instances_all_count(instances: Instances) -> None:
    a, b = instances.both
    customer_id = a.add_customer()
    wrong = {"customer_id": customer_id, "password": "wrong password", "device_kind": "pc"}
    responses = race(
        *[lambda s=s: s.client.post("/api/v1/sessions", json=wrong) for s in (a, b, a, b, a)]
    )
    assert {r.json()["error"] for r in responses} == {"login_failed"}
    right = {**wrong, "password": PASSWORD}
    refused(b.client.post("/api/v1/sessions", json=right), "account_locked")


def test_wrong_enrollment_codes_on_both_instances_all_count(instances: Instances) -> None:
    a, b = instances.both
    customer_id = a.add_customer()
    code = a.enrollment_code(customer_id)
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    pc_a, pc_b = a.login(customer_id), b.login(customer_id)
    wrong = {"enrollment_code": "ACDEFGHJKL", "terms_accepted": True, "csr_pem": csr}
    if code == wrong["enrollment_code"]:
        wrong["enrollment_code"] = "MNPQRTUVWX"
    race(
        *[
            lambda s=s, t=t: s.post("/certificate/apply", t, wrong)
            for s, t in ((a, pc_a.token), (b, pc_b.token)) * 3
        ]
    )
    right = {**wrong, "enrollment_code": code}
    refused(b.post("/certificate/apply", pc_b.token, right), "enrollment_code_locked")
    assert a.rows(Certificate, customer_id=customer_id) == []


def test_ten_wrong_passwords_on_both_instances_are_hashed_at_most_five_times(
    instances: Instances,
) -> None:
    # Each try is counted (reserved under a row lock) before its hash: however many arrive at
    # once on however many instances, no more are checked than the limit allows (issue 10).
    a, b = instances.both
    for _ in range(3):
        customer_id = a.add_customer()
        wrong = {"customer_id": customer_id, "password": "wrong password", "device_kind": "pc"}
        responses = race(
            *[lambda s=s, w=wrong: s.client.post("/api/v1/sessions", json=w) for s in (a, b) * 5]
        )
        codes = sorted(r.json()["error"] for r in responses)
        assert codes == ["account_locked"] * 5 + ["login_failed"] * 5
        left = sorted(r.json()["details"]["tries_left"] for r in responses if r.status_code == 401)
        assert left == [0, 1, 2, 3, 4]
        checked = a.audit(action="login", customer_id=customer_id, outcome="login_failed")
        assert len(checked) == 5


def test_ten_wrong_enrollment_codes_on_both_instances_are_compared_at_most_five_times(
    instances: Instances,
) -> None:
    a, b = instances.both
    customer_id = a.add_customer()
    code = a.enrollment_code(customer_id)
    pc_a, pc_b = a.login(customer_id), b.login(customer_id)
    wrong = {"enrollment_code": "ACDEFHJKLMNP" if code != "ACDEFHJKLMNP" else "MNPQRUVWXYad"}
    responses = race(
        *[
            lambda s=s, t=t: s.post("/enrollment/check", t, wrong)
            for s, t in ((a, pc_a.token), (b, pc_b.token)) * 5
        ]
    )
    invalid = sorted(
        r.json()["details"]["tries_left"]
        for r in responses
        if r.json()["error"] == "enrollment_code_invalid"
    )
    assert invalid == [1, 2, 3, 4]  # each try left was told once: no two compared as one
    assert sum(r.json()["error"] == "enrollment_code_locked" for r in responses) == 6
    (slip,) = a.rows(EnrollmentCode, customer_id=customer_id)
    assert slip.failed_attempts == 5
    refused(
        b.post("/enrollment/check", pc_b.token, {"enrollment_code": code}), "enrollment_code_locked"
    )


def test_wrong_codes_at_check_and_apply_on_both_instances_share_one_counter(
    instances: Instances,
) -> None:
    a, b = instances.both
    customer_id = a.add_customer()
    code = a.enrollment_code(customer_id)
    pc_a, pc_b = a.login(customer_id), b.login(customer_id)
    wrong = "ACDEFHJKLMNP" if code != "ACDEFHJKLMNP" else "MNPQRUVWXYad"
    check = {"enrollment_code": wrong}
    apply = {
        "enrollment_code": wrong,
        "terms_accepted": True,
        "csr_pem": build_csr_pem(generate_private_key("ec"), customer_id),
    }
    responses = race(
        partial(a.post, "/enrollment/check", pc_a.token, check),
        partial(b.post, "/certificate/apply", pc_b.token, apply),
        partial(b.post, "/enrollment/check", pc_b.token, check),
        partial(a.post, "/certificate/apply", pc_a.token, apply),
        partial(a.post, "/enrollment/check", pc_a.token, check),
        partial(b.post, "/certificate/apply", pc_b.token, apply),
    )
    for response in responses:
        assert response.json()["error"] in ("enrollment_code_invalid", "enrollment_code_locked")
    # Six wrong codes through both doors of both instances: the slip is dead for either door.
    refused(
        b.post("/enrollment/check", pc_b.token, {"enrollment_code": code}), "enrollment_code_locked"
    )
    refused(
        a.post("/certificate/apply", pc_a.token, {**apply, "enrollment_code": code}),
        "enrollment_code_locked",
    )
    (slip,) = a.rows(EnrollmentCode, customer_id=customer_id)
    assert slip.failed_attempts >= a.settings.enrollment_max_attempts and slip.used_at is None
    assert a.rows(Certificate, customer_id=customer_id) == []


def test_a_check_and_an_apply_of_the_right_code_at_once(instances: Instances) -> None:
    a, b = instances.both
    for _ in range(ROUNDS):
        customer_id = a.add_customer()
        code = a.enrollment_code(customer_id)
        pc_a, pc_b = a.login(customer_id), b.login(customer_id)
        body = {
            "enrollment_code": code,
            "terms_accepted": True,
            "csr_pem": build_csr_pem(generate_private_key("ec"), customer_id),
        }
        checked, applied = race(
            partial(a.post, "/enrollment/check", pc_a.token, {"enrollment_code": code}),
            partial(b.post, "/certificate/apply", pc_b.token, body),
        )
        # The check never spends the slip: the apply always wins; the check saw the slip
        # either still open or already used for the certificate.
        assert applied.status_code == 201, applied.json()
        if checked.status_code != 200:
            assert checked.json()["error"] in ("enrollment_code_used", "certificate_already_valid")
        (slip,) = a.rows(EnrollmentCode, customer_id=customer_id)
        assert slip.used_at is not None and slip.failed_attempts == 0


# -- one service ----------------------------------------------------------------------------


def test_the_whole_flow_across_both_instances(instances: Instances, tmp_path: Path) -> None:
    a, b = instances.both
    customer_id = a.add_customer()
    key = generate_private_key("ec")
    pc_a = a.login(customer_id)
    pc_b = b.sdk(pc_a.token)  # one session, answered by either instance
    issued = pc_b.apply(
        enrollment_code=a.enrollment_code(customer_id),
        csr_pem=build_csr_pem(key, customer_id),
        terms_accepted=True,
    )
    status = pc_a.status()
    assert status.code == 31 and status.certificate is not None
    assert status.certificate.serial == issued.certificate.serial

    # Renewal: challenge from A, renewal on B.
    enrolled = Enrolled(customer_id, pc_a, key, issued)
    challenge = a.post("/certificate/renewal-challenge", pc_a.token).json()
    new_key = generate_private_key("ec")
    renewed = b.post("/certificate/renew", pc_a.token, renewal_body(enrolled, challenge, new_key))
    assert renewed.status_code == 201
    new_serial = int(renewed.json()["certificate"]["serial"])
    assert pc_a.status().certificate.serial == new_serial  # type: ignore[union-attr]

    # Re-download opened by staff on A, used on B.
    redownloads.open_redownload(a.host, customer_id, actor="staff:test")
    assert pc_b.redownload().certificate.serial == new_serial

    # Relay: the PC on A waits while the phone on B claims; A hears of it across instances.
    phone_b = b.login(customer_id, kind="mobile")
    fingerprint = renewed.json()["certificate"]["fingerprint_sha256"]
    slot = pc_a.open_slot(certificate_fingerprint=fingerprint)
    sealed = b"\x02" + os.urandom(100)  # the server checks only an envelope's frame
    pc_a.upload_ciphertext(slot.slot_id, sealed)
    heard: list[tuple[float, str]] = []
    waiter = threading.Thread(
        target=lambda: heard.append((time.monotonic(), pc_a.wait_slot(slot.slot_id, wait=10).state))
    )
    waiter.start()
    time.sleep(0.3)
    claimed_at = time.monotonic()
    assert phone_b.claim_slot(slot.slot_id).ciphertext == sealed
    waiter.join(timeout=15)
    ((woke_at, state),) = heard
    assert state == "claimed"
    assert woke_at - claimed_at < 2.0  # NOTIFY (or at worst the 1 s re-read), not the 10 s wait

    # An order signed with the new key, accepted on either instance, replay refused on the other.
    audience = a.host.order_audience
    assert b.host.order_audience == audience  # one deployment: one CA, one audience
    signed = sign_order(
        new_key,
        build_order(symbol="2330", side="buy", quantity=1, price="600"),
        audience=audience,
        customer_id=customer_id,
        serial=new_serial,
    )
    signature = base64.b64encode(signed.signature).decode()
    body = {"order": signed.order, "signature": signature, "serial": str(new_serial),
            "customer_id": customer_id, "audience": audience}  # fmt: skip
    assert a.post("/orders", phone_b.token, body).status_code == 201
    refused(b.post("/orders", phone_b.token, body), "order_replayed")

    # Revocation by staff on A: B's status and CRL show it at once.
    revocation.revoke(a.host, str(new_serial), reason="key_compromise", actor="staff:test")
    assert pc_b.status().code == 42
    crl = x509.load_der_x509_crl(b.client.get("/api/v1/crl").content)
    assert crl.get_revoked_certificate_by_serial_number(new_serial) is not None
    assert crl.is_signature_valid(b.host.ca.cert.public_key())  # type: ignore[arg-type]
    late = sign_order(
        new_key,
        build_order(symbol="2330", side="sell", quantity=1, price="601"),
        audience=audience,
        customer_id=customer_id,
        serial=new_serial,
    )
    late_signature = base64.b64encode(late.signature).decode()
    late_body = {**body, "order": late.order, "signature": late_signature}
    refused(b.post("/orders", phone_b.token, late_body), "certificate_not_valid")
    assert b.client.get("/healthz").json() == {"status": "ok"}


def test_an_instance_with_another_ca_refuses_the_database(
    instances: Instances, tmp_path: Path
) -> None:
    settings = instances.a.settings.replace(data_dir=tmp_path / "elsewhere")
    with pytest.raises(ConfigError):
        open_host(settings)
