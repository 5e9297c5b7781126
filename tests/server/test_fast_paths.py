"""The hot paths' fast forms say and store exactly what the slow ones did (issue 12).

- ``answers.status_body`` / ``issued_body`` (orjson, the chain pre-encoded) are byte for byte the
  response models' encoding, for every status and certificate state;
- the session check and the status read run on Core rows: a live session passes, an ended,
  expired or unknown one is ``unauthenticated`` and nothing changes;
- the certificate row an apply inserts with Core is whole (``serial_tail`` too) and a refused
  apply inserts none;
- every SQLite connection has the pragmas ``db.py`` writes down (WAL, ``synchronous=FULL``);
- every prepared read (``sync_server.prepared``) gives the row SQLAlchemy's own execution gives,
  and sees each new commit, on the event loop's thread and on any other; a prepared write
  returns, counts, fills defaults and fails as SQLAlchemy's execution does.
"""

from __future__ import annotations

import gc
import re
import sqlite3
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, text
from sqlalchemy import select as sql_select
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.routing import Match, Route

from sync_client.errors import ServerRefused
from sync_client.keys import build_csr_pem, generate_private_key
from sync_client.wire import routes as wire_routes
from sync_server import certificate_views, crl, customers, enrollment, orders, relay
from sync_server.answers import issued_answer, issued_body, status_answer, status_body
from sync_server.app import BUSIEST_FIRST, routing_order
from sync_server.certificate_views import status_at
from sync_server.credentials import hash_token
from sync_server.errors import ServiceError
from sync_server.models import Certificate, EnrollmentCode, LoginSession, RelaySlot, serial_tail
from sync_server.prepared import execute

from .harness import ServerHarness, refused


def _latest(server: ServerHarness, customer_id: str) -> Certificate:
    with server.host.db.read() as session:
        cert = certificate_views.latest_certificate(session, customer_id)
    assert cert is not None
    return cert


def test_the_fast_encodings_are_the_models_bytes_for_every_state(server: ServerHarness) -> None:
    host = server.host
    window = host.settings.renewal_window
    enrolled = server.enroll()
    cert = _latest(server, enrolled.customer_id)
    moments = {
        "valid": server.clock.now,
        "expiring": cert.not_after - window,
        "expired": cert.not_after,
    }
    seen = set()
    for label, moment in moments.items():
        server.clock.now = moment
        status = status_at(enrolled.customer_id, cert, now=moment, window=window)
        assert status.code.label == label
        assert status_body(host, status) == status_answer(host, status).to_json_bytes()
        assert issued_body(host, cert) == issued_answer(host, cert).to_json_bytes()
        seen.add(label)
    none = status_at("A100000001", None, now=server.clock.now, window=window)
    assert status_body(host, none) == status_answer(host, none).to_json_bytes()
    revoked = cert.model_copy(update={"revoked_at": server.clock.now})
    for changed in (revoked, cert.model_copy(update={"superseded_at": server.clock.now})):
        status = status_at(enrolled.customer_id, changed, now=server.clock.now, window=window)
        assert status_body(host, status) == status_answer(host, status).to_json_bytes()
        assert issued_body(host, changed) == issued_answer(host, changed).to_json_bytes()
    assert seen == set(moments)


