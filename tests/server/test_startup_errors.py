"""Start-up errors an operator can act on: one line, a code, a non-zero exit, nothing on disk.

``sync-server serve`` runs in process through ``main``; each case fails before uvicorn would
start, so the test also proves the order: every check comes before the first write.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from sync_server.ca import CA
from sync_server.cli import main

from .pg import SERVER, new_name

Serve = Callable[..., tuple[int, str]]


@pytest.fixture
def serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Serve:
    for name in list(os.environ):
        if name.startswith("SYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SYNC_DATA_DIR", str(tmp_path / "data"))

    def run(*args: str, **env: str) -> tuple[int, str]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code = main(["serve", "--port", "0", *args])
        captured = capsys.readouterr()
        assert captured.out == ""
        return code, captured.err

    return run


def one_line(err: str, code: str) -> str:
    (line,) = err.strip().splitlines()
    assert line.startswith("error: ") and line.endswith(f"[{code}]"), line
    assert "Traceback" not in err and "unexpected" not in line
    return line


def ca_files(folder: Path, passphrase: str | None = None) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ca = CA.generate()
    key, cert = folder / "issuing.key.pem", folder / "issuing.cert.pem"
    key.write_bytes(ca.private_key_pem(passphrase))
    cert.write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def test_a_missing_ca_key_file(serve: Serve, tmp_path: Path) -> None:
    _, cert = ca_files(tmp_path / "ca")
    code, err = serve(
        SYNC_CA_KEY_FILE=str(tmp_path / "ca" / "gone.pem"), SYNC_CA_CERT_FILE=str(cert)
    )
    assert code == 2
    assert "gone.pem does not exist" in one_line(err, "ca_missing")
    assert not (tmp_path / "data").exists()


def test_an_unreadable_ca_certificate(serve: Serve, tmp_path: Path) -> None:
    key, _ = ca_files(tmp_path / "ca")
    folder = tmp_path / "ca" / "a-folder.pem"  # root reads any file: a folder cannot be read
    folder.mkdir()
    code, err = serve(SYNC_CA_KEY_FILE=str(key), SYNC_CA_CERT_FILE=str(folder))
    assert code == 2 and "cannot be read" in one_line(err, "ca_unreadable")
    garbage = tmp_path / "ca" / "garbage.pem"
    garbage.write_text("not a certificate")
    code, err = serve(SYNC_CA_KEY_FILE=str(key), SYNC_CA_CERT_FILE=str(garbage))
    assert code == 2 and "not PEM" in one_line(err, "ca_unreadable")
    assert not (tmp_path / "data").exists()


def test_the_data_folders_key_without_its_certificate(serve: Serve, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ca = CA.generate()
    data.mkdir()
    (data / "ca.key.pem").write_bytes(ca.private_key_pem(None))
    code, err = serve()
    assert code == 2 and "ca.cert.pem does not exist" in one_line(err, "ca_missing")
    assert sorted(p.name for p in data.iterdir()) == ["ca.key.pem"]  # no database, no new CA


def test_a_ca_key_that_needs_a_passphrase(serve: Serve, tmp_path: Path) -> None:
    key, cert = ca_files(tmp_path / "ca", passphrase="the operator's passphrase")
    code, err = serve(SYNC_CA_KEY_FILE=str(key), SYNC_CA_CERT_FILE=str(cert))
    assert code == 2
    line = one_line(err, "ca_passphrase_needed")
    assert "SYNC_CA_KEY_PASSPHRASE" in line
    code, err = serve(SYNC_CA_KEY_PASSPHRASE="not it")
    assert code == 2 and "not it" not in err
    one_line(err, "ca_unreadable")
    assert not (tmp_path / "data").exists()


def test_a_port_in_use(serve: Serve, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = serve("--port", str(port))
    assert code == 2
    assert f"127.0.0.1:{port}" in one_line(err, "port_in_use")
    assert not (tmp_path / "data").exists()


@pytest.mark.postgres
def test_a_postgres_database_that_does_not_exist(serve: Serve, tmp_path: Path) -> None:
    missing = new_name()
    code, err = serve(SYNC_DATABASE_URL=f"{SERVER}/{missing}")
    assert code == 2
    line = one_line(err, "database_missing")
    assert f'database "{missing}" does not exist' in line and "createdb" in line
    assert not (tmp_path / "data").exists()


@pytest.mark.postgres
def test_a_postgres_server_that_refuses_the_user(serve: Serve, tmp_path: Path) -> None:
    host = SERVER.split("@", 1)[1]
    url = f"postgresql://no_such_certsync_user:a-db-password@{host}/postgres"
    code, err = serve(SYNC_DATABASE_URL=url)
    assert code == 2
    line = one_line(err, "database_refused")
    assert "no_such_certsync_user" in line and "a-db-password" not in err
    assert not (tmp_path / "data").exists()


def test_an_unreachable_postgres_server(serve: Serve, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, err = serve(SYNC_DATABASE_URL=f"postgresql://someone:pw-123@127.0.0.1:{port}/certsync")
    assert code == 2
    line = one_line(err, "database_unreachable")
    assert "Connection refused" in line and "pw-123" not in err
    assert not (tmp_path / "data").exists()
