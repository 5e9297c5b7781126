"""Nothing O(n): issuance, status, renewal, pairing and the CRL at 1,000 and 100,000 customers.

Issue 12 wants every hot path flat in the size of the tables. This builds two SQLite databases
through the server's own library: one with 1,000 customers, one with 100,000, each customer
with a login session, a used enrollment slip, a certificate, an ended relay slot and an audit
row (written with SQLAlchemy Core ``executemany`` in one transaction: filler the paths must not
read; placeholder PEM), and 2 % of the certificates revoked. On top, in both, the same handful of
real customers made as the server makes them (``bench.prepare``). Then, interleaved, the same
operations run in process as the routes call them (the HTTP edge is the same at both sizes):

- status: ``status_for_token`` (the session and the latest certificate);
- issuance: ``application.apply`` (slip consumed, certificate and audit row committed);
- renewal: a challenge and ``renewal.renew`` with the old key's proof;
- pairing: ``open_slot`` → ``upload_ciphertext`` → ``claim_slot``;
- CRL: ``sign_crl`` (what follows a revocation).

Each figure prints the median at 100,000 as a multiple of the median at 1,000. The sizes are
the profile's (``--smoke`` uses 200 and 2,000: it proves the harness runs, in seconds).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import insert
from sqlmodel import SQLModel

from bench.prepare import BenchCustomer, Population, make_csrs, national_ids
from bench.stats import Run
from sync_client.envelope import MIN_ENVELOPE_BYTES, VERSION_BYTE
from sync_client.keys import PrivateKey, build_csr_pem, generate_private_key, sign
from sync_client.protocol import csr_sha256, renewal_message
from sync_server import application, crl, relay, renewal
from sync_server.ca import new_serial
from sync_server.certificate_views import status_for_token
from sync_server.customers import Principal, authenticate
from sync_server.host import Host, open_host
from sync_server.models import (
    Certificate,
    serial_tail,
)
from sync_server.settings import Settings

SIZES = (1_000, 100_000)  # issue 12's sizes; the default and --quick profiles use them
REVOKED = 50  # at both sizes: the CRL follows the revocations, the figure the table's size
PATHS = ("status", "issuance", "renewal", "pairing", "crl")
CIPHERTEXT_BYTES = 2600


def _fill(host: Host, count: int) -> None:
    """``count`` filler customers with one row in every table the hot paths read."""
    now = host.now()
    ids = national_ids(900_000_000 + secrets.randbelow(1000) * 200_000)
    customers, sessions, slips, certs, slots, events = [], [], [], [], [], []
    for i in range(count):
        cid = next(ids)
        serial = new_serial()
        revoked = now if i < REVOKED else None
        customers.append(
            {"id": cid, "name": "Filler", "password_hash": "-", "failed_logins": 0,
             "created_at": now}
        )  # fmt: skip
        sessions.append(
            {"token_hash": secrets.token_hex(32), "customer_id": cid, "device_kind": "pc",
             "created_at": now, "expires_at": now + timedelta(hours=8)}
        )  # fmt: skip
        slips.append(
            {"customer_id": cid, "code_hash": secrets.token_hex(32), "created_at": now,
             "expires_at": now + timedelta(days=7), "failed_attempts": 0, "used_at": now,
             "issued_by": "staff:bench"}
        )  # fmt: skip
        certs.append(
            {"serial": str(serial), "serial_tail": serial_tail(serial), "customer_id": cid,
             "fingerprint_sha256": secrets.token_hex(32), "not_before": now,
             "not_after": now + timedelta(days=365), "issued_at": now, "issued_via": "apply",
             "cert_pem": "-", "revoked_at": revoked,
             "revocation_reason": "key_compromise" if revoked else None}
        )  # fmt: skip
        slots.append(
            {"id": secrets.token_urlsafe(16), "customer_id": cid,
             "certificate_serial": str(serial), "state": "claimed", "created_at": now,
             "expires_at": now + timedelta(minutes=5), "ended_at": now}
        )  # fmt: skip
        events.append(
            {"at": now, "actor": "customer", "customer_id": cid, "action": "apply",
             "outcome": "ok", "detail": ""}
        )  # fmt: skip
    with host.db.write() as session:
        tables = SQLModel.metadata.tables
        for name, rows in (
            ("customer", customers), ("login_session", sessions), ("enrollment_code", slips),
            ("certificate", certs), ("relay_slot", slots), ("audit_event", events),
        ):  # fmt: skip
            session.execute(insert(tables[name]), rows)
        for _ in range(min(count, REVOKED)):
            crl.note_revocation(session)
    # The fill went through the WAL: fold it into the database now, untimed, so that no timed
    # commit pays for the checkpoint of 100,000 rows.
    assert host.db.sqlite_path is not None
    with contextlib.closing(sqlite3.connect(host.db.sqlite_path)) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@dataclass
class _Renewable:
    principal: Principal
    key: PrivateKey


def _renewables(host: Host, population: Population, count: int) -> list[_Renewable]:
    """Customers whose certificate (with a key we hold) is inside the renewal window."""
    made = population.add(count)
    now = host.now()
    result = []
    with host.db.write() as session:
        for customer in made:
            key = generate_private_key("ec")
            csr = x509.load_pem_x509_csr(build_csr_pem(key, customer.customer_id).encode())
            serial = new_serial()
            not_after = now + timedelta(days=10)
            cert = host.ca.issue_certificate(
                csr, subject_cn=customer.customer_id, serial=serial,
                not_before=now - timedelta(days=300), not_after=not_after,
            )  # fmt: skip
            der = cert.public_bytes(Encoding.DER)
            session.add(
                Certificate(
                    serial=str(serial),
                    customer_id=customer.customer_id,
                    fingerprint_sha256=hashlib.sha256(der).hexdigest(),
                    not_before=now - timedelta(days=300),
                    not_after=not_after,
                    issued_at=now - timedelta(days=300),
                    issued_via="apply",
                    cert_pem=cert.public_bytes(Encoding.PEM).decode(),
                )
            )
            result.append(_Renewable(Principal(customer.customer_id, "pc"), key))
    return result


@dataclass
class _World:
    """One size's host and the prepared customers each path uses up."""

    host: Host
    status: list[BenchCustomer]
    applicants: list[tuple[Principal, str, str]]  # principal, code, CSR
    renewables: list[_Renewable]
    pair: BenchCustomer


