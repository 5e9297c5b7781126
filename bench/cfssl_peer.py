"""The issuance peer: ``cfssl serve`` (CloudFlare's CA server, in Go) signing the same CSRs.

Issue 12 measures CertSync's issuance against a CA server that does less: cfssl checks the CSR
and signs it, and keeps no database, no session, no one-time code and no audit trail. The
harness starts it when the ``cfssl`` binary is on ``PATH`` (Debian: ``apt-get install
golang-cfssl``) on a free loopback port, with a throwaway CA made here (EC P-256, like
CertSync's, in a temporary folder of the run), and sends it the CSRs CertSync gets, with the
same number of keep-alive clients, to ``POST /api/v1/cfssl/sign``
(``{"certificate_request": pem}``). Its log level is "warning" (no line per request), as
CertSync's server runs.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx2
from cryptography.hazmat.primitives import serialization

from bench.load import UnexpectedResponse, closed_loop, expect
from bench.servers import LOOPBACK, START_TIMEOUT_SECONDS, BenchError, ServerProcess, free_port
from bench.stats import Run
from bench.wire import Client
from sync_server.ca import CA

SIGN = "/api/v1/cfssl/sign"
INFO = "/api/v1/cfssl/info"
INSTALL_HINT = "apt-get install golang-cfssl"
CFSSL_LOG_WARNING = "2"  # cfssl's -loglevel: 0 debug, 1 info, 2 warning


def cfssl_binary() -> str | None:
    """The ``cfssl`` on ``PATH``, or ``None``."""
    return shutil.which("cfssl")


def write_throwaway_ca(folder: Path) -> tuple[Path, Path]:
    """A self-signed CA for this run only: ``(ca.pem, ca-key.pem)`` in ``folder``.

    Built by ``CA.generate`` (EC P-256, pathlen 0, keyCertSign + cRLSign), the builder
    ``sync-server init`` uses, so cfssl signs under a CA of the same shape as CertSync's.
    The key is written unencrypted (cfssl reads PKCS#8), 0600, as nothing else reads it.
    """
    ca = CA.generate(common_name="CertSync bench cfssl CA")
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "ca.pem", folder / "ca-key.pem"
    cert_path.write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(ca.private_key_pem(None))
    key_path.chmod(0o600)
    return cert_path, key_path


def start_cfssl(binary: str, *, folder: Path, log_dir: Path) -> ServerProcess:
    """``cfssl serve`` with a throwaway CA on a free loopback port, ready when this returns."""
    cert_path, key_path = write_throwaway_ca(folder)
    port = free_port()
    command = [
        binary,
        "serve",
        "-ca",
        str(cert_path),
        "-ca-key",
        str(key_path),
        "-address",
        LOOPBACK,
        "-port",
        str(port),
        "-loglevel",
        CFSSL_LOG_WARNING,
    ]
    log_path = log_dir / "cfssl.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = ServerProcess("cfssl", f"http://{LOOPBACK}:{port}", process, log_path)
    _wait_ready(server)
    return server


def _wait_ready(server: ServerProcess) -> None:
    """cfssl has no health route: poll ``info`` (the CA certificate) until it answers 200."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with httpx2.Client(base_url=server.url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise BenchError(f"cfssl exited with {server.process.returncode} while starting")
            try:
                if client.post(INFO, json={}).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.05)
    server.stop()
    raise BenchError(f"cfssl did not answer {INFO} within {START_TIMEOUT_SECONDS:.0f} s")


def run_cfssl_signing(
    url: str, csr_pems: Sequence[str], *, concurrency: int
) -> tuple[Run, list[str]]:
    """Every CSR signed once by cfssl; each answer must be 200 with ``"success": true``."""

    async def send(client: Client, i: int) -> None:
        body = {"certificate_request": csr_pems[i]}
        response = expect(await client.post(url + SIGN, json=body), 200)
        if b'"success":true' not in response.content:
            raise UnexpectedResponse(f"cfssl refused a CSR: {response.text[:200]}")

    async def warmup(client: Client, i: int) -> None:
        expect(await client.post(url + INFO, json={}), 200)

    return closed_loop(send, total=len(csr_pems), concurrency=concurrency, warmup=warmup)
