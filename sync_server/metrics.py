"""``GET /metrics``: what an operator graphs and alerts on, in the Prometheus text format.

Each app has its own ``CollectorRegistry`` (never prometheus-client's global one), so two apps
in one process, as in the tests, count apart. The business counters are fed by the audit trail:
``audit.record``/``audit.tally`` leave ``(action, outcome, count)`` in the session and the
database hands them over once the transaction commits, so a rolled-back change counts nothing
and no service function carries metrics code. Counters count what *this* instance did; sum them
across instances. Values read from the database at scrape time (revocations, made by ``admin``
processes as well) are the same on every instance; take their ``max``.

    certsync_certificates_issued_total             applications that issued a certificate
    certsync_certificates_renewed_total            renewals that issued one
    certsync_certificates_revoked_total            revocations ever (database-wide)
    certsync_logins_total{outcome}                 ok, failed, locked
    certsync_enrollment_code_failures_total{reason}  enrollment_code_invalid, …_locked, …
    certsync_relay_slots_total{event}              opened, claimed, expired, cancelled
    certsync_http_request_duration_seconds{method,route}   histogram
    certsync_http_responses_total{method,route,status}
    certsync_database_errors_total                 errors raised by the database driver
    certsync_crl_signatures_total                  CRLs this instance signed
    certsync_ca_not_after_timestamp_seconds        when the CA certificate expires
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from sync_client.codes import ErrorCode
from sync_server.crl import revocation_count
from sync_server.db import Event
from sync_server.host import Host

LOGIN_OUTCOMES = {"ok": "ok", ErrorCode.LOGIN_FAILED: "failed", ErrorCode.ACCOUNT_LOCKED: "locked"}
RELAY_EVENTS = {
    "relay_open": "opened",
    "relay_claim": "claimed",
    "relay_expire": "expired",
    "relay_cancel": "cancelled",
}
ENROLLMENT_FAILURES = (
    ErrorCode.ENROLLMENT_CODE_INVALID,
    ErrorCode.ENROLLMENT_CODE_LOCKED,
    ErrorCode.ENROLLMENT_CODE_EXPIRED,
    ErrorCode.ENROLLMENT_CODE_USED,
    ErrorCode.ENROLLMENT_CODE_SUPERSEDED,
)


class _DatabaseTotals(Collector):
    """Totals only the database knows, read at scrape time (one primary-key read)."""

    def __init__(self, host: Host) -> None:
        self._host = host

    def collect(self) -> Iterable[CounterMetricFamily]:
        try:
            with self._host.db.read() as session:
                revoked = revocation_count(session)
        except Exception:  # counted as a database error; the rest of the scrape still answers
            return
        yield CounterMetricFamily(
            "certsync_certificates_revoked",
            "Certificates revoked, database-wide (the same on every instance).",
            value=revoked,
        )


class Metrics:
    """The registry of one app, and the counters the app and the database feed."""

    def __init__(self, host: Host) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.issued = Counter(
            "certsync_certificates_issued", "Certificates issued by application.", registry=r
        )
        self.renewed = Counter(
            "certsync_certificates_renewed", "Certificates issued by renewal.", registry=r
        )
        self.logins = Counter("certsync_logins", "Login attempts.", ["outcome"], registry=r)
        self.enrollment_failures = Counter(
            "certsync_enrollment_code_failures",
            "Refused enrollment codes, at check and apply.",
            ["reason"],
            registry=r,
        )
        self.relay = Counter("certsync_relay_slots", "Relay slot events.", ["event"], registry=r)
        self.latency = Histogram(
            "certsync_http_request_duration_seconds",
            "Time to answer a request, by route.",
            ["method", "route"],
            registry=r,
        )
        self.responses = Counter(
            "certsync_http_responses",
            "Responses by route and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.database_errors = Counter(
            "certsync_database_errors", "Errors raised by the database driver.", registry=r
        )
        self.crl_signatures = Counter(
            "certsync_crl_signatures", "CRLs signed by this instance.", registry=r
        )
        ca_expiry = Gauge(
            "certsync_ca_not_after_timestamp_seconds",
            "When the CA certificate expires (Unix time): rotate the CA well before.",
            registry=r,
        )
        ca_expiry.set(host.ca.cert.not_valid_after_utc.timestamp())
        # Series that exist from the start, so a rate() or an alert has something to read.
        for outcome in LOGIN_OUTCOMES.values():
            self.logins.labels(outcome)
        for event in RELAY_EVENTS.values():
            self.relay.labels(event)
        for reason in ENROLLMENT_FAILURES:
            self.enrollment_failures.labels(reason)
        r.register(_DatabaseTotals(host))
        # Few keys: routes are the table's templates (or "unmatched"), statuses the few we send.
        self._request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def count_events(self, events: Sequence[Event]) -> None:
        """Count what a committed transaction recorded in the audit trail."""
        for action, outcome, count in events:
            if action == "login" and outcome in LOGIN_OUTCOMES:
                self.logins.labels(LOGIN_OUTCOMES[outcome]).inc(count)
            elif action == "apply" and outcome == "ok":
                self.issued.inc(count)
            elif action == "renew" and outcome == "ok":
                self.renewed.inc(count)
            elif action in RELAY_EVENTS and outcome == "ok":
                self.relay.labels(RELAY_EVENTS[action]).inc(count)
            if action in ("apply", "enrollment_check") and outcome in ENROLLMENT_FAILURES:
                self.enrollment_failures.labels(outcome).inc(count)

    def count_database_error(self, _error: BaseException) -> None:
        self.database_errors.inc()

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        # The labelled children are looked up once per (method, route, status): ``labels()``
        # takes a lock and builds its key on every call, a third of this on every request.
        series = self._request_series.get((method, route, status))
        if series is None:
            series = (
                self.latency.labels(method, route),
                self.responses.labels(method, route, str(status)),
            )
            self._request_series[(method, route, status)] = series
        latency, responses = series
        latency.observe(seconds)
        responses.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
