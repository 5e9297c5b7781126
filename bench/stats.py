"""Samples, spreads and the one printed table.

A *run* is one timed pass of a figure (``Run``: how many operations, how long, each one's
latency). A figure is reported as the median of its runs with their min and max (``Spread``),
for the rate and for each run's p50 and p99 latency.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (``fraction`` in 0..1)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True)
class Run:
    """One timed pass: ``count`` operations in ``seconds``, with each latency in seconds."""

    count: int
    seconds: float
    latencies: tuple[float, ...] = ()
    errors: int = 0
    client_cpu_seconds: float = 0.0
    server_cpu_seconds: float = math.nan
    machine_busy_seconds: float = math.nan
    database_cpu_seconds: float = math.nan

    @classmethod
    def of(
        cls,
        seconds: float,
        latencies: Sequence[float],
        *,
        errors: int = 0,
        client_cpu_seconds: float = 0.0,
    ) -> Run:
        return cls(len(latencies), seconds, tuple(sorted(latencies)), errors, client_cpu_seconds)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else math.nan

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000

    @property
    def client_cpu_share(self) -> float:
        """The load generator's CPU time as a share of one core over the run."""
        return self.client_cpu_seconds / self.seconds if self.seconds > 0 else math.nan

    @property
    def server_cpu_share(self) -> float:
        """The server processes' CPU time as a share of one core over the run."""
        return self.server_cpu_seconds / self.seconds if self.seconds > 0 else math.nan

    @property
    def database_cpu_share(self) -> float:
        """PostgreSQL's backends' CPU time as a share of one core over the run (NaN: SQLite)."""
        return self.database_cpu_seconds / self.seconds if self.seconds > 0 else math.nan

    @property
    def machine_busy_share(self) -> float:
        """Busy CPU time of the whole machine, in cores, over the run."""
        return self.machine_busy_seconds / self.seconds if self.seconds > 0 else math.nan


@dataclass(frozen=True)
class Spread:
    """Median, min and max of one quantity over several runs."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            return cls(math.nan, math.nan, math.nan)
        return cls(statistics.median(values), min(values), max(values))

    def render(self, digits: int = 0) -> str:
        if math.isnan(self.median):
            return "—"
        fmt = f"{{:,.{digits}f}}"
        if len({fmt.format(self.median), fmt.format(self.low), fmt.format(self.high)}) == 1:
            return fmt.format(self.median)
        return f"{fmt.format(self.median)} ({fmt.format(self.low)}–{fmt.format(self.high)})"


def rate_spread(runs: Sequence[Run]) -> Spread:
    return Spread.of([r.rate for r in runs])


def p50_spread(runs: Sequence[Run]) -> Spread:
    return Spread.of([r.p50_ms for r in runs])


def p99_spread(runs: Sequence[Run]) -> Spread:
    return Spread.of([r.p99_ms for r in runs])


@dataclass
class Row:
    """One line of the table. ``verdict`` is ``ok``, ``MISS`` or ``-`` (no target)."""

    figure: str
    setup: str
    rate: Spread | None = None
    p50: Spread | None = None
    p99: Spread | None = None
    beside: str = ""
    target: str = ""
    verdict: str = "-"
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_runs(cls, figure: str, setup: str, runs: Sequence[Run], **kwargs: object) -> Row:
        row = cls(figure, setup, rate_spread(runs), p50_spread(runs), p99_spread(runs))
        for key, value in kwargs.items():
            setattr(row, key, value)
        errors = sum(r.errors for r in runs)
        if errors:
            row.notes.append(f"{errors} failed requests")
            row.verdict = "ERROR"
        return row


def _cell(spread: Spread | None, digits: int) -> str:
    return "—" if spread is None else spread.render(digits)


def _ms_digits(spread: Spread | None) -> int:
    """One decimal for milliseconds, three below 0.1 ms (an in-process read: 0.03, not 0.0)."""
    return 3 if spread is not None and spread.median < 0.1 else 1


def render_table(rows: Sequence[Row], *, header: str) -> str:
    """The results as one plain-text table (Markdown-compatible), with notes under it."""
    titles = ("figure", "setup", "ops/s", "p50 ms", "p99 ms", "beside", "target", "result")
    cells = [
        (
            r.figure,
            r.setup,
            _cell(r.rate, 0 if r.rate is None or r.rate.median >= 100 else 1),
            _cell(r.p50, _ms_digits(r.p50)),
            _cell(r.p99, _ms_digits(r.p99)),
            r.beside,
            r.target,
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(t), *(len(c[i]) for c in cells)) for i, t in enumerate(titles)]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    out = [header, "", line(titles), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(c) for c in cells]
    notes = [f"- {r.figure}: {n}" for r in rows for n in r.notes]
    if notes:
        out += ["", *notes]
    return "\n".join(out)
