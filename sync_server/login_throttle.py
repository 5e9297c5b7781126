"""Login throttling: growing delays per account and source, counted before the password hash.

Three counters watch every login attempt (``models.LoginThrottle``), each with its own rule:

    scope           row                       counts                      delays after
    pair            (customer_id, source)     this account from here      login_max_failures
    source          ("", source)              any account from here       login_source_max_failures
    account         (customer_id, "")         this account from anywhere  login_account_max_failures

A counter counts the failures in a fixed window (``login_failure_window``, from its first
failure); past its threshold each failure makes the scope wait ``login_delay``, doubled per
further failure, capped at ``login_lockout``. While any of the three waits, the attempt is
refused (``account_locked`` with ``locked_until``) without hashing anything.

The account's global counter takes only the first ``login_max_failures`` failures of each
pair window: one source (a stranger who knows the customer's ID) adds at most that many per
window, so it can never reach the account's ceiling, however long it keeps trying. Reaching it
takes failures from ``login_account_max_failures / login_max_failures`` source windows, i.e.
many sources; that is the bound on a distributed guess, and the only case in which the
customer's own fresh source waits too (customer service can clear it with ``admin unlock``).

``reserve`` counts the attempt as a failure *before* the hash, in one short write transaction
whose rows are locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writers are serialized),
so any number of simultaneous tries on any number of instances can never hash more than the
counters allow. A correct password then takes its reservation back (``forgive``).

The rules over one counter (``blocked_until``, ``count_failure``) are pure, with ``now``
passed in.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from sync_server.models import LoginThrottle
from sync_server.settings import Settings

Scope = Literal["pair", "source", "account"]
UNKNOWN_SOURCE = "unknown"  # a request without a peer address (a test transport, a socket file)

# -- pure rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How one scope counts: ``threshold`` failures in ``window``, then delays from ``first``
    doubling per failure up to ``longest``."""

    threshold: int
    first: timedelta
    longest: timedelta
    window: timedelta

    def delay_after(self, failures: int) -> timedelta:
        """How long the scope waits after its ``failures``-th failure in the window."""
        if failures < self.threshold:
            return timedelta(0)
        doublings = min(failures - self.threshold, 32)  # 2**32 minutes is past any cap
        longest: timedelta = min(self.first * (2**doublings), self.longest)
        return longest


def rules(settings: Settings) -> dict[Scope, Rule]:
    def rule(threshold: int) -> Rule:
        return Rule(
            threshold, settings.login_delay, settings.login_lockout, settings.login_failure_window
        )

    return {
        "pair": rule(settings.login_max_failures),
        "source": rule(settings.login_source_max_failures),
        "account": rule(settings.login_account_max_failures),
    }


@dataclass(frozen=True)
class Count:
    """One counter's state."""

    failures: int = 0
    window_started_at: datetime | None = None
    blocked_until: datetime | None = None


def blocked_until(count: Count, now: datetime) -> datetime | None:
    """Until when the scope must wait at ``now``, or ``None`` if it may try."""
    if count.blocked_until is not None and count.blocked_until > now:
        return count.blocked_until
    return None


def failures_at(count: Count, now: datetime, rule: Rule) -> int:
    """The failures that still count at ``now`` (a window that has ended counts none)."""
    start = count.window_started_at
    if start is None or start + rule.window <= now:
        return 0
    return count.failures


def count_failure(count: Count, now: datetime, rule: Rule) -> Count:
    """The counter after one more failure at ``now`` (a new window if the old one ended)."""
    live = failures_at(count, now, rule)
    start = count.window_started_at if live else now
    failures = live + 1
    delay = rule.delay_after(failures)
    return Count(failures, start, now + delay if delay else count.blocked_until)


def source_key(address: str | None) -> str:
    """The source a client address counts as: an IPv4 address itself, an IPv6 address by its
    /64 (one subscriber's network: its 2**64 addresses are one source), else the text as is."""
    if not address:
        return UNKNOWN_SOURCE
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


# -- counting in the database -----------------------------------------------------------


@dataclass(frozen=True)
class Throttled:
    """The attempt is refused unhashed: ``scope`` waits until ``until``."""

    scope: Scope
    until: datetime


@dataclass(frozen=True)
class Reservation:
    """The attempt is counted as a failure and may be hashed.

    ``tries_left``: how many more failures the scopes allow before a delay starts (0: the next
    attempt waits). ``started``: the scopes whose delay this failure started.
    """

    customer_id: str
    source: str
    tries_left: int
    started: tuple[Scope, ...]
    counted_globally: bool


def _keys(customer_id: str, source: str) -> dict[Scope, tuple[str, str]]:
    return {"pair": (customer_id, source), "source": ("", source), "account": (customer_id, "")}


