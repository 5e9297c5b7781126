"""TLS served directly: the real ``sync-server serve`` with ``SYNC_TLS_*``, a real handshake.

Negative controls: a client that does not trust the certificate fails, and a key that does not
belong to the certificate stops the start with one line (before anything is written).
"""

from __future__ import annotations

import ipaddress
import os
import signal
import ssl
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from e2e_support import console_script, free_port

from sync_server.cli import main


def server_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the test trusts it directly)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = folder / "tls.key.pem", folder / "tls.cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


@pytest.mark.e2e
def test_serve_speaks_tls_with_the_operators_certificate(tmp_path: Path) -> None:
    key_file, cert_file = server_certificate(tmp_path / "tls")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env.update(
        SYNC_DATA_DIR=str(tmp_path / "data"),
        SYNC_TLS_CERT_FILE=str(cert_file),
        SYNC_TLS_KEY_FILE=str(key_file),
    )
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [console_script("sync-server"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    trusted = ssl.create_default_context(cafile=str(cert_file))
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                response = httpx2.get(f"{url}/readyz", verify=trusted, timeout=1)
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["status"] == "ready"
        with pytest.raises(httpx2.ConnectError):  # a client that does not trust it
            httpx2.get(f"{url}/healthz", timeout=2)
        with pytest.raises(httpx2.TransportError):  # plain HTTP is not answered
            httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        log.close()
    assert f"Listening on {url}" in (tmp_path / "server.log").read_text()


def test_a_tls_key_that_does_not_fit_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, cert_file = server_certificate(tmp_path / "one")
    other_key, _ = server_certificate(tmp_path / "two")
    for name in list(os.environ):
        if name.startswith("SYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SYNC_TLS_CERT_FILE", str(cert_file))
    monkeypatch.setenv("SYNC_TLS_KEY_FILE", str(other_key))
    assert main(["serve", "--port", "0"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.endswith("[tls_unreadable]") and str(cert_file) in line
    monkeypatch.setenv("SYNC_TLS_KEY_FILE", str(tmp_path / "missing.pem"))
    assert main(["serve", "--port", "0"]) == 2
    assert capsys.readouterr().err.strip().endswith("[tls_unreadable]")
    assert not (tmp_path / "data").exists()
