"""Login throttling (issue 10): a stranger's wrong passwords delay the stranger, not the customer.

Every test drives the real app through ``TestClient``s that come from different client
addresses (``TestClient(client=(address, port))`` is the peer address the server sees, as
uvicorn reports it), with the test clock moved by hand instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from alembic import command
from sqlmodel import select
from starlette.testclient import TestClient

from sync_client.protocol import format_time
from sync_server import customers, login_throttle, schema, service_desk
from sync_server.db import Database
from sync_server.errors import ConfigError, ServiceError
from sync_server.login_throttle import Count, Rule, count_failure, failures_at, source_key
from sync_server.models import (
    AuditEvent,
    Customer,
    EnrollmentCode,
    LoginSession,
    LoginThrottle,
)
from sync_server.settings import Settings

from .harness import FAST_KDF, PASSWORD, ServerHarness, race, refused

STRANGER = "198.51.100.7"
HOME = "203.0.113.20"  # where the customer logs in from
WRONG = "wrong password"

Login = Callable[..., httpx2.Response]


@pytest.fixture
def from_address(server: ServerHarness) -> Iterator[Login]:
    """``login(address, customer_id, password)`` from a client at ``address``."""
    clients: dict[str, TestClient] = {}

    def login(address: str, customer_id: str, password: str = PASSWORD) -> httpx2.Response:
        if address not in clients:
            clients[address] = TestClient(server.app, client=(address, 40000))
        body = {"customer_id": customer_id, "password": password, "device_kind": "pc"}
        return clients[address].post("/api/v1/sessions", json=body)

    yield login
    for client in clients.values():
        client.close()


def locked_until(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(body["details"]["locked_until"])


# -- the rules, pure --------------------------------------------------------------------

RULE = Rule(5, timedelta(minutes=1), timedelta(minutes=15), timedelta(hours=1))


def test_the_delay_starts_at_the_threshold_and_doubles_up_to_the_cap() -> None:
    assert [RULE.delay_after(n) for n in range(1, 5)] == [timedelta(0)] * 4
    assert [RULE.delay_after(n).seconds // 60 for n in range(5, 11)] == [1, 2, 4, 8, 15, 15]
    assert RULE.delay_after(10_000) == timedelta(minutes=15)


def test_a_failure_after_the_window_starts_a_new_count() -> None:
    start = datetime(2026, 12, 1, 9, 0).astimezone()
    count = Count()
    for _ in range(4):
        count = count_failure(count, start, RULE)
    assert (count.failures, count.window_started_at, count.blocked_until) == (4, start, None)
    later = start + RULE.window
    assert failures_at(count, later, RULE) == 0
    assert count_failure(count, later, RULE) == Count(1, later, None)
    fifth = count_failure(count, start + timedelta(minutes=59), RULE)
    assert fifth.blocked_until == start + timedelta(minutes=60)


def test_a_source_is_an_address_and_an_ipv6_subscriber_is_its_64() -> None:
    assert source_key("198.51.100.7") == "198.51.100.7"
    assert (
        source_key("2001:db8:1:2:aaaa::1")
        == source_key("2001:db8:1:2::ffff")
        == ("2001:db8:1:2::/64")
    )
    assert source_key("2001:db8:1:3::1") != source_key("2001:db8:1:2::1")
    assert source_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert source_key(None) == source_key("") == "unknown"


# -- the point: a stranger cannot keep the customer out ---------------------------------


def attack(server: ServerHarness, from_address: Login, customer_id: str, hours: int) -> int:
    """A stranger guessing as fast as the server lets him for ``hours``, never stopping; ends
    while he is held back. How many of his guesses were checked."""
    start = server.clock.now
    failed = 0
    while True:
        answer = from_address(STRANGER, customer_id, WRONG)
        if answer.json()["error"] == "account_locked":
            # Even the right password from his source waits: the delay is real.
            refused(from_address(STRANGER, customer_id), "account_locked")
            if server.clock.now >= start + timedelta(hours=hours):
                return failed
            server.clock.now = locked_until(answer.json())
        else:
            refused(answer, "login_failed")
            failed += 1


def test_a_strangers_wrong_passwords_cannot_keep_the_customer_out(
    server: ServerHarness, from_address: Login
) -> None:
    customer_id = server.add_customer()
    failed = attack(server, from_address, customer_id, hours=6)
    # Bounded: 5 at once, then delays of 1, 2, 4, 8 and 15 minutes, about 11 an hour (a new
    # window gives 5 at once again each hour).
    assert 6 * 5 < failed <= 6 * 12, failed
    # The customer, at home, logs in at the first try while the stranger is held back, and
    # can again; so can the customer from a network never seen before.
    assert from_address(HOME, customer_id).status_code == 201
    assert from_address(HOME, customer_id).status_code == 201
    assert from_address("192.0.2.99", customer_id).status_code == 201


@pytest.mark.parametrize("settings_overrides", [{"login_account_max_failures": 5}])
def test_a_lock_per_account_alone_would_let_the_stranger_keep_the_customer_out(
    server: ServerHarness, from_address: Login
) -> None:
    # The negative control of the test above: with the account's own ceiling as low as the
    # per-source one (the old rule: five failures lock the account), the same attack wins.
    customer_id = server.add_customer()
    attack(server, from_address, customer_id, hours=1)
    refused(from_address(HOME, customer_id), "account_locked")


def test_the_customers_own_source_is_delayed_only_by_its_own_failures(
    server: ServerHarness, from_address: Login
) -> None:
    customer_id = server.add_customer()
    for _ in range(server.settings.login_max_failures):
        refused(from_address(STRANGER, customer_id, WRONG), "login_failed")
    refused(from_address(STRANGER, customer_id), "account_locked")
    # The customer mistypes at home: told how many tries are left there, counting from 5.
    body = refused(from_address(HOME, customer_id, WRONG), "login_failed")
    assert body["details"] == {"tries_left": server.settings.login_max_failures - 1}
    assert from_address(HOME, customer_id).status_code == 201


def test_many_sources_against_one_account_meet_its_global_ceiling(
    server: ServerHarness, from_address: Login
) -> None:
    customer_id = server.add_customer()
    settings = server.settings
    per_source, ceiling = settings.login_max_failures, settings.login_account_max_failures
    sources = [f"198.51.100.{n}" for n in range(1, ceiling // per_source + 1)]
    for address in sources:
        # Each source gets its own five tries, then waits; its later tries do not reach the
        # ceiling, so one source alone never could.
        for _ in range(per_source):
            refused(from_address(address, customer_id, WRONG), "login_failed")
        refused(from_address(address, customer_id, WRONG), "account_locked")
    # Ten sources together: now every source waits, a new one and the customer's too.
    body = refused(from_address(HOME, customer_id), "account_locked")
    assert locked_until(body) == server.clock.now + settings.login_delay
    (summary,), _ = service_desk.list_customers(server.host, locked=True)
    assert summary.id == customer_id and summary.locked_until == locked_until(body)
    assert summary.failed_logins == ceiling
    # Customer service lets the customer in again without changing the password.
    assert service_desk.unlock(server.host, customer_id, actor="staff:test") is True
    assert from_address(HOME, customer_id).status_code == 201


@pytest.mark.parametrize("settings_overrides", [{"login_source_max_failures": 6}])
def test_one_source_trying_many_accounts_is_throttled_as_a_source(
    server: ServerHarness, from_address: Login
) -> None:
    victims = [server.add_customer() for _ in range(3)]
    ids = [*victims, server.new_customer_id(), server.new_customer_id(), server.new_customer_id()]
    for customer_id in ids:  # a spray: one password on each of six IDs, known or not
        refused(from_address(STRANGER, customer_id, WRONG), "login_failed")
    another = server.add_customer()
    body = refused(from_address(STRANGER, another), "account_locked")
    assert locked_until(body) == server.clock.now + server.settings.login_delay
    # The source is throttled, not the accounts: each customer logs in from home.
    for customer_id in [*victims, another]:
        assert from_address(HOME, customer_id).status_code == 201


# -- what the customer is told, and what an unknown ID is told ---------------------------


def answers(from_address: Login, address: str, customer_id: str) -> list[Any]:
    seen = []
    for _ in range(7):
        response = from_address(address, customer_id, WRONG)
        body = response.json()
        seen.append((response.status_code, body["error"], body["message"], body.get("details")))
    return seen


def test_unknown_and_known_ids_answer_alike(server: ServerHarness, from_address: Login) -> None:
    known = server.add_customer()
    unknown = server.new_customer_id()
    for_known = answers(from_address, STRANGER, known)
    # From a fresh source, so that the source's own count is the same too.
    for_unknown = answers(from_address, "198.51.100.8", unknown)
    assert for_known == for_unknown
    assert [a[1] for a in for_known] == ["login_failed"] * 5 + ["account_locked"] * 2
    assert [a[3] for a in for_known][:5] == [{"tries_left": n} for n in (4, 3, 2, 1, 0)]
    counters = {
        (r.customer_id != "", r.source != "", r.failures) for r in server.rows(LoginThrottle)
    }
    assert counters == {(True, True, 5), (False, True, 5), (True, False, 5)}
    assert len(server.rows(LoginThrottle)) == 6  # three for each ID, the same three


def test_an_unknown_id_is_checked_against_a_hash_of_the_same_cost(server: ServerHarness) -> None:
    # The time an answer takes must not tell whether an ID has an account: an unknown ID is
    # verified against a dummy hash made with the host's own Argon2 parameters, so it costs
    # one hash like a known one. (Timing itself is the bench's to measure, not a test's.)
    known = server.add_customer()
    with server.host.db.read() as session:
        customer = session.get(Customer, known)
    assert customer is not None
    known_hash = customer.password_hash
    settings = server.host.settings
    dummy = customers._dummy_hash(
        settings.password_kdf_memory_kib, settings.password_kdf_iterations
    )

    def cost(phc: str) -> str:
        return phc.split("$")[3]  # $argon2id$v=19$m=…,t=…,p=…$salt$hash

    assert cost(dummy) == cost(known_hash)
    customers_login(server, server.new_customer_id(), "192.0.2.1")  # answered like a known ID
    customers_login(server, known, "192.0.2.2")


def customers_login(server: ServerHarness, customer_id: str, source: str) -> None:
    with pytest.raises(ServiceError) as caught:
        customers.login(
            server.host, customer_id=customer_id, password=WRONG, device_kind="pc", source=source
        )
    assert caught.value.code == "login_failed"


# -- counting before the hash, under a race ---------------------------------------------


def test_ten_simultaneous_wrong_passwords_are_hashed_at_most_five_times(
    server: ServerHarness,
) -> None:
    for _ in range(3):
        customer_id = server.add_customer()
        wrong = {"customer_id": customer_id, "password": WRONG, "device_kind": "pc"}
        responses = race(
            *[lambda w=wrong: server.client.post("/api/v1/sessions", json=w) for _ in range(10)]
        )
        codes = sorted(r.json()["error"] for r in responses)
        assert codes == ["account_locked"] * 5 + ["login_failed"] * 5
        left = sorted(r.json()["details"]["tries_left"] for r in responses if r.status_code == 401)
        assert left == [0, 1, 2, 3, 4]
        failures = server.audit(action="login", customer_id=customer_id, outcome="login_failed")
        assert len(failures) == 5


def test_ten_simultaneous_wrong_enrollment_codes_are_compared_at_most_five_times(
    server: ServerHarness,
) -> None:
    customer_id = server.add_customer()
    code = server.enrollment_code(customer_id)
    token = server.login_token(customer_id)
    wrong = "ACDEFHJKLMNP" if code != "ACDEFHJKLMNP" else "MNPQRUVWXYad"
    responses = race(
        *[
            lambda: server.post("/enrollment/check", token, {"enrollment_code": wrong})
            for _ in range(10)
        ]
    )
    invalid = sorted(
        r.json()["details"]["tries_left"]
        for r in responses
        if r.json()["error"] == "enrollment_code_invalid"
    )
    assert invalid == [1, 2, 3, 4]
    assert sum(r.json()["error"] == "enrollment_code_locked" for r in responses) == 6
    (slip,) = server.rows(EnrollmentCode, customer_id=customer_id)
    assert slip.failed_attempts == 5
    refused(
        server.post("/enrollment/check", token, {"enrollment_code": code}), "enrollment_code_locked"
    )


def test_a_right_enrollment_code_does_not_use_up_a_try(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    code = server.enrollment_code(customer_id)
    token = server.login_token(customer_id)
    for _ in range(3):
        assert server.post("/enrollment/check", token, {"enrollment_code": code}).status_code == 200
    (slip,) = server.rows(EnrollmentCode, customer_id=customer_id)
    assert slip.failed_attempts == 0


# -- customer service and the audit trail -----------------------------------------------


def test_customer_service_unlocks_without_changing_the_password(
    server: ServerHarness, from_address: Login
) -> None:
    customer_id = server.add_customer()
    session = server.login(customer_id)
    for _ in range(server.settings.login_max_failures):
        refused(from_address(STRANGER, customer_id, WRONG), "login_failed")
    body = refused(from_address(STRANGER, customer_id), "account_locked")
    card = service_desk.customer_card(server.host, customer_id)
    assert card.summary.locked_until == locked_until(body)
    assert card.summary.failed_logins == server.settings.login_max_failures

    assert service_desk.unlock(server.host, customer_id, actor="staff:desk") is True
    assert service_desk.customer_card(server.host, customer_id).summary.locked_until is None
    # The same password works, from the source that was delayed, and the session lives on.
    assert from_address(STRANGER, customer_id).status_code == 201
    live = server.rows(LoginSession, customer_id=customer_id, ended_at=None)
    assert len(live) == 2  # the session opened before the lock still lives, and the new one
    assert session.status().code is not None
    assert service_desk.unlock(server.host, customer_id, actor="staff:desk") is False
    unlocks = server.audit(action="unlock", customer_id=customer_id)
    assert [(e.outcome, e.actor) for e in unlocks] == [
        ("ok", "staff:desk"),
        ("not_locked", "staff:desk"),
    ]
    assert f"was_locked_until={format_time(locked_until(body))}" in unlocks[0].detail


def test_the_audit_shows_failures_throttling_and_unlocks_without_secrets(
    server: ServerHarness, from_address: Login
) -> None:
    customer_id = server.add_customer()
    unknown = server.new_customer_id()
    for _ in range(server.settings.login_max_failures + 1):
        from_address(STRANGER, customer_id, WRONG)
    from_address(STRANGER, unknown, WRONG)
    service_desk.unlock(server.host, customer_id, actor="staff:desk")
    assert from_address(HOME, customer_id).status_code == 201
    events = server.audit()
    logins = [e for e in events if e.action == "login"]
    assert [e.outcome for e in logins] == (
        ["login_failed"] * 5 + ["account_locked", "login_failed", "ok"]
    )
    assert [e.detail for e in logins[:2]] == [
        f"source={STRANGER} tries_left=4",
        f"source={STRANGER} tries_left=3",
    ]
    assert logins[4].detail == f"source={STRANGER} tries_left=0 delay_started=pair"
    assert logins[5].detail.startswith(f"source={STRANGER} throttled=pair until=")
    # The unknown ID's try counts like a known one's; the row does not name the ID.
    assert (logins[6].customer_id, logins[6].detail) == (None, f"source={STRANGER} tries_left=4")
    assert logins[7].detail == f"source={HOME}"
    assert [e.action for e in events if e.action == "unlock"] == ["unlock"]
    for event in events:
        assert WRONG not in event.detail and PASSWORD not in event.detail


def _row_counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        return {
            "throttle": len(session.exec(select(LoginThrottle)).all()),
            "audit": len(session.exec(select(AuditEvent)).all()),
        }


def test_revision_0003_goes_down_and_up_again(tmp_path: Path) -> None:
    from sync_server.host import open_host

    settings = Settings(data_dir=tmp_path / "data", **FAST_KDF)
    host = open_host(settings)
    try:
        customer_id = "A123456789"
        customers.create_customer(
            host, customer_id=customer_id, name="Lin", password=PASSWORD, actor="staff:test"
        )
        with pytest.raises(ServiceError):
            customers.login(host, customer_id=customer_id, password=WRONG, device_kind="pc")
    finally:
        host.db.dispose()
    db = Database(settings.resolved_database_url)
    try:
        assert _row_counts(db)["throttle"] == 3
        with db.connect() as conn:
            command.downgrade(schema._config(conn), "0002")
        assert schema.inspect(db).revision == "0002"
        schema.upgrade(db, create=False)
        assert schema.inspect(db).state is schema.State.CURRENT
        assert _row_counts(db)["throttle"] == 0  # counters are not kept across a downgrade
    finally:
        db.dispose()


def test_counters_that_count_nothing_any_more_are_pruned(
    server: ServerHarness, from_address: Login
) -> None:
    customer_id = server.add_customer()
    for _ in range(server.settings.login_max_failures):
        from_address(STRANGER, customer_id, WRONG)
    from_address(HOME, server.new_customer_id(), WRONG)
    with server.host.db.write() as session:
        assert login_throttle.prune(session, server.settings, server.clock.now) == 0
    server.clock.advance(server.settings.login_failure_window)
    with server.host.db.write() as session:
        assert login_throttle.prune(session, server.settings, server.clock.now) == 6
    assert server.rows(LoginThrottle) == []
    # And the answers are those of a fresh start.
    body = refused(from_address(STRANGER, customer_id, WRONG), "login_failed")
    assert body["details"] == {"tries_left": server.settings.login_max_failures - 1}


def test_the_throttle_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "SYNC_LOGIN_MAX_FAILURES": "3",
            "SYNC_LOGIN_SOURCE_MAX_FAILURES": "40",
            "SYNC_LOGIN_ACCOUNT_MAX_FAILURES": "30",
            "SYNC_LOGIN_DELAY": "30s",
            "SYNC_LOGIN_LOCKOUT": "1h",
            "SYNC_LOGIN_FAILURE_WINDOW": "2h",
        }
    )
    assert (
        settings.login_max_failures,
        settings.login_source_max_failures,
        settings.login_account_max_failures,
    ) == (3, 40, 30)
    assert (settings.login_delay, settings.login_lockout, settings.login_failure_window) == (
        timedelta(seconds=30),
        timedelta(hours=1),
        timedelta(hours=2),
    )
    defaults = Settings()
    assert (defaults.login_source_max_failures, defaults.login_account_max_failures) == (100, 50)
    assert (defaults.login_delay, defaults.login_failure_window) == (
        timedelta(minutes=1),
        timedelta(hours=1),
    )


@pytest.mark.parametrize(
    "environ",
    [
        {"SYNC_LOGIN_SOURCE_MAX_FAILURES": "0"},
        {"SYNC_LOGIN_ACCOUNT_MAX_FAILURES": "0"},
        {"SYNC_LOGIN_DELAY": "20m"},  # longer than the longest wait (15 minutes)
    ],
)
def test_a_throttle_that_cannot_work_is_refused_at_start(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(environ)
