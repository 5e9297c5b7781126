"""``export DIR`` (function 6) and ``import PATH`` (function 7)."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from keyring_backend import FileKeyring
from pc_harness import CUSTOMER, OTHER_CUSTOMER, PFX_PASSWORD, Pc, Server, write_self_signed_pfx

from sync_client.api import SyncClient
from sync_client.keys import build_csr_pem, generate_private_key
from sync_client.pfx import load_pfx


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    folder = tmp_path / "usb"
    folder.mkdir()
    return folder


@pytest.fixture
def second_pc(tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]) -> Pc:
    pc = Pc(tmp_path / "second" / "BTS", server, capsys, name="second")
    pc.login()
    return pc


# -- export ----------------------------------------------------------------------------------


def test_export_copies_the_file_byte_for_byte(enrolled: Pc, usb: Path) -> None:
    data = enrolled.ok("export", str(usb), input=f"{PFX_PASSWORD}\n")

    target = usb / f"{CUSTOMER}.pfx"
    assert data["path"] == str(target) and data["unchanged"] is False
    assert target.read_bytes() == enrolled.pfx_path().read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    # Exporting again finds the same file: nothing to do, still a success.
    assert enrolled.ok("export", str(usb), input=f"{PFX_PASSWORD}\n")["unchanged"] is True


def test_export_never_overwrites_a_different_file_without_force(enrolled: Pc, usb: Path) -> None:
    target = usb / f"{CUSTOMER}.pfx"
    target.write_bytes(b"an older backup")

    result = enrolled.run("export", str(usb), input=f"{PFX_PASSWORD}\n")

    assert result.error == "file_exists"
    assert target.read_bytes() == b"an older backup"
    enrolled.ok("export", str(usb), "--force", input=f"{PFX_PASSWORD}\n")
    assert target.read_bytes() == enrolled.pfx_path().read_bytes()


@pytest.mark.parametrize(
    ("answers", "code"), [("wrongpass1\n", "wrong_password"), ("", "input_missing")]
)
def test_export_refusals_write_nothing(enrolled: Pc, usb: Path, answers: str, code: str) -> None:
    before = enrolled.snapshot()
    result = enrolled.run("export", str(usb), input=answers)

    assert result.error == code
    assert list(usb.iterdir()) == []
    assert enrolled.snapshot() == before


def test_export_needs_an_existing_folder(enrolled: Pc, tmp_path: Path) -> None:
    result = enrolled.run("export", str(tmp_path / "nowhere"), input=f"{PFX_PASSWORD}\n")
    assert result.error == "no_folder"
    assert not (tmp_path / "nowhere").exists()


def test_export_only_when_host_and_client_match(enrolled: Pc, usb: Path, server: Server) -> None:
    server.revoke(enrolled.open_pfx(PFX_PASSWORD).serial)
    revoked = enrolled.run("export", str(usb), input=f"{PFX_PASSWORD}\n")
    assert revoked.error == "certificate_mismatch"
    assert "revoked" in revoked.data["message"]

    enrolled.apply()
    enrolled.pfx_path().unlink()
    missing = enrolled.run("export", str(usb), input=f"{PFX_PASSWORD}\n")
    assert missing.error == "certificate_mismatch"
    assert list(usb.iterdir()) == []


# -- import ----------------------------------------------------------------------------------


def test_import_from_a_folder_onto_a_new_pc(enrolled: Pc, usb: Path, second_pc: Pc) -> None:
    enrolled.ok("export", str(usb), input=f"{PFX_PASSWORD}\n")

    data = second_pc.ok("import", str(usb), input=f"{PFX_PASSWORD}\n1\n")

    assert data["verdict"] == "match" and data["usable"] is True
    assert data["imported_from"] == str(usb / f"{CUSTOMER}.pfx")
    assert data["client"]["security_setting"] == 1
    assert stat.S_IMODE(second_pc.pfx_path().stat().st_mode) == 0o600
    assert second_pc.open_pfx(PFX_PASSWORD).serial == enrolled.open_pfx(PFX_PASSWORD).serial
    assert second_pc.ok("status")["verdict"] == "match"


def test_import_text_shows_the_match(enrolled: Pc, second_pc: Pc) -> None:
    result = second_pc.run(
        "import", str(enrolled.pfx_path()), "--security-setting", "2",
        input=f"{PFX_PASSWORD}\n", json_output=False,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "The certificate on this computer matches the host." in result.out


def _openssl_export(tmp_path: Path, key_pem: bytes, cert_pem: str, password: str) -> Path:
    (tmp_path / "key.pem").write_bytes(key_pem)
    (tmp_path / "cert.pem").write_text(cert_pem)
    out = tmp_path / "from-openssl.pfx"
    subprocess.run(
        ["openssl", "pkcs12", "-export", "-inkey", str(tmp_path / "key.pem"),
         "-in", str(tmp_path / "cert.pem"), "-out", str(out), "-passout", f"pass:{password}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_import_a_pfx_made_by_openssl(
    pc: Pc, customer: str, server: Server, tmp_path: Path, kind: str
) -> None:
    # Another program made the key and the CSR; the server issued; openssl packed the PFX.
    key = generate_private_key("ec" if kind == "ec" else "rsa")
    api = SyncClient(server.http)
    api.login(CUSTOMER, "login-pass-123", device_kind="pc")
    issued = api.apply(
        enrollment_code=server.slip(), csr_pem=build_csr_pem(key, CUSTOMER), terms_accepted=True
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    source = _openssl_export(tmp_path, key_pem, issued.certificate.cert_pem, "openssl1")
    pc.login()

    data = pc.ok("import", str(source), "--security-setting", "2", input="openssl1\n")

    assert data["verdict"] == "match"
    stored = pc.open_pfx("openssl1")
    assert stored.serial == issued.certificate.serial
    assert len(stored.chain) >= 1  # the chain was added from the server
    assert subprocess.run(
        ["openssl", "pkcs12", "-info", "-noout", "-in", str(pc.pfx_path()),
         "-passin", "pass:openssl1"], capture_output=True, check=False,
    ).returncode == 0  # fmt: skip


def test_import_refusals_change_nothing(
    enrolled: Pc, second_pc: Pc, tmp_path: Path, usb: Path
) -> None:
    enrolled.ok("export", str(usb), input=f"{PFX_PASSWORD}\n")
    junk = tmp_path / "junk.pfx"
    junk.write_bytes(b"\x00" * 100)
    cases = [
        ([str(usb)], "wrongpass1\n2\n", "wrong_password"),
        ([str(usb)], f"{PFX_PASSWORD}\n9\n", "invalid_input"),
        ([str(usb)], f"{PFX_PASSWORD}\n3\n", "credential_store_unavailable"),
        ([str(usb)], f"{PFX_PASSWORD}\n", "input_missing"),
        ([str(tmp_path / "missing.pfx")], f"{PFX_PASSWORD}\n2\n", "invalid_input"),
        ([str(tmp_path)], f"{PFX_PASSWORD}\n2\n", "invalid_input"),  # folder without <ID>.pfx
        ([str(junk)], f"{PFX_PASSWORD}\n2\n", "pfx_invalid"),
        (
            [str(write_self_signed_pfx(tmp_path / "NOT-AN-ID.pfx", "NOT-AN-ID"))],
            f"{PFX_PASSWORD}\n2\n",
            "pfx_invalid",
        ),
        (
            [str(write_self_signed_pfx(tmp_path / f"{OTHER_CUSTOMER}.pfx", OTHER_CUSTOMER))],
            f"{PFX_PASSWORD}\n2\n",
            "pfx_wrong_customer",
        ),
    ]
    for args, answers, code in cases:
        before = second_pc.snapshot()
        result = second_pc.run("import", *args, input=answers)
        assert result.error == code, (args, answers, result.data)
        assert second_pc.snapshot() == before


def test_import_does_not_replace_a_working_certificate_with_a_stale_one(
    enrolled: Pc, usb: Path, server: Server
) -> None:
    enrolled.ok("export", str(usb), input=f"{PFX_PASSWORD}\n")
    server.revoke(enrolled.open_pfx(PFX_PASSWORD).serial)
    enrolled.apply()  # the current, valid certificate
    before = enrolled.snapshot()

    result = enrolled.run("import", str(usb), "--security-setting", "2",
                          input=f"{PFX_PASSWORD}\n")  # fmt: skip

    assert result.error == "certificate_mismatch"
    assert enrolled.snapshot() == before
    forced = enrolled.ok("import", str(usb), "--security-setting", "2", "--force",
                         input=f"{PFX_PASSWORD}\n")  # fmt: skip
    assert forced["verdict"] == "mismatch"


def test_import_with_setting_3_keeps_the_password(
    enrolled: Pc, second_pc: Pc, credential_store: FileKeyring
) -> None:
    second_pc.ok("import", str(enrolled.pfx_path()), input=f"{PFX_PASSWORD}\n3\n")
    assert credential_store.entries()["certsync"][CUSTOMER] == PFX_PASSWORD


def test_imported_file_is_stored_in_our_profile(enrolled: Pc, second_pc: Pc) -> None:
    source = enrolled.pfx_path()
    second_pc.ok("import", str(source), "--security-setting", "2", input=f"{PFX_PASSWORD}\n")
    # Re-encrypted (fresh salts), same contents.
    assert second_pc.pfx_path().read_bytes() != source.read_bytes()
    assert load_pfx(second_pc.pfx_path().read_bytes(), PFX_PASSWORD).fingerprint_sha256 == (
        load_pfx(source.read_bytes(), PFX_PASSWORD).fingerprint_sha256
    )
