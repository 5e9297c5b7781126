"""CLI start-up: ``pc-client --help`` and ``mobile-stub --help`` beside ``python -c pass``.

Each command runs as a fresh subprocess, many times, interleaved so that drift in the machine's
load touches all three alike. What a CLI adds above bare Python is mostly its imports; the
figure says how much, ``python -X importtime`` says which.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.stats import Run

BASELINE = "python -c pass"
CLIS = ("pc-client", "mobile-stub")
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class StartupResult:
    """Wall-clock runs per command; ``missing`` names commands that could not run yet."""

    runs: dict[str, Run]
    missing: dict[str, str]


def _command(name: str) -> list[str]:
    if name == BASELINE:
        return [sys.executable, "-c", "pass"]
    return [str(Path(sys.executable).parent / name), "--help"]


def _time_once(command: list[str]) -> tuple[float, str | None]:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 0.0, f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        return elapsed, f"exit {done.returncode}: {last[:160]}"
    return elapsed, None


def measure_startup(repeats: int) -> StartupResult:
    """Run each command ``repeats`` times (after one unmeasured warm-up to fill the caches)."""
    names = (BASELINE, *CLIS)
    missing: dict[str, str] = {}
    for name in names:
        _, problem = _time_once(_command(name))
        if problem is not None:
            missing[name] = problem
    timings: dict[str, list[float]] = {n: [] for n in names if n not in missing}
    for _ in range(repeats):
        for name in list(timings):
            elapsed, problem = _time_once(_command(name))
            if problem is not None:
                missing[name] = problem
                del timings[name]
            else:
                timings[name].append(elapsed)
    # One "run" per figure: its latencies are the single invocations.
    return StartupResult(
        {name: Run.of(sum(values), values) for name, values in timings.items()}, missing
    )
