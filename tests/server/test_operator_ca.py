"""The CA: an operator's issuing CA under its own root, the embedded one, and the binding of a
database to one CA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.testclient import TestClient

from sync_server.app import create_app
from sync_server.errors import ConfigError
from sync_server.host import open_host
from sync_server.settings import Secret, Settings

from .harness import FAST_KDF, Clock, ServerHarness
from .openssl_cli import openssl, write_pem

PASSPHRASE = "operator-ca-passphrase"


@dataclass(frozen=True)
class OperatorCa:
    root: x509.Certificate
    issuing: x509.Certificate
    key_file: Path
    cert_file: Path
    chain_file: Path


def name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Securities"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def ca_certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    path_length: int | None,
    is_ca: bool = True,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(issuer.subject if issuer else name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_operator_ca(folder: Path, *, is_ca: bool = True) -> OperatorCa:
    """A root and an issuing CA below it, written the way an operator would hand them over."""
    folder.mkdir(parents=True, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = ca_certificate("Example Root CA", root_key, None, root_key, path_length=1)
    issuing_key = ec.generate_private_key(ec.SECP256R1())
    issuing = ca_certificate(
        "Example Customer CA",
        issuing_key,
        root,
        root_key,
        path_length=0 if is_ca else None,
        is_ca=is_ca,
    )
    key_file = folder / "issuing.key.pem"
    key_file.write_bytes(
        issuing_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    return OperatorCa(
        root,
        issuing,
        key_file,
        write_pem(folder / "issuing.pem", [issuing]),
        write_pem(folder / "root.pem", [root]),
    )


def operator_settings(tmp_path: Path, ca: OperatorCa, passphrase: str | None = PASSPHRASE):
    return Settings(
        data_dir=tmp_path / "data",
        ca_key_file=ca.key_file,
        ca_cert_file=ca.cert_file,
        ca_chain_file=ca.chain_file,
        ca_key_passphrase=Secret(passphrase) if passphrase else None,
        **FAST_KDF,
    )


def test_an_operator_ca_issues_certificates_that_chain_to_its_root(tmp_path: Path) -> None:
    ca = make_operator_ca(tmp_path / "ca")
    clock = Clock()
    host = open_host(operator_settings(tmp_path, ca), clock=clock)
    try:
        app = create_app(host)
        with TestClient(app) as client:
            server = ServerHarness(host, app, client, clock)
            enrolled = server.enroll()
            chain = x509.load_pem_x509_certificates(
                client.get("/api/v1/ca").json()["chain_pem"].encode()
            )
    finally:
        host.db.dispose()
    assert chain == [ca.issuing, ca.root]  # the issuing CA first, then up to the root
    assert not (tmp_path / "data" / "ca.key.pem").exists()  # nothing generated

    leaf = enrolled.issued.certificate.load()
    assert leaf.issuer == ca.issuing.subject
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest

    leaf_file = write_pem(tmp_path / "leaf.pem", [leaf])
    result = openssl(
        "verify", "-x509_strict", "-CAfile", ca.chain_file, "-untrusted", ca.cert_file, leaf_file
    )
    assert result.returncode == 0, result.stderr.decode()
    # Negative controls: without the intermediate, or trusting only the issuing CA as a root.
    alone = openssl("verify", "-CAfile", ca.chain_file, leaf_file)
    assert alone.returncode != 0
    other = make_operator_ca(tmp_path / "other")
    foreign = openssl("verify", "-CAfile", other.chain_file, "-untrusted", ca.cert_file, leaf_file)
    assert foreign.returncode != 0


@pytest.mark.parametrize("passphrase", ["wrong passphrase", None])
def test_a_wrong_or_missing_passphrase_is_a_config_error(
    tmp_path: Path, passphrase: str | None
) -> None:
    ca = make_operator_ca(tmp_path / "ca")
    with pytest.raises(ConfigError):
        open_host(operator_settings(tmp_path, ca, passphrase))


def test_a_certificate_that_is_not_a_ca_is_refused(tmp_path: Path) -> None:
    ca = make_operator_ca(tmp_path / "ca", is_ca=False)
    with pytest.raises(ConfigError):
        open_host(operator_settings(tmp_path, ca))


def test_a_key_that_does_not_match_the_certificate_is_refused(tmp_path: Path) -> None:
    ca, other = make_operator_ca(tmp_path / "ca"), make_operator_ca(tmp_path / "other")
    mixed = OperatorCa(ca.root, ca.issuing, other.key_file, ca.cert_file, ca.chain_file)
    with pytest.raises(ConfigError):
        open_host(operator_settings(tmp_path, mixed))


def test_missing_ca_files_are_a_config_error(tmp_path: Path) -> None:
    ca = make_operator_ca(tmp_path / "ca")
    missing = OperatorCa(ca.root, ca.issuing, tmp_path / "nope.pem", ca.cert_file, ca.chain_file)
    with pytest.raises(ConfigError):
        open_host(operator_settings(tmp_path, missing))


def test_a_database_belongs_to_one_ca(tmp_path: Path) -> None:
    ca = make_operator_ca(tmp_path / "ca")
    first = open_host(operator_settings(tmp_path, ca))
    first.db.dispose()
    # Same database (same data folder), another CA: refused; the same CA again: fine.
    other = make_operator_ca(tmp_path / "other")
    with pytest.raises(ConfigError):
        open_host(operator_settings(tmp_path, other))
    with pytest.raises(ConfigError):
        open_host(Settings(data_dir=tmp_path / "data", **FAST_KDF))  # would generate its own
    open_host(operator_settings(tmp_path, ca)).db.dispose()


def test_the_embedded_ca_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", **FAST_KDF)
    first = open_host(settings)
    first.db.dispose()
    key_file = settings.data_dir / "ca.key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # no passphrase set
    again = open_host(settings)
    again.db.dispose()
    assert again.ca.fingerprint_sha256 == first.ca.fingerprint_sha256
    constraints = first.ca.cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert PASSPHRASE not in repr(first.ca)


def test_an_encrypted_embedded_ca_needs_its_passphrase(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", ca_key_passphrase=Secret(PASSPHRASE), **FAST_KDF
    )
    open_host(settings).db.dispose()
    with pytest.raises(ConfigError):
        open_host(settings.replace(ca_key_passphrase=Secret("not it")))
    with pytest.raises(ConfigError):
        open_host(settings.replace(ca_key_passphrase=None))
    open_host(settings).db.dispose()
