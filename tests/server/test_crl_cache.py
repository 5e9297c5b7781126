"""The CRL is signed once and served from memory until a revocation (anywhere) or its refresh.

Revocations come from other processes (``admin``) and other instances: here a second host on
the same database plays that part, as ``sync-server admin revoke`` would. The cost of a CRL
must follow the number of revoked certificates, not of certificates: the query reads only the
partial index, and a request with nothing new does no signing and no scan at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from sqlalchemy import text
from starlette.testclient import TestClient

from sync_server import crl, revocation
from sync_server.app import create_app
from sync_server.ca import new_serial
from sync_server.host import Host, open_host
from sync_server.models import serial_tail
from sync_server.settings import Settings

from .harness import FAST_KDF, ServerHarness
from .pg import fresh_database
from .test_observability import scrape, value


def get_crl(client: TestClient) -> tuple[bytes, x509.CertificateRevocationList]:
    response = client.get("/api/v1/crl")
    assert response.status_code == 200
    return response.content, x509.load_der_x509_crl(response.content)


def number(crl_: x509.CertificateRevocationList) -> int:
    return crl_.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def signatures(client: TestClient) -> float:
    return value(scrape(client), "certsync_crl_signatures_total")


@pytest.fixture
def staff(server: ServerHarness) -> Iterator[Host]:
    """Another process's host on the same database, as ``sync-server admin`` opens it."""
    other = open_host(server.settings, clock=server.clock, create=False)
    yield other
    other.db.dispose()


def test_the_crl_is_signed_once_and_served_again(server: ServerHarness) -> None:
    first, parsed = get_crl(server.client)
    for _ in range(5):
        assert get_crl(server.client)[0] == first
    assert signatures(server.client) == 1
    assert parsed.is_signature_valid(server.host.ca.cert.public_key())  # type: ignore[arg-type]


def test_a_revocation_by_another_process_is_listed_at_once(
    server: ServerHarness, staff: Host
) -> None:
    enrolled = server.enroll()
    _, before = get_crl(server.client)
    assert len(before) == 0
    revocation.revoke(staff, str(enrolled.serial), reason="key_compromise", actor="staff:bob")
    _, after = get_crl(server.client)
    assert after.get_revoked_certificate_by_serial_number(enrolled.serial) is not None
    assert number(after) > number(before)
    assert signatures(server.client) == 2
    get_crl(server.client)
    assert signatures(server.client) == 2


def test_the_crl_is_signed_again_when_next_update_nears(server: ServerHarness) -> None:
    lifetime = server.settings.crl_lifetime
    der, first = get_crl(server.client)
    server.clock.advance(lifetime * 3 / 4 - timedelta(seconds=1))
    assert get_crl(server.client)[0] == der  # still most of its life ahead
    server.clock.advance(seconds=1)
    again, renewed = get_crl(server.client)
    assert again != der and number(renewed) == number(first) + 1
    assert renewed.next_update_utc == server.clock.now + lifetime
    assert signatures(server.client) == 2


def test_freshness_is_a_pure_rule() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 12, 2, tzinfo=UTC)
    day = timedelta(days=1)
    signed = crl.SignedCrl(b"", 7, revocations=3, this_update=at, next_update=at + day)
    assert crl.is_fresh(signed, revocations=3, now=at, lifetime=day)
    assert not crl.is_fresh(signed, revocations=4, now=at, lifetime=day)
    assert not crl.is_fresh(signed, revocations=3, now=at + day * 3 / 4, lifetime=day)
    assert not crl.is_fresh(signed, revocations=3, now=at - timedelta(seconds=1), lifetime=day)
    assert not crl.is_fresh(None, revocations=0, now=at, lifetime=day)


def test_the_crl_reads_only_the_revoked_index(server: ServerHarness) -> None:
    with server.host.db.read() as session:
        sql = str(crl.REVOKED_ENTRIES.compile(compile_kwargs={"literal_binds": True}))
        compiled = text(f"EXPLAIN QUERY PLAN {sql}")
        plan = " ".join(str(row) for row in session.exec(compiled))  # type: ignore[call-overload]
    assert "COVERING INDEX ix_certificate_revoked" in plan, plan


def _bulk_certificates(host: Host, count: int, *, revoked: int, start: int) -> None:
    """``count`` certificate rows (placeholder PEM: the CRL never reads it), through SQLite's
    own ``executemany``: the ORM would take longer than everything else in this test."""
    stamp = host.now().strftime("%Y-%m-%d %H:%M:%S.%f")  # the form UTCDateTime stores
    rows = []
    for i in range(count):
        serial = new_serial()
        gone = i < revoked
        rows.append(
            (str(serial), serial_tail(serial), "A123456789", f"{start + i:064x}", stamp, stamp,
             stamp, "apply", "-", stamp if gone else None, "superseded" if gone else None)
        )  # fmt: skip
    with host.db.write() as session:
        raw = session.connection().connection.driver_connection
        assert raw is not None
        raw.executemany(
            "INSERT INTO certificate (serial, serial_tail, customer_id, fingerprint_sha256, "
            "not_before, not_after, issued_at, issued_via, cert_pem, revoked_at, "
            "revocation_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for _ in range(revoked):
            crl.note_revocation(session)


@pytest.mark.slow
def test_at_100000_certificates_the_crl_lists_the_revoked_and_is_served_from_memory(
    server: ServerHarness,
) -> None:
    # How long it takes at 1,000 and at 100,000 is a benchmark's figure, not a test's:
    # `python3 dev.py bench --only crl` prints both and their ratio (docs/PERFORMANCE.md).
    server.add_customer("A123456789")
    _bulk_certificates(server.host, 1_000, revoked=50, start=0)
    _bulk_certificates(server.host, 99_000, revoked=0, start=1_000)
    with server.host.db.read() as session:
        assert session.exec(text("SELECT COUNT(*) FROM certificate")).one()[0] == 100_000  # type: ignore[call-overload]
    first, listed = get_crl(server.client)
    assert len(listed) == 50
    signed = signatures(server.client)
    for _ in range(20):
        assert get_crl(server.client)[0] == first
    assert signatures(server.client) == signed  # served again, never signed again


@pytest.mark.postgres
def test_instances_on_postgres_see_each_others_revocations(tmp_path: Path) -> None:
    with fresh_database() as url:
        settings = Settings(data_dir=tmp_path / "ca", database_url=url, **FAST_KDF)
        hosts = [open_host(settings), open_host(settings)]
        ids = itertools.count(1)
        try:
            with TestClient(create_app(hosts[0])) as a, TestClient(create_app(hosts[1])) as b:
                harness = ServerHarness(hosts[0], a.app, a, None, ids=ids)  # type: ignore[arg-type]
                enrolled = harness.enroll()
                _, a0 = get_crl(a)
                _, b0 = get_crl(b)
                assert number(b0) > number(a0)  # one sequence for every instance
                revocation.revoke(
                    hosts[1], str(enrolled.serial), reason="key_compromise", actor="staff:t"
                )
                _, a1 = get_crl(a)
                assert a1.get_revoked_certificate_by_serial_number(enrolled.serial) is not None
                assert number(a1) > number(b0)
                assert signatures(a) == 2 and signatures(b) == 1
        finally:
            for host in hosts:
                host.db.dispose()
