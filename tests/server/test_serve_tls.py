"""``sync-server serve --tls-cert FILE --tls-key FILE``: the server terminates TLS itself.

The certificate is issued by a test CA made here (a CA certificate and a leaf for 127.0.0.1
signed by it, every extension chosen on purpose); the real server runs on a free loopback
port. A client that trusts the test CA talks the protocol; the negative control, a client with
the system's trust store, is refused with the cause in words (``tls_untrusted``). Bad flags
stop the start with one configuration line before anything is written.
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
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from e2e_support import console_script, free_port

from sync_client.api import Cause, SyncClient
from sync_client.errors import ServerUnreachable
from sync_client.i18n import use_language
from sync_server.cli import main


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_ca_and_leaf(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, leaf certificate, leaf key) files for 127.0.0.1."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CertSync test TLS CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=12))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # Hostname checking reads the SAN only (RFC 6125); the CN is for people.
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "tls.pem", folder / "tls.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(_pem_key(leaf_key))
    return ca_file, cert_file, key_file


test_ca_and_leaf.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env["SYNC_DATA_DIR"] = str(tmp_path / "data")
    return env


@pytest.mark.e2e
def test_serve_with_tls_flags_speaks_https_to_a_client_that_trusts_the_ca(
    tmp_path: Path,
) -> None:
    ca_file, cert_file, key_file = test_ca_and_leaf(tmp_path / "tls")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                console_script("sync-server"), "serve", "--port", str(port),
                "--tls-cert", str(cert_file), "--tls-key", str(key_file),
            ],
            env=_clean_env(tmp_path), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    trusted = ssl.create_default_context(cafile=str(ca_file))
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                httpx2.get(f"{url}/healthz", verify=trusted, timeout=1)
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)

        with SyncClient(httpx2.Client(base_url=url, verify=trusted, timeout=5)) as client:
            assert client.policy().server_time is not None
            assert "BEGIN CERTIFICATE" in client.ca_chain_pem()

        # Negative control: the system's trust store does not know the test CA.
        with (
            use_language("en"),
            SyncClient(httpx2.Client(base_url=url, timeout=5)) as stranger,
            pytest.raises(ServerUnreachable) as refused,
        ):
            stranger.policy()
        assert refused.value.details == {"cause": Cause.TLS_UNTRUSTED}
        assert "the server's TLS certificate is not trusted" in refused.value.message
        assert "SSL" not in refused.value.message and "Error" not in refused.value.message
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert f"Listening on {url}" in log_path.read_text()


def test_bad_tls_flags_stop_the_start_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, cert_file, key_file = test_ca_and_leaf(tmp_path / "tls")
    for name in list(os.environ):
        if name.startswith("SYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SYNC_DATA_DIR", str(tmp_path / "data"))
    missing = tmp_path / "missing.pem"

    cases = [
        (["--tls-cert", str(cert_file)], "[config]"),
        (["--tls-key", str(key_file)], "[config]"),
        (["--tls-cert", str(missing), "--tls-key", str(key_file)], "[tls_unreadable]"),
        (["--tls-cert", str(cert_file), "--tls-key", str(missing)], "[tls_unreadable]"),
        (["--tls-cert", str(key_file), "--tls-key", str(cert_file)], "[tls_unreadable]"),
    ]
    for flags, code in cases:
        assert main(["serve", "--port", "0", *flags]) == 2, flags
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("error: ") and line.endswith(code), (flags, line)
    assert not (tmp_path / "data").exists()
