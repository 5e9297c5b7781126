"""Which figures exist, and how much each does per run (``default``, ``--quick``, ``--smoke``)."""

from __future__ import annotations

from dataclasses import dataclass

FIGURES = (
    "issuance", "status", "pairing", "handoff", "sizes", "startup", "pfx", "crl", "scaleout"
)  # fmt: skip
# The figures measured against one ``sync-server serve`` (started once for them all).
SERVER_FIGURES = {"issuance", "status", "pairing", "handoff"}


@dataclass(frozen=True)
class Profile:
    """How much each figure does per run."""

    runs: int
    clients: int
    certs: int
    logins: int
    status_customers: int
    status_requests: int
    pairings: int
    handoffs: int
    size_repeats: int
    # The two table sizes of the ``sizes`` and ``crl`` figures (issue 12: 1,000 vs 100,000).
    # The smoke run uses small ones: building 100,000 customers takes minutes on 2 cores.
    table_sizes: tuple[int, int]
    startup_repeats: int
    pfx_repeats: int
    scale_certs: int
    scale_pairings: int
    scale_pair_clients: int
    races: int


PROFILES = {
    "default": Profile(
        runs=3,
        clients=8,
        certs=1000,
        logins=64,
        status_customers=1000,
        status_requests=6000,
        pairings=200,
        handoffs=5,
        size_repeats=60,
        table_sizes=(1_000, 100_000),
        startup_repeats=15,
        pfx_repeats=5,
        scale_certs=600,
        scale_pairings=200,
        scale_pair_clients=8,
        races=100,
    ),
    "quick": Profile(
        runs=3,
        clients=8,
        certs=300,
        logins=16,
        status_customers=300,
        status_requests=1000,
        pairings=40,
        handoffs=2,
        size_repeats=20,
        table_sizes=(1_000, 100_000),
        startup_repeats=5,
        pfx_repeats=2,
        scale_certs=200,
        scale_pairings=40,
        scale_pair_clients=8,
        races=20,
    ),
    # A few requests per figure: proves the harness runs, measures nothing.
    "smoke": Profile(
        runs=1,
        clients=2,
        certs=4,
        logins=2,
        status_customers=3,
        status_requests=6,
        pairings=2,
        handoffs=1,
        size_repeats=2,
        table_sizes=(200, 2_000),
        startup_repeats=1,
        pfx_repeats=1,
        scale_certs=4,
        scale_pairings=2,
        scale_pair_clients=2,
        races=2,
    ),
}
