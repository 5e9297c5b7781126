"""The load generator: K workers in a closed loop, each on its own keep-alive connection.

Each worker takes the next request number, sends it, waits for the answer and takes the next:
the offered load adapts to the server, and every latency is one request's full round trip as a
client sees it. Each worker opens its connections in a warm-up request before the clock starts,
so the figures are keep-alive figures. The generator's own CPU time is recorded too: on a
two-core machine it competes with the server, and the report says how much it took. The client
is ``bench.wire`` (see there why not httpx2).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from bench.stats import Run
from bench.wire import Client, WireError

Send = Callable[[Client, int], Awaitable[None]]

REQUEST_TIMEOUT_SECONDS = 60.0


class UnexpectedResponse(Exception):
    """The server answered, but not with the status the benchmark expects."""


class Answer(Protocol):
    """What ``expect`` reads: ``httpx2.Response`` and ``bench.wire.Response`` both have it."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...


A = TypeVar("A", bound=Answer)


def expect(response: A, status: int) -> A:
    """``response`` if its status is ``status``; else ``UnexpectedResponse`` with the reason."""
    if response.status_code != status:
        raise UnexpectedResponse(
            f"answered {response.status_code}, expected {status}: {response.text[:200]}"
        )
    return response


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _closed_loop(
    send: Send, *, total: int, concurrency: int, warmup: Send | None
) -> tuple[Run, list[str]]:
    clients = [Client() for _ in range(concurrency)]
    counter = itertools.count()
    latencies: list[float] = []
    failures: list[str] = []

    async def worker(client: Client) -> None:
        while (i := next(counter)) < total:
            started = time.perf_counter()
            try:
                await asyncio.wait_for(send(client, i), REQUEST_TIMEOUT_SECONDS)
            except (UnexpectedResponse, WireError, TimeoutError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies.append(time.perf_counter() - started)

    try:
        if warmup is not None:
            await asyncio.gather(*(warmup(c, i) for i, c in enumerate(clients)))
        cpu_before, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(c) for c in clients))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
    finally:
        for client in clients:
            await client.aclose()
    run = Run.of(seconds, latencies, errors=len(failures), client_cpu_seconds=cpu)
    return run, failures


def closed_loop(
    send: Send, *, total: int, concurrency: int, warmup: Send | None = None
) -> tuple[Run, list[str]]:
    """Send requests ``0 … total-1`` with ``concurrency`` workers; the run and any failures."""
    return asyncio.run(_closed_loop(send, total=total, concurrency=concurrency, warmup=warmup))


async def get_ok(client: Client, url: str) -> None:
    """A warm-up request: any 200 will do."""
    expect(await client.get(url), 200)
