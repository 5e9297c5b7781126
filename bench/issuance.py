"""Issuance: K clients enrolling over HTTP, beside the CA's raw signing rate; and logins.

An enrolment is ``login`` then ``apply``. Login verifies an Argon2id hash (memory-hard, about
20 ms of CPU on purpose), so it is measured on its own; the issuance figure opens its sessions
before the clock starts and times ``apply`` alone: vetting the CSR, consuming the one-time
enrollment code, signing, storing the certificate and its audit row.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509

from bench.load import bearer, closed_loop, expect, get_ok
from bench.prepare import BenchCustomer, Population, make_csrs
from bench.stats import Run
from bench.wire import Client
from sync_client.keys import KeyKind
from sync_server.ca import CA, new_serial

APPLY = "/api/v1/certificate/apply"
LOGIN = "/api/v1/sessions"


@dataclass(frozen=True)
class Enrolment:
    """What one apply sends: a customer with a fresh slip, and a CSR made before timing."""

    customer: BenchCustomer
    csr_pem: str


def prepare_enrolments(population: Population, count: int, kind: KeyKind) -> list[Enrolment]:
    customers = population.add(count, slip=True)
    csrs = make_csrs([c.customer_id for c in customers], kind)
    return [Enrolment(c, csr) for c, csr in zip(customers, csrs, strict=True)]


def run_issuance(
    urls: Sequence[str], enrolments: Sequence[Enrolment], *, concurrency: int
) -> tuple[Run, list[str]]:
    """Every enrolment applied once, spread round-robin over ``urls``; each must get 201."""

    async def send(client: Client, i: int) -> None:
        item = enrolments[i]
        response = await client.post(
            urls[i % len(urls)] + APPLY,
            headers=bearer(item.customer.pc_token),
            json={
                "enrollment_code": item.customer.enrollment_code,
                "terms_accepted": True,
                "csr_pem": item.csr_pem,
            },
        )
        expect(response, 201)

    async def warmup(client: Client, i: int) -> None:
        await get_ok(client, urls[i % len(urls)] + "/api/v1/policy")

    return closed_loop(send, total=len(enrolments), concurrency=concurrency, warmup=warmup)


def run_logins(
    urls: Sequence[str], customers: Sequence[BenchCustomer], password: str, *, concurrency: int
) -> tuple[Run, list[str]]:
    """One PC login per customer: Argon2id verification, a session row, an audit row."""

    async def send(client: Client, i: int) -> None:
        response = await client.post(
            urls[i % len(urls)] + LOGIN,
            json={
                "customer_id": customers[i].customer_id,
                "password": password,
                "device_kind": "pc",
            },
        )
        expect(response, 201)

    async def warmup(client: Client, i: int) -> None:
        await get_ok(client, urls[i % len(urls)] + "/api/v1/policy")

    return closed_loop(send, total=len(customers), concurrency=concurrency, warmup=warmup)


def raw_signing_run(data_dir: Path, csr_pems: Sequence[str]) -> Run:
    """The server's CA, loaded from its data folder, signing the same CSRs in this process.

    Only ``CA.issue_certificate`` is timed: the certificate profile and the signature, nothing
    of HTTP, JSON or the database. CSRs are parsed before the clock starts.
    """
    ca = CA.load_or_create(data_dir, passphrase=None)
    csrs = [x509.load_pem_x509_csr(pem.encode()) for pem in csr_pems]
    names = [csr.subject.rfc4514_string().removeprefix("CN=") for csr in csrs]
    from sync_server.models import utcnow

    now = utcnow()
    latencies: list[float] = []
    cpu_before, started = time.process_time(), time.perf_counter()
    for csr, name in zip(csrs, names, strict=True):
        t0 = time.perf_counter()
        ca.issue_certificate(
            csr,
            subject_cn=name,
            serial=new_serial(),
            not_before=now,
            not_after=now + timedelta(days=365),
        )
        latencies.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started
    return Run.of(seconds, latencies, client_cpu_seconds=time.process_time() - cpu_before)
