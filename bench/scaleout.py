"""Scale-out: two instances on one PostgreSQL database, and proof that nothing is used twice.

The throughput runs are the issuance and pairing runs of ``issuance.py`` and ``pairing.py``
with their calls spread round-robin over the instances. Round-robin alone rarely makes two
instances fight over one item, so the at-most-once check provokes it: every enrollment code is
sent twice at the same moment (two different CSRs, one request to each instance), and every
relay slot is claimed twice at the same moment (one claim on each instance). Exactly one of
each pair may win — checked on the answers and again in the database afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import httpx2
from sqlalchemy import text

from bench.issuance import APPLY, Enrolment
from bench.load import REQUEST_TIMEOUT_SECONDS, bearer, expect
from bench.pairing import PFX_SIZE, SLOTS, upload_body
from bench.prepare import BenchCustomer, make_csrs
from sync_server.host import Host

PAYLOAD = b"x" * PFX_SIZE  # what each raced slot carries

# The answers the losing request of a race may get; anything else is a failure.
LOSING_APPLY = {"enrollment_code_used", "certificate_already_valid"}
LOSING_CLAIM = {"slot_spent"}
RACE_CONCURRENCY = 8


@dataclass(frozen=True)
class RaceResult:
    """How the provoked races ended, per item: exactly one winner is the only good outcome."""

    items: int
    double_wins: int
    no_wins: int
    unexpected: list[str]


@dataclass(frozen=True)
class DatabaseCheck:
    """Counts read from the database after every scale-out run."""

    customers_with_two_certificates: int
    codes_used: int
    certificates_from_http: int
    claims_ok_in_audit: int
    slots_claimed: int

    @property
    def double_used(self) -> int:
        return (
            self.customers_with_two_certificates
            + max(0, self.certificates_from_http - self.codes_used)
            + max(0, self.claims_ok_in_audit - self.slots_claimed)
        )


def _code(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return str(body.get("error", f"HTTP {response.status_code}"))


async def _race_applies(urls: Sequence[str], enrolments: Sequence[Enrolment]) -> RaceResult:
    second_csrs = make_csrs([e.customer.customer_id for e in enrolments], "ec")
    gate = asyncio.Semaphore(RACE_CONCURRENCY)
    wins: list[int] = []
    unexpected: list[str] = []

    async with httpx2.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:

        async def apply(url: str, item: Enrolment, csr_pem: str) -> httpx2.Response:
            return await client.post(
                url + APPLY,
                headers=bearer(item.customer.pc_token),
                json={
                    "enrollment_code": item.customer.enrollment_code,
                    "terms_accepted": True,
                    "csr_pem": csr_pem,
                },
            )

        async def race(item: Enrolment, other_csr: str) -> None:
            async with gate:
                answers = await asyncio.gather(
                    apply(urls[0], item, item.csr_pem), apply(urls[1 % len(urls)], item, other_csr)
                )
            won = [a for a in answers if a.status_code == 201]
            wins.append(len(won))
            for answer in answers:
                if answer.status_code != 201 and _code(answer) not in LOSING_APPLY:
                    unexpected.append(f"apply: {_code(answer)}")

        await asyncio.gather(*(race(e, c) for e, c in zip(enrolments, second_csrs, strict=True)))
    return RaceResult(
        len(enrolments), sum(w > 1 for w in wins), sum(w == 0 for w in wins), unexpected
    )


async def _race_claims(urls: Sequence[str], customers: Sequence[BenchCustomer]) -> RaceResult:
    gate = asyncio.Semaphore(RACE_CONCURRENCY)
    wins: list[int] = []
    unexpected: list[str] = []

    async with httpx2.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS) as client:

        async def race(customer: BenchCustomer) -> None:
            async with gate:
                pc = bearer(customer.pc_token)
                opened = expect(
                    await client.post(
                        urls[0] + SLOTS,
                        headers=pc,
                        json={"certificate_fingerprint": customer.certificate_fingerprint},
                    ),
                    201,
                )
                slot_id = opened.json()["slot_id"]
                body = upload_body(customer, origin=urls[0], slot_id=slot_id, payload=PAYLOAD)
                expect(
                    await client.put(
                        f"{urls[0]}{SLOTS}/{slot_id}/ciphertext", headers=pc, json=body
                    ),
                    204,
                )
                phone = bearer(customer.mobile_token)
                answers = await asyncio.gather(
                    *(client.post(f"{url}{SLOTS}/{slot_id}/claim", headers=phone) for url in urls)
                )
            wins.append(sum(a.status_code == 200 for a in answers))
            for answer in answers:
                if answer.status_code != 200 and _code(answer) not in LOSING_CLAIM:
                    unexpected.append(f"claim: {_code(answer)}")

        await asyncio.gather(*(race(c) for c in customers))
    return RaceResult(
        len(customers), sum(w > 1 for w in wins), sum(w == 0 for w in wins), unexpected
    )


def race_applies(urls: Sequence[str], enrolments: Sequence[Enrolment]) -> RaceResult:
    """Each enrollment code sent to two instances at once, with two different CSRs."""
    return asyncio.run(_race_applies(urls, enrolments))


def race_claims(urls: Sequence[str], customers: Sequence[BenchCustomer]) -> RaceResult:
    """One fresh slot per customer, claimed on every instance at once."""
    return asyncio.run(_race_claims(urls, customers))


def check_database(host: Host, *, prepared_certificates: int) -> DatabaseCheck:
    """Read the at-most-once facts straight from the database the instances share."""
    with host.db.read() as session:

        def count(sql: str) -> int:
            return int(session.execute(text(sql)).scalar_one())

        return DatabaseCheck(
            customers_with_two_certificates=count(
                "SELECT count(*) FROM (SELECT customer_id FROM certificate "
                "GROUP BY customer_id HAVING count(*) > 1) AS twice"
            ),
            codes_used=count("SELECT count(*) FROM enrollment_code WHERE used_at IS NOT NULL"),
            certificates_from_http=count("SELECT count(*) FROM certificate")
            - prepared_certificates,
            claims_ok_in_audit=count(
                "SELECT count(*) FROM audit_event WHERE action = 'relay_claim' AND outcome = 'ok'"
            ),
            slots_claimed=count("SELECT count(*) FROM relay_slot WHERE state = 'claimed'"),
        )
