"""Pairing: open slot → upload → phone claims → PC notified, timed from the PC's first call.

The PC opens a slot, seals a PFX-sized payload for it (``sync_client.envelope.seal``), uploads
it, hands the slot id to the phone (the QR code) and long-polls
``/relay/slots/{id}/events?after=open``; the phone, already logged in and waiting, claims the
slot at once. The latency is from the PC's ``open`` to its long-poll returning ``claimed``.

Two ways to drive it. ``run_pairing_protocol`` times the protocol: the two devices are two
coroutines on one event loop, each with its own keep-alive connection of the lean client
(``bench.wire``, as the status and issuance figures use), so the figure is the server's and the
network's part, not an HTTP library's. ``run_pairing`` drives it as the SDK does: two threads
with their own ``httpx2.Client``, which adds that client's cost (~0.7 ms of CPU per request
here) and a thread hand-off to every pairing. With several server URLs its calls go
round-robin over them, so the claim usually lands on another instance than the PC's
long-poll: that is the scale-out case.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx2

from bench.load import REQUEST_TIMEOUT_SECONDS, UnexpectedResponse, bearer, expect
from bench.prepare import BenchCustomer
from bench.stats import Run
from bench.wire import Client, WireError
from sync_client.envelope import new_relay_key, seal

SLOTS = "/api/v1/relay/slots"
# About the size of a customer's PFX (EC key, leaf and CA certificate, PBES2 bags).
PFX_SIZE = 2600
WAIT_SECONDS = 10


def upload_body(
    customer: BenchCustomer, *, origin: str, slot_id: str, payload: bytes
) -> dict[str, str]:
    """The ``PUT …/ciphertext`` body: ``payload`` sealed for the slot as the PC seals a PFX."""
    assert customer.certificate_fingerprint is not None
    envelope = seal(
        key=new_relay_key(),
        origin=origin,
        slot_id=slot_id,
        customer_id=customer.customer_id,
        certificate_fingerprint=customer.certificate_fingerprint,
        plaintext=payload,
    )
    return {"ciphertext": base64.b64encode(envelope).decode()}


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)


class _Urls:
    """Thread-safe round-robin over the instances."""

    def __init__(self, urls: Sequence[str], start: threading.Barrier) -> None:
        self.all = tuple(urls)
        self.start = start
        self._cycle = itertools.cycle(urls)
        self._lock = threading.Lock()

    def warm_up(self, client: httpx2.Client) -> None:
        """Open a keep-alive connection to every instance, then wait for the start signal."""
        for url in self.all:
            expect(client.get(url + "/api/v1/policy"), 200)
        self.start.wait()

    def next(self) -> str:
        with self._lock:
            return next(self._cycle)


def _pc(
    customer: BenchCustomer,
    count: int,
    urls: _Urls,
    to_phone: queue.Queue[str | None],
    tally: _Tally,
) -> None:
    assert customer.certificate_fingerprint is not None
    headers = bearer(customer.pc_token)
    payload = os.urandom(PFX_SIZE)
    with httpx2.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        urls.warm_up(client)
        for _ in range(count):
            started = time.perf_counter()
            try:
                opened = expect(
                    client.post(
                        urls.next() + SLOTS,
                        headers=headers,
                        json={"certificate_fingerprint": customer.certificate_fingerprint},
                    ),
                    201,
                )
                slot_id = opened.json()["slot_id"]
                body = upload_body(customer, origin=urls.all[0], slot_id=slot_id, payload=payload)
                expect(
                    client.put(
                        f"{urls.next()}{SLOTS}/{slot_id}/ciphertext", headers=headers, json=body
                    ),
                    204,
                )
                to_phone.put(slot_id)
                state = "open"
                while state == "open":
                    event = expect(
                        client.get(
                            f"{urls.next()}{SLOTS}/{slot_id}/events",
                            headers=headers,
                            params={"after": "open", "wait": str(WAIT_SECONDS)},
                        ),
                        200,
                    )
                    state = event.json()["state"]
                if state != "claimed":
                    raise UnexpectedResponse(f"the slot ended {state}, not claimed")
            except (UnexpectedResponse, httpx2.HTTPError) as exc:
                tally.fail(f"PC: {type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            with tally.lock:
                tally.latencies.append(elapsed)
    to_phone.put(None)


def _phone(
    customer: BenchCustomer, urls: _Urls, from_pc: queue.Queue[str | None], tally: _Tally
) -> None:
    headers = bearer(customer.mobile_token)
    with httpx2.Client(timeout=REQUEST_TIMEOUT_SECONDS) as client:
        # Logged in and connected before the PC starts: "clients already running".
        urls.warm_up(client)
        while (slot_id := from_pc.get()) is not None:
            try:
                expect(client.post(f"{urls.next()}{SLOTS}/{slot_id}/claim", headers=headers), 200)
            except (UnexpectedResponse, httpx2.HTTPError) as exc:
                tally.fail(f"phone: {type(exc).__name__}: {exc}")


def run_pairing(
    urls: Sequence[str], customers: Sequence[BenchCustomer], *, pairings: int
) -> tuple[Run, list[str]]:
    """``pairings`` pairings, shared among ``len(customers)`` concurrent PC/phone pairs."""
    tally = _Tally()
    start = threading.Barrier(2 * len(customers) + 1, timeout=REQUEST_TIMEOUT_SECONDS)
    rotation = _Urls(urls, start)
    threads: list[threading.Thread] = []
    for n, customer in enumerate(customers):
        share = pairings // len(customers) + (1 if n < pairings % len(customers) else 0)
        channel: queue.Queue[str | None] = queue.Queue()
        threads.append(threading.Thread(target=_phone, args=(customer, rotation, channel, tally)))
        threads.append(
            threading.Thread(target=_pc, args=(customer, share, rotation, channel, tally))
        )
    for thread in threads:
        thread.start()
    start.wait()
    cpu_before, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    run = Run.of(
        seconds,
        tally.latencies,
        errors=len(tally.failures),
        client_cpu_seconds=time.process_time() - cpu_before,
    )
    return run, tally.failures


def run_pairing_protocol(
    url: str, customer: BenchCustomer, *, pairings: int
) -> tuple[Run, list[str]]:
    """``pairings`` pairings one after another, PC and phone on the lean client."""
    return asyncio.run(_pairings_on_one_loop(url, customer, pairings))


async def _pairings_on_one_loop(
    url: str, customer: BenchCustomer, pairings: int
) -> tuple[Run, list[str]]:
    assert customer.certificate_fingerprint is not None
    fingerprint = customer.certificate_fingerprint
    pc, phone = Client(), Client()
    handoff: asyncio.Queue[str | None] = asyncio.Queue()  # the QR code, PC to phone
    latencies: list[float] = []
    failures: list[str] = []
    payload = os.urandom(PFX_SIZE)

    async def phone_side() -> None:
        headers = bearer(customer.mobile_token)
        while (slot_id := await handoff.get()) is not None:
            try:
                claimed = await phone.request(
                    "POST", f"{url}{SLOTS}/{slot_id}/claim", headers=headers
                )
                expect(claimed, 200)
            except (UnexpectedResponse, WireError, OSError) as exc:
                failures.append(f"phone: {type(exc).__name__}: {exc}")

    async def pc_side() -> None:
        headers = bearer(customer.pc_token)
        for _ in range(pairings):
            started = time.perf_counter()
            try:
                body = {"certificate_fingerprint": fingerprint}
                opened = expect(await pc.post(url + SLOTS, headers=headers, json=body), 201)
                slot_id = opened.json()["slot_id"]
                upload = upload_body(customer, origin=url, slot_id=slot_id, payload=payload)
                stored = await pc.request(
                    "PUT", f"{url}{SLOTS}/{slot_id}/ciphertext", headers=headers, json_body=upload
                )
                expect(stored, 204)
                handoff.put_nowait(slot_id)
                state = "open"
                while state == "open":
                    events = f"{url}{SLOTS}/{slot_id}/events?after=open&wait={WAIT_SECONDS}"
                    state = expect(await pc.get(events, headers=headers), 200).json()["state"]
                if state != "claimed":
                    raise UnexpectedResponse(f"the slot ended {state}, not claimed")
            except (UnexpectedResponse, WireError, OSError) as exc:
                failures.append(f"PC: {type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - started)
        handoff.put_nowait(None)

    try:
        for client in (pc, phone):  # connected before the clock: "clients already running"
            expect(await client.get(url + "/api/v1/policy"), 200)
        cpu_before, started = time.process_time(), time.perf_counter()
        await asyncio.gather(phone_side(), pc_side())
        seconds = time.perf_counter() - started
    finally:
        await pc.aclose()
        await phone.aclose()
    run = Run.of(
        seconds,
        latencies,
        errors=len(failures),
        client_cpu_seconds=time.process_time() - cpu_before,
    )
    return run, failures
