"""Server configuration mistakes, whichever command meets them: one line with its ``ConfigCode``,
exit 2 (never 70, "unexpected"), no secret in it, and nothing written to the data folder.

tests/server/test_startup_errors.py covers ``serve``; these are the cases issue 10 names, also
through ``init``, ``admin``, ``db upgrade`` and ``backup``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from sync_server.ca import CA
from sync_server.cli import main

from .pg import SERVER, new_name

Run = Callable[..., tuple[int, str]]
PASSPHRASE = "the operator's passphrase"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    for name in list(os.environ):
        if name.startswith("SYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SYNC_DATA_DIR", str(tmp_path / "data"))

    def go(*argv: str, **env: str) -> tuple[int, str]:
        with monkeypatch.context() as scoped:
            for name, value in env.items():
                scoped.setenv(name, value)
            code = main(list(argv))
        return code, capsys.readouterr().err

    return go


def one_line(err: str, code: str) -> str:
    (line,) = err.strip().splitlines()
    assert line.startswith("error: ") and line.endswith(f"[{code}]"), line
    assert "Traceback" not in err and "unexpected" not in line
    return line


@pytest.fixture
def ca_files(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "ca"
    folder.mkdir()
    ca = CA.generate()
    key, cert = folder / "issuing.key.pem", folder / "issuing.cert.pem"
    key.write_bytes(ca.private_key_pem(PASSPHRASE))
    cert.write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


COMMANDS = [("serve", "--port", "0"), ("init",), ("admin", "customers")]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_ca_key_without_its_certificate_and_the_reverse(
    run: Run, ca_files: tuple[Path, Path], tmp_path: Path, command: tuple[str, ...]
) -> None:
    key, cert = ca_files
    for env in ({"SYNC_CA_KEY_FILE": str(key)}, {"SYNC_CA_CERT_FILE": str(cert)}):
        code, err = run(*command, SYNC_CA_KEY_PASSPHRASE=PASSPHRASE, **env)
        assert code == 2
        assert "SYNC_CA_KEY_FILE and SYNC_CA_CERT_FILE" in one_line(err, "config")
        assert PASSPHRASE not in err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("command", COMMANDS[:2])
def test_garbled_ca_files_and_a_wrong_passphrase(
    run: Run, ca_files: tuple[Path, Path], tmp_path: Path, command: tuple[str, ...]
) -> None:
    key, cert = ca_files
    garbled_key = tmp_path / "ca" / "garbled.key.pem"
    garbled_key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    binary = tmp_path / "ca" / "binary.pem"
    binary.write_bytes(bytes(range(256)))
    garbled_cert = tmp_path / "ca" / "garbled.cert.pem"
    garbled_cert.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    cases = [
        (garbled_key, cert, PASSPHRASE),
        (binary, cert, PASSPHRASE),
        (key, cert, "not the passphrase"),
        (key, garbled_cert, PASSPHRASE),
        (key, binary, PASSPHRASE),
    ]
    for key_file, cert_file, passphrase in cases:
        code, err = run(
            *command,
            SYNC_CA_KEY_FILE=str(key_file),
            SYNC_CA_CERT_FILE=str(cert_file),
            SYNC_CA_KEY_PASSPHRASE=passphrase,
        )
        assert code == 2, err
        one_line(err, "ca_unreadable")
        assert passphrase not in err
    assert not (tmp_path / "data").exists()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "command", [("serve", "--port", "0"), ("init",), ("admin", "customers"), ("db", "upgrade")]
)
def test_a_postgres_url_naming_a_missing_database(
    run: Run, tmp_path: Path, command: tuple[str, ...]
) -> None:
    missing = new_name()
    code, err = run(*command, SYNC_DATABASE_URL=f"{SERVER}/{missing}")
    assert code == 2
    line = one_line(err, "database_missing")
    assert f'database "{missing}" does not exist' in line
    assert not (tmp_path / "data").exists()
