"""The CRL at 1,000 and at 100,000 certificates: signing it, and serving it.

0.1 scanned the whole certificate table and signed anew on every ``GET /api/v1/crl`` (×20
slower at 100,000 than at 1,000). Now the CRL reads only the index of revoked certificates
and is signed once, then served from memory until a revocation or its refresh
(``sync_server.crl``). This measures both at the two sizes with the same 50 revocations:
``sign_crl`` forced each time (the work after a revocation), and the served ``GET`` (what
every client and relying party pays), through the real app in process.

Each size has its own database and the two are timed in turn, interleaved. The rows are
written straight into SQLite with ``executemany`` (placeholder PEM: the CRL never
reads it); the ORM would take longer than everything measured here.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

from bench.stats import Run
from sync_server import crl
from sync_server.app import create_app
from sync_server.ca import new_serial
from sync_server.customers import create_customer
from sync_server.host import Host, open_host
from sync_server.models import serial_tail
from sync_server.settings import Settings

SIZES = (1_000, 100_000)
REVOKED = 50
CUSTOMER = "A123456789"
PASSWORD = "bench-login-password"  # noqa: S105  (a throwaway customer made for this benchmark)


@dataclass(frozen=True)
class CrlFigures:
    """Per size: the forced signing and the served ``GET`` (seconds per operation)."""

    signing: dict[int, Run]
    serving: dict[int, Run]


def _add_certificates(host: Host, count: int, *, revoked: int, start: int) -> None:
    stamp = host.now().strftime("%Y-%m-%d %H:%M:%S.%f")  # the form UTCDateTime stores
    rows = []
    for i in range(count):
        serial = new_serial()
        gone = i < revoked
        rows.append(
            (str(serial), serial_tail(serial), CUSTOMER, f"{start + i:064x}", stamp, stamp,
             stamp, "apply", "-", stamp if gone else None, "superseded" if gone else None)
        )  # fmt: skip
    with host.db.write() as session:
        raw = session.connection().connection.driver_connection
        assert raw is not None
        raw.executemany(
            "INSERT INTO certificate (serial, serial_tail, customer_id, fingerprint_sha256, "
            "not_before, not_after, issued_at, issued_via, cert_pem, revoked_at, "
            "revocation_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for _ in range(revoked):
            crl.note_revocation(session)


def _host(folder: Path, size: int) -> Host:
    settings = Settings(data_dir=folder, password_kdf_memory_kib=1024, password_kdf_iterations=1)
    host = open_host(settings)
    create_customer(
        host,
        customer_id=CUSTOMER,
        name="Bench",
        password=PASSWORD,
        actor="bench",
    )
    _add_certificates(host, size, revoked=REVOKED, start=0)
    return host


def measure_crl(repeats: int, sizes: tuple[int, int] = SIZES) -> CrlFigures:
    """Sign and serve the CRL at each size, one database per size, the sizes interleaved so
    that whatever else the machine does touches both alike."""
    signing: dict[int, list[float]] = {size: [] for size in sizes}
    serving: dict[int, list[float]] = {size: [] for size in sizes}
    with tempfile.TemporaryDirectory(prefix="certsync-bench-crl-") as folder:
        hosts = {size: _host(Path(folder) / str(size), size) for size in sizes}
        clients = {size: TestClient(create_app(host)) for size, host in hosts.items()}
        try:
            for client in clients.values():
                client.__enter__()
                assert client.get("/api/v1/crl").status_code == 200  # signed once, then served
            for _ in range(repeats * 5):
                for size, host in hosts.items():
                    started = time.perf_counter()
                    crl.sign_crl(host, now=host.now())
                    signing[size].append(time.perf_counter() - started)
                    for _ in range(4):
                        started = time.perf_counter()
                        response = clients[size].get("/api/v1/crl")
                        serving[size].append(time.perf_counter() - started)
                        assert response.status_code == 200, response.status_code
        finally:
            for client in clients.values():
                client.__exit__(None, None, None)
    return CrlFigures(
        {size: Run.of(sum(v), v) for size, v in signing.items()},
        {size: Run.of(sum(v), v) for size, v in serving.items()},
    )
