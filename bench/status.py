"""Status: ``GET /api/v1/certificate/status`` for many customers, beside a bare endpoint.

Each request is a different customer's session (cycling through all of them), so the server
authenticates a token, reads that customer's latest certificate and renders the status object
with the chain — the call every client makes first. The yardstick is ``bench.bare_app``'s
``GET /`` under the same uvicorn settings: what is left after HTTP itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.load import bearer, closed_loop, expect, get_ok
from bench.prepare import BenchCustomer
from bench.stats import Run
from bench.wire import Client

STATUS = "/api/v1/certificate/status"


def run_status(
    url: str, customers: Sequence[BenchCustomer], *, requests: int, concurrency: int
) -> tuple[Run, list[str]]:
    """``requests`` status calls, request ``i`` as customer ``i mod len(customers)``."""

    async def send(client: Client, i: int) -> None:
        customer = customers[i % len(customers)]
        expect(await client.get(url + STATUS, headers=bearer(customer.pc_token)), 200)

    async def warmup(client: Client, i: int) -> None:
        await get_ok(client, url + "/api/v1/policy")

    return closed_loop(send, total=requests, concurrency=concurrency, warmup=warmup)


def run_bare(url: str, *, requests: int, concurrency: int) -> tuple[Run, list[str]]:
    """The same load against the bare Starlette endpoint."""

    async def send(client: Client, i: int) -> None:
        expect(await client.get(url + "/"), 200)

    async def warmup(client: Client, i: int) -> None:
        await get_ok(client, url + "/")

    return closed_loop(send, total=requests, concurrency=concurrency, warmup=warmup)
