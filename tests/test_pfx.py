"""PKCS#12 files: our output read by the openssl command line, and openssl's output read by us."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sync_client.errors import InvalidInput, PfxInvalid, WrongPfxPassword
from sync_client.keys import PrivateKey, certificate_fingerprint, generate_private_key
from sync_client.pfx import DEFAULT_PFX_ITERATIONS, LoadedPfx, build_pfx, load_pfx

CUSTOMER = "A123456789"
PASSWORD = "s3cret-pfx-pass"
FAST = 2048  # PBKDF2 rounds for tests that are not about the iteration count


@dataclass(frozen=True)
class Issued:
    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # issuing CA first, then the root


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str, key: PrivateKey, issuer: str, issuer_key: PrivateKey, *, ca: bool
) -> x509.Certificate:
    now = datetime.now(UTC).replace(microsecond=0)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _issue(kind: str) -> Issued:
    root_key = generate_private_key("ec")
    issuing_key = generate_private_key("ec")
    root = _cert("Test Root", root_key, "Test Root", root_key, ca=True)
    issuing = _cert("Test Issuing CA", issuing_key, "Test Root", root_key, ca=True)
    key = generate_private_key("rsa" if kind == "rsa" else "ec")
    leaf = _cert(CUSTOMER, key, "Test Issuing CA", issuing_key, ca=False)
    return Issued(key=key, cert=leaf, chain=(issuing, root))


@pytest.fixture(scope="module")
def rsa_issued() -> Issued:
    return _issue("rsa")


@pytest.fixture(scope="module")
def ec_issued() -> Issued:
    return _issue("ec")


@pytest.fixture(scope="module", params=["rsa", "ec"])
def issued(request: pytest.FixtureRequest, rsa_issued: Issued, ec_issued: Issued) -> Issued:
    return rsa_issued if request.param == "rsa" else ec_issued


def _build(issued: Issued, *, password: str = PASSWORD, iterations: int = FAST) -> bytes:
    return build_pfx(
        customer_id=CUSTOMER,
        key=issued.key,
        cert=issued.cert,
        chain=issued.chain,
        password=password,
        iterations=iterations,
    )


def openssl_info(pfx_path: Path, password: str) -> subprocess.CompletedProcess[str]:
    """``openssl pkcs12 -info -noout``; OpenSSL 3 writes the algorithm lines to stderr."""
    return subprocess.run(
        [
            "openssl",
            "pkcs12",
            "-info",
            "-noout",
            "-in",
            str(pfx_path),
            "-passin",
            f"pass:{password}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _key_der(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_round_trip_keeps_key_cert_and_chain_order(issued: Issued) -> None:
    loaded = load_pfx(_build(issued), PASSWORD)
    assert _key_der(loaded.key) == _key_der(issued.key)
    assert loaded.cert == issued.cert
    assert loaded.chain == issued.chain


def test_loaded_pfx_properties(rsa_issued: Issued) -> None:
    loaded = load_pfx(_build(rsa_issued), PASSWORD)
    cert = rsa_issued.cert
    assert loaded.customer_id == CUSTOMER
    assert loaded.serial == cert.serial_number
    assert loaded.serial_display.startswith(f"{cert.serial_number} (0x")
    assert loaded.not_before == cert.not_valid_before_utc
    assert loaded.not_after == cert.not_valid_after_utc
    assert loaded.not_after.tzinfo is not None
    assert loaded.fingerprint_sha256 == certificate_fingerprint(cert)


def test_friendly_name_is_the_customer_id(rsa_issued: Issued) -> None:
    parsed = pkcs12.load_pkcs12(_build(rsa_issued), PASSWORD.encode())
    assert parsed.cert is not None
    assert parsed.cert.friendly_name == CUSTOMER.encode()


def test_repr_has_no_key_material(rsa_issued: Issued) -> None:
    loaded = load_pfx(_build(rsa_issued), PASSWORD)
    text = repr(loaded)
    assert CUSTOMER in text
    assert str(loaded) == text
    assert isinstance(loaded.key, rsa.RSAPrivateKey)
    numbers = loaded.key.private_numbers()
    for secret in (numbers.d, numbers.p, numbers.q):
        assert str(secret) not in text
        assert f"{secret:x}" not in text.lower()
    assert "PRIVATE" not in text.upper()
    assert "object at 0x" not in text  # no default repr of the key object either


def test_openssl_reads_pbes2_aes256_sha256(rsa_issued: Issued, tmp_path: Path) -> None:
    path = tmp_path / "c.pfx"
    path.write_bytes(_build(rsa_issued))
    result = openssl_info(path, PASSWORD)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "MAC: sha256" in output
    for bag in ("PKCS7 Encrypted data", "Shrouded Keybag"):
        line = next(line for line in output.splitlines() if line.startswith(bag))
        for word in ("PBES2", "PBKDF2", "AES-256-CBC", f"Iteration {FAST}", "hmacWithSHA256"):
            assert word in line, line


def test_default_iterations_are_600000_per_openssl(rsa_issued: Issued, tmp_path: Path) -> None:
    assert DEFAULT_PFX_ITERATIONS == 600_000
    pfx_bytes = build_pfx(
        customer_id=CUSTOMER,
        key=rsa_issued.key,
        cert=rsa_issued.cert,
        chain=rsa_issued.chain,
        password=PASSWORD,
    )
    path = tmp_path / "default.pfx"
    path.write_bytes(pfx_bytes)
    result = openssl_info(path, PASSWORD)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert output.count("PBES2, PBKDF2, AES-256-CBC, Iteration 600000") == 2
    # The known limit in sync_client/pfx.py's docstring: the MAC stays at 2048 iterations.
    assert "MAC: sha256, Iteration 600000" in output


def test_wrong_password_fails_in_openssl_and_here(rsa_issued: Issued, tmp_path: Path) -> None:
    pfx_bytes = _build(rsa_issued)
    path = tmp_path / "c.pfx"
    path.write_bytes(pfx_bytes)
    assert openssl_info(path, "not-the-password").returncode != 0
    with pytest.raises(WrongPfxPassword) as caught:
        load_pfx(pfx_bytes, "not-the-password")
    assert caught.value.code == "wrong_password"
    for text in (str(caught.value), repr(caught.value)):
        assert "not-the-password" not in text
        assert PASSWORD not in text
    assert caught.value.__cause__ is None


def test_non_ascii_password_interoperates_with_openssl(ec_issued: Issued, tmp_path: Path) -> None:
    # Customers in Taiwan may well type a password in Chinese; OpenSSL 3 reads it as UTF-8.
    password = "憑證密碼pfx"
    path = tmp_path / "c.pfx"
    path.write_bytes(_build(ec_issued, password=password))
    assert openssl_info(path, password).returncode == 0
    assert load_pfx(path.read_bytes(), password).customer_id == CUSTOMER


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"0\x03\x02\x01\x03", b"\x30\x82\x01\x00" + b"\x00" * 10],
    ids=["empty", "text", "short-sequence", "truncated"],
)
def test_garbage_is_pfx_invalid(data: bytes) -> None:
    with pytest.raises(PfxInvalid) as caught:
        load_pfx(data, PASSWORD)
    assert caught.value.code == "pfx_invalid"


def test_truncated_pfx_is_pfx_invalid(rsa_issued: Issued) -> None:
    with pytest.raises(PfxInvalid):
        load_pfx(_build(rsa_issued)[:-10], PASSWORD)


def test_pfx_without_key_is_invalid(rsa_issued: Issued) -> None:
    encryption = serialization.BestAvailableEncryption(PASSWORD.encode())
    data = pkcs12.serialize_key_and_certificates(b"x", None, rsa_issued.cert, None, encryption)
    with pytest.raises(PfxInvalid):
        load_pfx(data, PASSWORD)


def test_pfx_without_certificate_is_invalid(rsa_issued: Issued) -> None:
    encryption = serialization.BestAvailableEncryption(PASSWORD.encode())
    data = pkcs12.serialize_key_and_certificates(b"x", rsa_issued.key, None, None, encryption)
    with pytest.raises(PfxInvalid):
        load_pfx(data, PASSWORD)


def test_key_not_matching_certificate_is_refused(rsa_issued: Issued, ec_issued: Issued) -> None:
    # cryptography refuses to write such a file, so the check is shown on both our paths.
    with pytest.raises(PfxInvalid):
        build_pfx(
            customer_id=CUSTOMER,
            key=ec_issued.key,
            cert=rsa_issued.cert,
            chain=(),
            password=PASSWORD,
            iterations=FAST,
        )
    with pytest.raises(PfxInvalid):
        LoadedPfx(key=ec_issued.key, cert=rsa_issued.cert)


def test_certificate_without_cn_is_refused(ec_issued: Issued) -> None:
    now = datetime.now(UTC)
    no_cn = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Nobody")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(no_cn)
        .issuer_name(no_cn)
        .public_key(ec_issued.key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(ec_issued.key, hashes.SHA256())
    )
    with pytest.raises(PfxInvalid):
        LoadedPfx(key=ec_issued.key, cert=cert)


def test_empty_password_and_bad_iterations_are_refused(rsa_issued: Issued) -> None:
    with pytest.raises(InvalidInput):
        _build(rsa_issued, password="")
    with pytest.raises(InvalidInput):
        _build(rsa_issued, iterations=0)


def test_loads_a_pfx_made_by_openssl(tmp_path: Path) -> None:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, check=True, capture_output=True)

    run(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
        "-subj", f"/CN={CUSTOMER}", "-days", "1",
    )  # fmt: skip
    run(
        "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-out", "o.pfx",
        "-passout", f"pass:{PASSWORD}", "-name", CUSTOMER,
    )  # fmt: skip
    loaded = load_pfx((tmp_path / "o.pfx").read_bytes(), PASSWORD)
    expected = x509.load_pem_x509_certificate((tmp_path / "cert.pem").read_bytes())
    assert loaded.customer_id == CUSTOMER
    assert loaded.cert == expected
    assert loaded.chain == ()
    with pytest.raises(WrongPfxPassword):
        load_pfx((tmp_path / "o.pfx").read_bytes(), "nope")


@pytest.mark.parametrize("password", ["密碼pässw", "abcd"])
def test_strengthened_mac_verifies_in_openssl_and_refuses_a_wrong_password(
    ec_issued: Issued, tmp_path: Path, password: str
) -> None:
    path = tmp_path / "mac.pfx"
    path.write_bytes(_build(ec_issued, password=password, iterations=4096))
    assert load_pfx(path.read_bytes(), password).customer_id == CUSTOMER
    good = openssl_info(path, password)
    assert good.returncode == 0, good.stderr
    assert "MAC: sha256, Iteration 4096" in good.stdout + good.stderr
    bad = openssl_info(path, password + "x")
    assert bad.returncode != 0
    assert "mac verify" in (bad.stdout + bad.stderr).lower()
