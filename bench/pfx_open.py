"""Opening a PFX: ``sync_client.pfx.load_pfx`` at the default 600,000 PBKDF2 iterations vs 2,048,
for both key types a customer's certificate may have: RSA-2048 (what ``pc-client apply`` makes
by default) and EC P-256. An RSA key is checked again when it is loaded (OpenSSL's key
validation, tens of milliseconds), which the EC file does not show.

This cost is the customer's, on the PC or the phone, once per unlock. The server never opens a
PFX file: ``server_opens_pfx()`` checks its source for any PKCS#12 use, so the report can say
so from evidence rather than memory.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from cryptography import x509

from bench.stats import Run
from sync_client.keys import KeyKind, build_csr_pem, generate_private_key
from sync_client.pfx import DEFAULT_PFX_ITERATIONS, build_pfx, load_pfx
from sync_client.pkcs12_profile import serialize_pkcs12
from sync_server.ca import CA, new_serial
from sync_server.models import utcnow

LOW_ITERATIONS = 2048
CUSTOMER = "A123456789"
PASSWORD = "bench-pfx-password"  # noqa: S105  (a throwaway file made for this benchmark)


KEY_KINDS: tuple[KeyKind, ...] = ("rsa", "ec")  # the default apply's key first


def _pfx(kind: KeyKind, iterations: int) -> bytes:
    ca = CA.generate()
    key = generate_private_key(kind)
    csr = x509.load_pem_x509_csr(build_csr_pem(key, CUSTOMER).encode())
    now = utcnow()
    cert = ca.issue_certificate(
        csr,
        subject_cn=CUSTOMER,
        serial=new_serial(),
        not_before=now,
        not_after=now + timedelta(days=365),
    )
    if iterations >= DEFAULT_PFX_ITERATIONS:
        return build_pfx(
            customer_id=CUSTOMER,
            key=key,
            cert=cert,
            chain=[ca.cert],
            password=PASSWORD,
            iterations=iterations,
        )
    # build_pfx refuses a count below the KDF floor (sync_client.kdf_floor); the comparison
    # file is written with the profile itself, as build_pfx would without the floor.
    return serialize_pkcs12(
        name=CUSTOMER.encode("utf-8"),
        key=key,
        cert=cert,
        cas=[ca.cert],
        password=PASSWORD,
        iterations=iterations,
    )


def measure_pfx_open(repeats: int) -> dict[tuple[KeyKind, int], Run]:
    """``load_pfx`` timed ``repeats`` times for each key type and iteration count,
    interleaved."""
    files = {
        (kind, n): _pfx(kind, n)
        for kind in KEY_KINDS
        for n in (DEFAULT_PFX_ITERATIONS, LOW_ITERATIONS)
    }
    timings: dict[tuple[KeyKind, int], list[float]] = {key: [] for key in files}
    for _ in range(repeats):
        for key, data in files.items():
            started = time.perf_counter()
            load_pfx(data, PASSWORD)
            timings[key].append(time.perf_counter() - started)
    return {key: Run.of(sum(values), values) for key, values in timings.items()}


def server_opens_pfx() -> list[str]:
    """The server modules that mention PKCS#12 or ``load_pfx`` (expected: none)."""
    import sync_server

    root = Path(sync_server.__file__).resolve().parent
    words = ("pkcs12", "load_pfx", "load_key_and_certificates")
    return sorted(
        path.name
        for path in root.glob("*.py")
        if any(word in path.read_text(errors="replace") for word in words)
    )
