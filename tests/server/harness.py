"""What the server tests share besides fixtures: the harness, the test clock, refusal checks.

``tests/conftest.py`` builds a ``ServerHarness`` per test; test modules import the types and
``refused`` from here.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from sqlmodel import SQLModel, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sync_client.api import Issued, SyncClient
from sync_client.keys import PrivateKey, build_csr_pem, generate_private_key
from sync_client.national_id import LETTER_CODES
from sync_client.orders import SignedOrder, build_order, sign_order
from sync_server import customers, enrollment
from sync_server.host import Host
from sync_server.models import AuditEvent
from sync_server.settings import Settings

PASSWORD = "correct horse battery"  # every test customer's login password
REPO = Path(__file__).resolve().parents[2]

# Argon2id at its cheapest: the tests are about rules, not about the KDF's cost.
FAST_KDF: dict[str, Any] = {"password_kdf_memory_kib": 1024, "password_kdf_iterations": 1}


def national_id(seq: int, letter: str = "A") -> str:
    """The ``seq``-th valid national ID under ``letter`` (gender digit 1), check digit computed."""
    body = f"1{seq:07d}"
    code = LETTER_CODES[letter]
    total = code // 10 + (code % 10) * 9
    total += sum(w * int(d) for w, d in zip((8, 7, 6, 5, 4, 3, 2, 1), body, strict=True))
    return f"{letter}{body}{(-total) % 10}"


def _error_statuses() -> dict[str, int]:
    """The error table of docs/PROTOCOL.md: code → HTTP status, as the contract states it."""
    text = (REPO / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    return {m[1]: int(m[2]) for m in re.finditer(r"^\| `([a-z_]+)` \| (\d{3}) \|", text, re.M)}


ERROR_STATUS = _error_statuses()


def assert_error_shape(response: httpx2.Response) -> dict[str, Any]:
    """A refusal has exactly ``error``, ``message`` and maybe ``details``; returns the body."""
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) in ({"error", "message"}, {"error", "message", "details"}), body
    assert isinstance(body["error"], str) and re.fullmatch(r"[a-z_]+", body["error"])
    assert isinstance(body["message"], str) and body["message"].strip()
    if "details" in body:
        assert isinstance(body["details"], dict) and body["details"]
    return body


def refused(response: httpx2.Response, code: str) -> dict[str, Any]:
    """Assert that ``response`` is the refusal ``code`` with the status docs/PROTOCOL.md gives."""
    body = assert_error_shape(response)
    assert body["error"] == code, body
    assert response.status_code == ERROR_STATUS[code], (response.status_code, body)
    return body


class Clock:
    """The host's clock, which a test moves by hand. Starts at the real time (whole seconds),
    so that what the host issues also verifies with ``openssl`` against the real clock."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        self.now += delta if delta is not None else timedelta(**units)
        return self.now


@dataclass(frozen=True)
class Enrolled:
    """A customer who has applied: their PC session, key and the certificate they got."""

    customer_id: str
    sdk: SyncClient
    key: PrivateKey
    issued: Issued

    @property
    def serial(self) -> int:
        return self.issued.certificate.serial


class ServerHarness:
    """The host, its app and a client, plus the factories the server tests share."""

    def __init__(
        self,
        host: Host,
        app: Starlette,
        client: TestClient,
        clock: Clock,
        *,
        ids: Iterator[int] | None = None,
    ) -> None:
        self.host = host
        self.app = app
        self.client = client
        self.clock = clock
        # Harnesses on one database share their ID sequence, so their customers never collide.
        self.ids = ids if ids is not None else itertools.count(1)

    @property
    def settings(self) -> Settings:
        return self.host.settings

    def new_customer_id(self) -> str:
        return national_id(next(self.ids))

    def add_customer(
        self, customer_id: str | None = None, *, password: str = PASSWORD, name: str = "Test"
    ) -> str:
        if customer_id is None:
            customer_id = self.new_customer_id()
        customers.create_customer(
            self.host, customer_id=customer_id, name=name, password=password, actor="staff:test"
        )
        return customer_id

    def enrollment_code(self, customer_id: str) -> str:
        """A new slip's raw code, as the branch counter hands it out."""
        return enrollment.issue_enrollment_code(self.host, customer_id, actor="staff:test").code

    def sdk(self, token: str | None = None) -> SyncClient:
        return SyncClient(self.client, token=token)

    def login(self, customer_id: str, *, kind: str = "pc", password: str = PASSWORD) -> SyncClient:
        sdk = self.sdk()
        sdk.login(customer_id, password, device_kind=kind)
        return sdk

    def login_token(self, customer_id: str, *, kind: str = "pc") -> str:
        """A new session's token, for tests that send raw requests."""
        token = self.login(customer_id, kind=kind).token
        assert token is not None
        return token

    def enroll(self, customer_id: str | None = None, *, key: PrivateKey | None = None) -> Enrolled:
        """Create (if needed), log in on a PC and apply with a fresh slip: a valid certificate."""
        if customer_id is None:
            customer_id = self.add_customer()
        key = key or generate_private_key("ec")
        sdk = self.login(customer_id)
        issued = sdk.apply(
            enrollment_code=self.enrollment_code(customer_id),
            csr_pem=build_csr_pem(key, customer_id),
            terms_accepted=True,
        )
        return Enrolled(customer_id, sdk, key, issued)

    def signed_order(self, enrolled: Enrolled, *, signed_at: str | None = None) -> SignedOrder:
        """A buy order signed now by ``enrolled``'s key, bound to its customer, its serial and
        this host's audience. ``signed_at``, if given, replaces the order's time before it is
        signed (a test of the time's edges)."""
        order = build_order(symbol="2330", side="buy", quantity=1, price="600", now=self.clock.now)
        if signed_at is not None:
            order["signed_at"] = signed_at
        return sign_order(
            enrolled.key,
            order,
            audience=self.host.order_audience,
            customer_id=enrolled.customer_id,
            serial=enrolled.serial,
        )

    def order_body(self, enrolled: Enrolled, *, signed_at: str | None = None) -> dict[str, Any]:
        """``signed_order``'s order as a raw ``POST /orders`` body, for tests that change it."""
        signed = self.signed_order(enrolled, signed_at=signed_at)
        return {
            "order": signed.order,
            "signature": base64.b64encode(signed.signature).decode(),
            "serial": str(enrolled.serial),
            "customer_id": enrolled.customer_id,
            "audience": signed.audience,
        }

    def post(self, path: str, token: str | None, body: Any = None) -> httpx2.Response:
        """A raw JSON POST to ``/api/v1<path>``, for tests that look at the status and body."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(f"/api/v1{path}", json=body, headers=headers)

    def rows(self, model: type[SQLModel], **where: Any) -> list[Any]:
        """Every row of a table (optionally filtered by equal columns), read fresh."""
        with self.host.db.read() as session:
            query = select(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return list(session.exec(query).all())

    def audit(self, **where: Any) -> list[AuditEvent]:
        return sorted(self.rows(AuditEvent, **where), key=lambda e: e.id or 0)


def race(*calls: Callable[[], httpx2.Response]) -> list[httpx2.Response]:
    """Run the calls on threads released at the same moment; their responses, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx2.Response | BaseException | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], httpx2.Response]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:  # handed to the test's thread below
            results[index] = exc

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    assert all(isinstance(r, httpx2.Response) for r in results)
    return results  # type: ignore[return-value]