def test_status_over_http_is_the_models_answer(server: ServerHarness) -> None:
    enrolled = server.enroll()
    token = server.login_token(enrolled.customer_id)
    response = server.client.get(
        "/api/v1/certificate/status", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    expected = status_answer(
        server.host, certificate_views.get_status(server.host, enrolled.customer_id)
    )
    assert response.content == expected.to_json_bytes()


def test_the_core_session_check_passes_a_live_session_only(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    token = server.login_token(customer_id)
    who = customers.authenticate(server.host, token)
    assert (who.customer_id, who.device_kind) == (customer_id, "pc")
    assert certificate_views.status_for_token(server.host, token).certificate is None
    sessions_before = server.rows(LoginSession)

    for bad in ("not-a-token", token + "x"):
        with pytest.raises(ServiceError) as caught:
            customers.authenticate(server.host, bad)
        assert caught.value.code.value == "unauthenticated"
        with pytest.raises(ServiceError):
            certificate_views.status_for_token(server.host, bad)
    server.clock.advance(server.settings.session_lifetime)  # expired at its expires_at
    with pytest.raises(ServiceError):
        customers.authenticate(server.host, token)
    body = server.client.get(
        "/api/v1/certificate/status", headers={"Authorization": f"Bearer {token}"}
    )
    refused(body, "unauthenticated")
    assert server.rows(LoginSession) == sessions_before  # the check changed nothing


def test_an_ended_session_is_refused_by_the_core_lookup(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    token = server.login_token(customer_id)
    customers.logout(server.host, token)
    with pytest.raises(ServiceError):
        customers.authenticate(server.host, token)


def test_apply_inserts_a_whole_row_and_a_refusal_inserts_none(server: ServerHarness) -> None:
    customer_id = server.add_customer()
    sdk = server.login(customer_id)
    code = server.enrollment_code(customer_id)
    csr = build_csr_pem(generate_private_key("ec"), customer_id)
    with pytest.raises(ServerRefused) as caught:
        sdk.apply(enrollment_code=code[::-1], csr_pem=csr, terms_accepted=True)
    assert caught.value.code == "enrollment_code_invalid"
    assert server.rows(Certificate, customer_id=customer_id) == []
    (slip,) = server.rows(EnrollmentCode, customer_id=customer_id)
    assert slip.failed_attempts == 1 and slip.used_at is None  # the wrong try stays counted

    issued = sdk.apply(enrollment_code=code, csr_pem=csr, terms_accepted=True)
    (row,) = server.rows(Certificate, customer_id=customer_id)
    assert int(row.serial) == issued.certificate.serial
    assert row.serial_tail == serial_tail(int(row.serial))
    assert row.cert_pem == issued.certificate.cert_pem
    assert row.issued_via == "apply" and row.not_before == server.clock.now
    assert row.not_after - row.not_before == server.settings.certificate_validity
    (slip,) = server.rows(EnrollmentCode, customer_id=customer_id)
    assert slip.used_at == server.clock.now and slip.failed_attempts == 1
    assert [e.outcome for e in server.audit(action="apply")][-2:] == [
        "enrollment_code_invalid",
        "ok",
    ]


def test_every_sqlite_connection_has_the_written_down_pragmas(server: ServerHarness) -> None:
    db = server.host.db
    assert db.is_sqlite
    engines = {db._read_engine, db._write_engine, db._row_engine}
    for engine in engines:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    # An unknown token: no row (and the row engine leaves no transaction open to trip on).
    assert db.read_row(certificate_views._CALLER_STATUS, {"token_hash": "0" * 64}) is None
    assert db.read_row(certificate_views._CALLER_STATUS, {"token_hash": "0" * 64}) is None


def _prepared_reads(server: ServerHarness) -> list[tuple[Any, dict[str, Any]]]:
    """Every statement the server runs through ``read_row``, with parameters that find rows
    holding every kind of column (aware datetimes, NULLs, text), and one that finds none."""
    enrolled = server.enroll()
    customer_id = enrolled.customer_id
    token = server.login_token(customer_id)
    serial = str(_latest(server, customer_id).serial)
    slot = server.sdk(token).open_slot(
        certificate_fingerprint=_latest(server, customer_id).fingerprint_sha256
    )
    token_hash = hash_token(token)
    return [
        (certificate_views._CALLER_STATUS, {"token_hash": token_hash}),
        (certificate_views._CALLER_STATUS, {"token_hash": "0" * 64}),
        (certificate_views._LATEST_CERTIFICATE_ROW, {"customer_id": customer_id}),
        (customers._SESSION_LOOKUP, {"token_hash": token_hash}),
        (orders._CERTIFICATE_BY_SERIAL, {"serial": serial}),
        (relay._SLOT, {"slot_id": slot.slot_id}),
        (crl._REVOCATIONS, {}),
    ]


def test_every_prepared_read_gives_what_sqlalchemy_gives(server: ServerHarness) -> None:
    db = server.host.db
    reads = _prepared_reads(server)
    found = 0
    for statement, params in reads:
        with db._read_engine.connect() as connection:
            expected = connection.execute(statement, params).first()
        got = db.read_row(statement, params)
        if expected is None:
            assert got is None
            continue
        found += 1
        assert tuple(got) == tuple(expected)
        assert list(got._fields) == [c.key for c in statement.selected_columns]
        for value in got:  # times come back aware, in UTC, as the models say
            if isinstance(value, datetime):
                assert value.utcoffset() == timedelta(0)
    assert found == len(reads) - 1


def test_a_prepared_read_sees_each_new_commit_from_any_thread(server: ServerHarness) -> None:
    customer_id = server.new_customer_id()
    server.add_customer(customer_id)
    token = server.login_token(customer_id)
    before = certificate_views.status_for_token(server.host, token)
    assert before.certificate is None
    server.enroll(customer_id)  # commits a certificate on the writer
    # The event loop's thread holds its connection between requests; it sees the commit.
    after = certificate_views.status_for_token(server.host, token)
    assert after.certificate is not None and after.code.is_valid
    seen: list[Any] = []
    worker = threading.Thread(
        target=lambda: seen.append(certificate_views.status_for_token(server.host, token))
    )
    worker.start()
    worker.join(timeout=10)
    assert seen and seen[0].certificate == after.certificate


def test_each_thread_holds_one_read_connection_until_it_ends(server: ServerHarness) -> None:
    db = server.host.db
    token = server.login_token(server.enroll().customer_id)
    certificate_views.status_for_token(server.host, token)
    held_before = len(db._held_row_connections)
    start = threading.Barrier(50)

    def read() -> None:
        start.wait(timeout=10)
        for _ in range(3):  # a thread reuses its connection
            certificate_views.status_for_token(server.host, token)

    threads = [threading.Thread(target=read) for _ in range(50)]  # more than any pool's limit
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
        assert not thread.is_alive()
    # Each ended thread's connection was closed with it; this thread's is still held.
    gc.collect()
    assert len(db._held_row_connections) == held_before
    db.dispose()
    assert len(db._held_row_connections) == 0


def test_the_busiest_first_order_changes_no_route_that_answers(server: ServerHarness) -> None:
    """Every route's path (its parameters filled in) and method match that route and no other,
    so trying the busiest first (``app.routing_order``) changes only how soon it is found."""
    ordered = routing_order()
    assert sorted(r.name for r in ordered) == sorted(r.name for r in wire_routes.ROUTES)
    assert [r.name for r in ordered[: len(BUSIEST_FIRST)]] == list(BUSIEST_FIRST)
    starlette_routes = [r for r in server.app.routes if isinstance(r, Route)]
    for route in wire_routes.ROUTES:
        path = re.sub(r"\{[^}]+\}", "s" * 22, route.path)
        scope = {"type": "http", "path": path, "method": route.method, "root_path": ""}
        full = [r.path for r in starlette_routes if r.matches(scope)[0] == Match.FULL]
        assert full == [route.path], (route.name, full)


def _slot_row(
    slot_id: str, customer_id: str, now: datetime, *, expires_at: datetime
) -> dict[str, Any]:
    """The values ``relay.open_slot`` inserts, less the state (the column's default)."""
    return {
        "id": slot_id,
        "customer_id": customer_id,
        "certificate_serial": "",
        "created_at": now,
        "expires_at": expires_at,
    }


def test_prepared_writes_do_what_sqlalchemy_does(server: ServerHarness) -> None:
    """An ``UPDATE … RETURNING`` gives SQLAlchemy's rows and count, an ``INSERT`` fills the
    columns it is not given with their defaults, as SQLAlchemy's own execution does."""
    customer_id = server.add_customer()
    server.enrollment_code(customer_id)
    (slip,) = server.rows(EnrollmentCode, customer_id=customer_id)
    count_try = {"slip_id": slip.id, "max_attempts": 5}
    db = server.host.db
    with db.write() as session:
        by_sqlalchemy = session.connection().execute(enrollment._COUNT_TRY, count_try)
        expected = [tuple(r) for r in by_sqlalchemy]
        session.rollback()  # this write's savepoint only: the try is not counted
    with db.write() as session:
        outcome = execute(session, enrollment._COUNT_TRY, count_try)
        assert [tuple(r) for r in outcome] == expected == [(1,)]
        assert outcome.first().failed_attempts == 1
        # The rows it changed, counted once they are all read (SQLAlchemy reads sqlite3's
        # count before the RETURNING rows, and says 0 here; nothing reads it for those).
        assert outcome.rowcount == 1
    (slip,) = server.rows(EnrollmentCode, customer_id=customer_id)
    assert slip.failed_attempts == 1

    now = server.clock.now
    slot = _slot_row("s" * 22, customer_id, now, expires_at=now + timedelta(minutes=5))
    slot["certificate_fingerprint"] = "ab" * 32  # not a column of the table: ignored
    with db.write() as session:
        assert execute(session, relay._INSERT_SLOT, slot).rowcount == 1
    (stored,) = server.rows(RelaySlot, customer_id=customer_id)
    assert stored.state == "open"  # the column's default, as SQLAlchemy fills it in
    assert stored.created_at == now and stored.expires_at.tzinfo is not None


def test_a_prepared_write_refused_by_the_database_raises_as_sqlalchemy_would(
    server: ServerHarness,
) -> None:
    customer_id = server.add_customer()
    now = server.clock.now
    slot = _slot_row("t" * 22, customer_id, now, expires_at=now)
    with server.host.db.write() as session:
        execute(session, relay._INSERT_SLOT, slot)
    errors: list[BaseException] = []
    server.host.db.on_error.append(errors.append)
    with pytest.raises(IntegrityError) as raised, server.host.db.write() as session:
        execute(session, relay._INSERT_SLOT, slot)  # the same primary key again
    assert isinstance(raised.value.orig, sqlite3.IntegrityError)
    assert errors and errors[0] is raised.value.orig  # counted, as the metrics count errors
    assert "t" * 22 not in str(raised.value)  # no parameter in the message
    assert len(server.rows(RelaySlot, customer_id=customer_id)) == 1


def test_a_prepared_read_refused_by_the_database_raises_as_sqlalchemy_would(
    server: ServerHarness,
) -> None:
    missing = Table("no_such_table", MetaData(), Column("id", Integer, primary_key=True))
    errors: list[BaseException] = []
    server.host.db.on_error.append(errors.append)
    with pytest.raises(OperationalError) as raised:
        server.host.db.read_row(sql_select(missing.c.id), {})
    assert isinstance(raised.value.orig, sqlite3.OperationalError)
    assert errors == [raised.value.orig]  # counted, as the metrics count errors
