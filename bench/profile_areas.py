"""Group a ``py-spy record -f raw`` profile of the server into areas (docs/PERFORMANCE.md).

    python -m bench.profile_areas profile.txt

Each sample goes to the first area that one of its frames matches, looking from the innermost
frame out: a SQLite call made by the slip check counts as "SQL statements", the slip check's
own Python as "service logic". Uvicorn's answer writing counts only when it is the innermost
frame (its own ``send()`` calls), not for everything the route does under it.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable, Sequence

WRITING = "uvicorn: writing the answer to the socket"
AREAS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        ("CSR checks (vet_csr: parse, proof of possession, key)", r"^vet_csr "),
        ("signing and encoding the certificate", r"^sign_certificate |^CA\.issue_certificate "),
        ("COMMIT (the batch's fsync, under the GIL)", r"do_commit|GroupCommit\._finish"),
        (
            "SQL statements (prepared: bind, step, convert)",
            r"Prepared\.(execute|run)|^execute \(sync_server/prepared|read_row",
        ),
        (
            "savepoint and ORM Session of each write",
            r"GroupCommit\._savepoint|GroupCommit\.write|_take_turn|Session\.|orm/session"
            r"|state_changes|Database\.write",
        ),
        ("certificate and slip values (model_construct)", r"model_construct"),
        (
            "status rules and answer encoding",
            r"status_body|issued_body|_certificate_fields|status_at|certificate_value"
            r"|status_for_token",
        ),
        (
            "service logic (rules, audit, apply, relay)",
            r"sync_server/(application|enrollment|audit|relay|customers|certificate_views"
            r"|issuance|renewal|orders)\.py",
        ),
        ("request body parsing (Pydantic)", r"parse_body|model_validate_json|read_body"),
        ("writer-thread hand-off", r"Writer\.|_Job\.|call_soon_threadsafe|SimpleQueue"),
        (
            "session check (bearer token, hash)",
            r"bearer_token|hash_token|require_live|authenticate|principal",
        ),
        ("our route handlers (app.py)", r"sync_server/app\.py"),
        ("our middleware (request id, metrics)", r"RequestObserver|observe_request|prometheus"),
        (WRITING, r"^RequestResponseCycle\.send "),
        ("uvicorn: HTTP parsing and the ASGI cycle", r"httptools_impl|uvicorn/|proxy_headers"),
        ("Starlette: routing, Request/Response, exception layers", r"starlette/"),
    )
)
OTHER = "other (interpreter, event loop)"


def area_of(frames: Sequence[str]) -> str:
    """The area of one sample, ``frames`` outermost first."""
    for depth, frame in enumerate(reversed(frames)):
        for label, pattern in AREAS:
            if pattern.search(frame) and (depth == 0 or label != WRITING):
                return label
    return OTHER


def tally(lines: Iterable[str]) -> tuple[Counter[str], int]:
    """Samples per area over py-spy's raw lines (``frame;frame;… count``), and their total."""
    counts: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        counts[area_of(stack.split(";"))] += int(count)
        total += int(count)
    return counts, total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_areas")
    parser.add_argument("profile", help="a py-spy record -f raw output file")
    args = parser.parse_args(argv)
    with open(args.profile, encoding="utf-8") as raw:
        counts, total = tally(raw)
    print(f"{total} samples")
    for label, count in counts.most_common():
        print(f"{100 * count / max(total, 1):5.1f} %  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