def _world(folder: Path, size: int, repeats: int) -> _World:
    settings = Settings(data_dir=folder, password_kdf_memory_kib=1024, password_kdf_iterations=1)
    host = open_host(settings)
    _fill(host, size)
    population = Population(host)
    applicants = population.add(repeats, slip=True)
    csrs = make_csrs([c.customer_id for c in applicants], "ec")
    return _World(
        host,
        population.add(20, certificate=True),
        [
            (Principal(c.customer_id, "pc"), c.enrollment_code or "", csr)
            for c, csr in zip(applicants, csrs, strict=True)
        ],
        _renewables(host, population, repeats),
        population.add(1, certificate=True)[0],
    )


def _status(world: _World, i: int) -> None:
    status_for_token(world.host, world.status[i % len(world.status)].pc_token)


def _issuance(world: _World, i: int) -> None:
    principal, code, csr = world.applicants[i]
    application.apply(
        world.host, principal, enrollment_code=code, terms_accepted=True, csr_pem=csr,
        terms_version=world.host.settings.info.terms_version,
    )  # fmt: skip


def _renewal(world: _World, i: int) -> None:
    item = world.renewables[i]
    challenge = renewal.create_renewal_challenge(world.host, item.principal)
    new_key = generate_private_key("ec")
    csr_pem = build_csr_pem(new_key, item.principal.customer_id)
    digest = csr_sha256(x509.load_pem_x509_csr(csr_pem.encode()))
    message = renewal_message(challenge.id, challenge.nonce_b64, digest)
    renewal.renew(
        world.host, item.principal, challenge_id=challenge.id, csr_pem=csr_pem,
        signature=sign(item.key, message),
        terms_version=world.host.settings.info.terms_version,
    )  # fmt: skip


def _pairing(world: _World, i: int) -> None:
    pc = authenticate(world.host, world.pair.pc_token)
    phone = authenticate(world.host, world.pair.mobile_token)
    assert world.pair.certificate_fingerprint is not None
    view = relay.open_slot(
        world.host, pc, certificate_fingerprint=world.pair.certificate_fingerprint
    )
    body = VERSION_BYTE + os.urandom(max(CIPHERTEXT_BYTES, MIN_ENVELOPE_BYTES))
    relay.upload_ciphertext(world.host, pc, view.slot_id, body)
    relay.claim_slot(world.host, phone, view.slot_id)


def _crl(world: _World, i: int) -> None:
    crl.sign_crl(world.host, now=world.host.now())


OPERATIONS: dict[str, Callable[[_World, int], None]] = {
    "status": _status,
    "issuance": _issuance,
    "renewal": _renewal,
    "pairing": _pairing,
    "crl": _crl,
}


def measure_sizes(repeats: int, sizes: tuple[int, int] = SIZES) -> dict[str, dict[int, Run]]:
    """Per path and size, ``repeats`` timed operations, the sizes interleaved one by one."""
    samples: dict[str, dict[int, list[float]]] = {p: {s: [] for s in sizes} for p in PATHS}
    with tempfile.TemporaryDirectory(prefix="certsync-bench-sizes-") as folder:
        worlds = {size: _world(Path(folder) / str(size), size, repeats) for size in sizes}
        try:
            for path, operation in OPERATIONS.items():
                for world in worlds.values():  # warm: statement caches, first connections
                    if path == "status":
                        operation(world, 0)
                for i in range(repeats):
                    for size, world in worlds.items():
                        started = time.perf_counter()
                        operation(world, i)
                        samples[path][size].append(time.perf_counter() - started)
        finally:
            for world in worlds.values():
                world.host.db.dispose()
    return {
        path: {size: Run.of(sum(v), v) for size, v in by_size.items()}
        for path, by_size in samples.items()
    }
