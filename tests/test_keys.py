"""Keys, CSRs, signatures and fingerprints, checked against the openssl command line."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sync_client.errors import InvalidInput, WrongPfxPassword
from sync_client.keys import (
    PrivateKey,
    build_csr_pem,
    certificate_fingerprint,
    generate_private_key,
    key_matches_certificate,
    open_private_key,
    public_key_fingerprint,
    seal_private_key,
    sign,
    verify,
)
from sync_client.pfx import DEFAULT_PFX_ITERATIONS, build_pfx

CUSTOMER = "A123456789"
MESSAGE = b"certsync-order-v1\n{}"


@pytest.fixture(scope="module")
def rsa_key() -> PrivateKey:
    return generate_private_key("rsa")


@pytest.fixture(scope="module")
def ec_key() -> PrivateKey:
    return generate_private_key("ec")


@pytest.fixture(scope="module", params=["rsa", "ec"])
def any_key(request: pytest.FixtureRequest, rsa_key: PrivateKey, ec_key: PrivateKey) -> PrivateKey:
    return rsa_key if request.param == "rsa" else ec_key


def self_signed(key: PrivateKey, cn: str = CUSTOMER) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_rsa_key_is_2048_bits_with_e_65537(rsa_key: PrivateKey) -> None:
    assert isinstance(rsa_key, rsa.RSAPrivateKey)
    assert rsa_key.key_size == 2048
    assert rsa_key.public_key().public_numbers().e == 65537


def test_ec_key_is_p256(ec_key: PrivateKey) -> None:
    assert isinstance(ec_key, ec.EllipticCurvePrivateKey)
    assert isinstance(ec_key.curve, ec.SECP256R1)


def test_unknown_key_kind_is_refused() -> None:
    with pytest.raises(InvalidInput):
        generate_private_key("dsa")  # type: ignore[arg-type]


def test_csr_has_only_the_customer_cn_and_verifies(any_key: PrivateKey) -> None:
    csr = x509.load_pem_x509_csr(build_csr_pem(any_key, CUSTOMER).encode())
    assert csr.is_signature_valid
    assert csr.subject.rfc4514_string() == f"CN={CUSTOMER}"
    assert isinstance(csr.signature_hash_algorithm, hashes.SHA256)
    assert len(csr.extensions) == 0
    assert public_key_fingerprint(csr.public_key()) == public_key_fingerprint(any_key.public_key())


def test_csr_verifies_with_openssl(any_key: PrivateKey, tmp_path: Path) -> None:
    (tmp_path / "req.pem").write_text(build_csr_pem(any_key, CUSTOMER))
    result = openssl("req", "-in", "req.pem", "-verify", "-noout", "-subject", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert CUSTOMER in result.stdout


def test_sign_verify_round_trip(any_key: PrivateKey) -> None:
    signature = sign(any_key, MESSAGE)
    assert verify(any_key.public_key(), signature, MESSAGE)


def test_signature_verifies_with_openssl(any_key: PrivateKey, tmp_path: Path) -> None:
    # openssl dgst -verify uses PKCS#1 v1.5 for RSA and DER ECDSA for EC: the protocol's scheme.
    public_pem = any_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "pub.pem").write_bytes(public_pem)
    (tmp_path / "data").write_bytes(MESSAGE)
    (tmp_path / "sig").write_bytes(sign(any_key, MESSAGE))
    args = ("dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "data")
    assert openssl(*args, cwd=tmp_path).returncode == 0
    (tmp_path / "data").write_bytes(MESSAGE + b" ")  # negative control
    assert openssl(*args, cwd=tmp_path).returncode != 0


def test_verify_rejects_other_data_key_and_garbage(
    any_key: PrivateKey, rsa_key: PrivateKey, ec_key: PrivateKey
) -> None:
    signature = sign(any_key, MESSAGE)
    other = ec_key if any_key is rsa_key else rsa_key
    assert not verify(any_key.public_key(), signature, MESSAGE + b"x")
    assert not verify(other.public_key(), signature, MESSAGE)
    assert not verify(any_key.public_key(), b"\x00" * len(signature), MESSAGE)
    assert not verify(any_key.public_key(), b"", MESSAGE)


def test_verify_returns_false_for_unsupported_key_type() -> None:
    ed_key = ed25519.Ed25519PrivateKey.generate()
    assert not verify(ed_key.public_key(), ed_key.sign(MESSAGE), MESSAGE)


def test_certificate_fingerprint_matches_openssl(any_key: PrivateKey, tmp_path: Path) -> None:
    cert = self_signed(any_key)
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    result = openssl("x509", "-in", "cert.pem", "-noout", "-fingerprint", "-sha256", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = result.stdout.strip().split("=", 1)[1].replace(":", "").lower()
    fingerprint = certificate_fingerprint(cert)
    assert fingerprint == expected
    assert fingerprint == fingerprint.lower() and len(fingerprint) == 64


def test_public_key_fingerprint_is_sha256_of_spki(any_key: PrivateKey, tmp_path: Path) -> None:
    key_pem = any_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "key.pem").write_bytes(key_pem)
    result = subprocess.run(
        ["openssl", "pkey", "-in", "key.pem", "-pubout", "-outform", "DER"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    assert public_key_fingerprint(any_key.public_key()) == hashlib.sha256(result.stdout).hexdigest()


def test_key_matches_only_its_own_certificate(rsa_key: PrivateKey, ec_key: PrivateKey) -> None:
    rsa_cert = self_signed(rsa_key)
    ec_cert = self_signed(ec_key)
    assert key_matches_certificate(rsa_key, rsa_cert)
    assert key_matches_certificate(ec_key, ec_cert)
    assert not key_matches_certificate(rsa_key, ec_cert)
    assert not key_matches_certificate(ec_key, rsa_cert)
    assert not key_matches_certificate(generate_private_key("ec"), ec_cert)


FAST = 2048  # PBKDF2 rounds for the tests that are not about the iteration count


def _der(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_sealed_key_round_trip(any_key: PrivateKey) -> None:
    sealed = seal_private_key(any_key, "correct horse", iterations=FAST)
    assert _der(open_private_key(sealed, "correct horse")) == _der(any_key)
    assert _der(any_key) not in sealed  # encrypted, not merely wrapped


def test_sealed_key_is_a_key_only_pkcs12_in_the_pfx_profile(
    ec_key: PrivateKey, tmp_path: Path
) -> None:
    """``openssl pkcs12`` reads it with the password: PBES2/AES-256-CBC, a SHA-256 MAC, and the
    full 600,000 rounds for both the key bag and the MAC (cryptography alone gives 2,048)."""
    (tmp_path / "key.p12").write_bytes(seal_private_key(ec_key, "pending-pass-1"))
    args = ("pkcs12", "-info", "-nocerts", "-nodes", "-in", "key.p12")
    result = openssl(*args, "-passin", "pass:pending-pass-1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = result.stderr
    assert "MAC: sha256, Iteration 600000" in info
    assert "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256" in (
        info
    )
    assert "Certificate bag" not in result.stdout + info
    printed = serialization.load_pem_private_key(result.stdout.encode(), None)
    assert public_key_fingerprint(printed.public_key()) == public_key_fingerprint(
        ec_key.public_key()
    )
    bad = openssl(*args, "-passin", "pass:wrong-pass-1", cwd=tmp_path)  # negative control
    assert bad.returncode != 0 and "BEGIN PRIVATE KEY" not in bad.stdout
    assert DEFAULT_PFX_ITERATIONS == 600_000


def test_sealed_key_honours_the_iteration_count(ec_key: PrivateKey, tmp_path: Path) -> None:
    (tmp_path / "key.p12").write_bytes(seal_private_key(ec_key, "pw12", iterations=1000))
    args = ("pkcs12", "-info", "-nocerts", "-nodes", "-in", "key.p12", "-passin", "pass:pw12")
    result = openssl(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "MAC: sha256, Iteration 1000" in result.stderr
    assert "Iteration 1000, PRF hmacWithSHA256" in result.stderr


def test_wrong_password_raises_wrong_pfx_password(ec_key: PrivateKey) -> None:
    sealed = seal_private_key(ec_key, "right-password", iterations=FAST)
    with pytest.raises(WrongPfxPassword) as caught:
        open_private_key(sealed, "wrong-password")
    assert caught.value.code == "wrong_password"
    for text in (str(caught.value), repr(caught.value)):
        assert "wrong-password" not in text
        assert "right-password" not in text


def test_empty_password_and_bad_iterations_are_refused(ec_key: PrivateKey) -> None:
    with pytest.raises(InvalidInput):
        seal_private_key(ec_key, "")
    with pytest.raises(InvalidInput):
        seal_private_key(ec_key, "pw12", iterations=0)


def test_garbage_plain_keys_and_keyless_files_are_invalid_input(ec_key: PrivateKey) -> None:
    for data in (b"", b"not a key", _der(ec_key), b"0\x03\x02\x01\x05"):
        with pytest.raises(InvalidInput):
            open_private_key(data, "pw")
    pem = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(InvalidInput):  # the old pending format is not accepted
        open_private_key(pem, "pw")
    cert_only = pkcs12.serialize_key_and_certificates(
        None, None, None, [self_signed(ec_key)], serialization.NoEncryption()
    )
    with pytest.raises(InvalidInput):
        open_private_key(cert_only, "")


def test_a_full_pfx_opens_to_its_key(ec_key: PrivateKey) -> None:
    """A PFX is PKCS#12 too; ``open_private_key`` takes the key from it (no special case)."""
    pfx = build_pfx(
        customer_id=CUSTOMER,
        key=ec_key,
        cert=self_signed(ec_key),
        chain=[],
        password="pw12",
        iterations=FAST,
    )
    assert _der(open_private_key(pfx, "pw12")) == _der(ec_key)