def _lock_rows(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Count]:
    """The rows for ``keys``, created if missing and locked until the transaction ends.

    Locked in key order, so two transactions never wait for each other in a cycle.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = [{"customer_id": c, "source": s, "failures": 0} for c, s in sorted(keys)]
    session.exec(insert(LoginThrottle).values(values).on_conflict_do_nothing())
    rows = session.exec(
        select(LoginThrottle)
        .where(tuple_(col(LoginThrottle.customer_id), col(LoginThrottle.source)).in_(keys))
        .order_by(col(LoginThrottle.customer_id), col(LoginThrottle.source))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {
        (r.customer_id, r.source): Count(r.failures, r.window_started_at, r.blocked_until)
        for r in rows
    }


def _store(session: Session, key: tuple[str, str], count: Count) -> None:
    session.exec(
        update(LoginThrottle)
        .where(col(LoginThrottle.customer_id) == key[0])
        .where(col(LoginThrottle.source) == key[1])
        .values(
            failures=count.failures,
            window_started_at=count.window_started_at,
            blocked_until=count.blocked_until,
        )
    )


def reserve(
    session: Session, settings: Settings, *, customer_id: str, source: str, now: datetime
) -> Reservation | Throttled:
    """Count one login attempt as a failure before its password is checked, or refuse it.

    Runs in the caller's write transaction, which must commit before the hash starts.
    """
    by_scope = rules(settings)
    keys = _keys(customer_id, source)
    counts = _lock_rows(session, list(keys.values()))
    waits = [
        (until, scope)
        for scope, key in keys.items()
        if (until := blocked_until(counts[key], now)) is not None
    ]
    if waits:
        until, scope = max(waits)
        return Throttled(scope, until)
    pair_rule = by_scope["pair"]
    # The account's ceiling hears only each pair window's first failures (see the docstring).
    counted_globally = failures_at(counts[keys["pair"]], now, pair_rule) < pair_rule.threshold
    started: list[Scope] = []
    left: list[int] = []
    for scope, key in keys.items():
        if scope == "account" and not counted_globally:
            left.append(by_scope[scope].threshold - failures_at(counts[key], now, by_scope[scope]))
            continue
        after = count_failure(counts[key], now, by_scope[scope])
        _store(session, key, after)
        left.append(by_scope[scope].threshold - after.failures)
        if blocked_until(after, now) is not None:
            started.append(scope)
    return Reservation(customer_id, source, max(0, min(left)), tuple(started), counted_globally)


def forgive(session: Session, settings: Settings, reservation: Reservation, now: datetime) -> None:
    """A correct password: the account's counters start again, and the source's counter takes
    back the failure ``reserve`` counted for this attempt (with any delay it started)."""
    keys = _keys(reservation.customer_id, reservation.source)
    counts = _lock_rows(session, list(keys.values()))
    for scope in ("pair", "account"):
        _store(session, keys[scope], Count())
    source = counts[keys["source"]]
    failures = max(0, source.failures - 1)
    until = source.blocked_until
    if "source" in reservation.started and failures < settings.login_source_max_failures:
        until = None
    _store(session, keys["source"], Count(failures, source.window_started_at, until))


def clear_account(session: Session, customer_id: str) -> int:
    """Forget every counter of this account, from every source and the global one (customer
    service's unlock, a new password); how many rows went."""
    result = session.exec(
        delete(LoginThrottle).where(col(LoginThrottle.customer_id) == customer_id)
    )
    return int(result.rowcount)


def account_blocked_until(session: Session, customer_id: str, now: datetime) -> datetime | None:
    """The latest wait any source (or the global ceiling) has for this account at ``now``."""
    rows = session.exec(
        select(LoginThrottle.blocked_until)
        .where(LoginThrottle.customer_id == customer_id)
        .where(col(LoginThrottle.blocked_until) > now)
    ).all()
    return max((r for r in rows if r is not None), default=None)


def account_failures(session: Session, settings: Settings, customer_id: str, now: datetime) -> int:
    """The failures counted for this account from all sources in their current windows."""
    rows = session.exec(
        select(LoginThrottle)
        .where(LoginThrottle.customer_id == customer_id)
        .where(LoginThrottle.source != "")
    ).all()
    rule = rules(settings)["pair"]
    return sum(
        failures_at(Count(r.failures, r.window_started_at, r.blocked_until), now, rule)
        for r in rows
    )


def blocked_accounts(now: datetime) -> SelectOfScalar[str]:
    """A subquery of the IDs that some source (or the global ceiling) must wait for at ``now``."""
    return (
        select(LoginThrottle.customer_id)
        .where(LoginThrottle.customer_id != "")
        .where(col(LoginThrottle.blocked_until) > now)
    )


def prune(session: Session, settings: Settings, now: datetime) -> int:
    """Delete the counters that count nothing any more at ``now`` (window over, no wait), so
    that IDs and sources tried once do not pile up; how many rows went. Such a row is the same
    as no row, so pruning never changes an answer."""
    window_over = now - settings.login_failure_window
    result = session.exec(
        delete(LoginThrottle)
        .where(
            col(LoginThrottle.blocked_until).is_(None) | (col(LoginThrottle.blocked_until) <= now)
        )
        .where(
            col(LoginThrottle.window_started_at).is_(None)
            | (col(LoginThrottle.window_started_at) <= window_over)
        )
    )
    return int(result.rowcount)
