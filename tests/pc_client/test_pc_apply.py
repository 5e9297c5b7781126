"""``apply`` (function 2) and ``redownload`` (function 3), with every refusal."""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from keyring_backend import FileKeyring
from pc_harness import (
    CUSTOMER,
    OTHER_CUSTOMER,
    PFX_PASSWORD,
    TEST_ITERATIONS,
    Pc,
    Server,
    dropping_client,
)

from pc_client.app import Options
from sync_client.pfx import DEFAULT_PFX_ITERATIONS


def _openssl_info(path: Path, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "pkcs12", "-info", "-noout", "-in", str(path), "-passin", f"pass:{password}"],
        capture_output=True,
        text=True,
        check=False,
    )


def _answers(code: str, password: str = PFX_PASSWORD, again: str | None = None) -> str:
    return f"{code}\ny\n{password}\n{again or password}\n2\n"


def test_apply_makes_an_rsa_pfx_that_openssl_reads(pc: Pc, customer: str) -> None:
    pc.login()
    slip = pc.server.slip()
    result = pc.run("apply", input=_answers(slip), json_output=False)

    assert result.code == 0, result.err
    assert "Your certificate was issued." in result.out
    assert "Export a backup now" in result.out
    assert "pair it again" in result.out
    path = pc.pfx_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (pc.home / f"{CUSTOMER}.pending.json").exists()
    loaded = pc.open_pfx(PFX_PASSWORD)
    assert isinstance(loaded.key, rsa.RSAPrivateKey) and loaded.key.key_size == 2048
    assert loaded.customer_id == CUSTOMER
    assert len(loaded.chain) >= 1  # the CA chain travels in the file

    info = _openssl_info(path, PFX_PASSWORD)
    assert info.returncode == 0, info.stderr
    assert "PBES2, PBKDF2, AES-256-CBC" in info.stderr + info.stdout
    assert "MAC: sha256" in info.stderr + info.stdout
    assert _openssl_info(path, "wrongpass1").returncode != 0  # negative control
    certs = subprocess.run(
        ["openssl", "pkcs12", "-in", str(path), "-nokeys", "-passin", f"pass:{PFX_PASSWORD}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"friendlyName: {CUSTOMER}" in certs


def test_apply_ec_and_json(pc: Pc, customer: str) -> None:
    pc.login()
    data = pc.apply()

    assert data["customer_id"] == CUSTOMER
    assert data["security_setting"] == 2
    assert isinstance(pc.open_pfx(PFX_PASSWORD).key, ec.EllipticCurvePrivateKey)
    host = pc.server.certificates()[0]
    assert data["serial"] == host.serial


def test_default_pfx_iterations_are_600000() -> None:
    options = Options.build(home=None, server_url=None, as_json=False, debug=False, environ={})
    assert options.pfx_iterations == DEFAULT_PFX_ITERATIONS == 600_000
    assert options.home == Path.home() / "BTS"


def test_apply_is_refused_while_a_valid_certificate_exists(enrolled: Pc) -> None:
    before = enrolled.snapshot()
    slip = enrolled.server.slip()

    result = enrolled.run("apply", input=_answers(slip))

    assert result.error == "certificate_already_valid"
    assert enrolled.snapshot() == before
    # Refused before the slip was even tried: it still works after a revocation.
    enrolled.server.revoke(enrolled.open_pfx(PFX_PASSWORD).serial)
    assert enrolled.run("apply", input=_answers(slip)).code == 0


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ("WRONGCODE1\ny\npass1234\npass1234\n2\n", "enrollment_code_invalid"),
        ("{slip}\nn\npass1234\npass1234\n2\n", "terms_not_accepted"),
        ("{slip}\ny\npass1234\npass4321\n2\n", "passwords_differ"),
        ("{slip}\ny\nab1\nab1\n2\n", "password_too_short"),
        ("{slip}\ny\npass word\npass word\n2\n", "password_characters"),
        ("{slip}\ny\npässwort1\npässwort1\n2\n", "password_characters"),
        ("{slip}\ny\n" + "a" * 65 + "\n" + "a" * 65 + "\n2\n", "password_too_long"),
        ("{slip}\ny\npass1234\npass1234\n7\n", "invalid_input"),
        ("{slip}\ny\npass1234\npass1234\n3\n", "credential_store_unavailable"),
        ("{slip}\ny\npass1234\n", "input_missing"),
    ],
)
def test_apply_refusals_change_nothing(pc: Pc, customer: str, answers: str, code: str) -> None:
    pc.login()
    slip = pc.server.slip()
    before = pc.snapshot()

    result = pc.run("apply", "--key-type", "ec", input=answers.format(slip=slip))

    assert result.code == 1
    assert result.error == code
    assert pc.snapshot() == before
    assert pc.server.certificates() == []


def test_minimum_length_comes_from_the_server(
    make_server: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert callable(make_server)
    server: Server = make_server(pfx_password_min_length=8)
    server.add_customer()
    pc = Pc(tmp_path / "BTS", server, capsys)
    pc.login()
    slip = server.slip()

    short = pc.run("apply", "--agree", "--key-type", "ec", input=f"{slip}\nabc1234\nabc1234\n\n")
    assert short.error == "password_too_short"
    assert "8 characters" in short.data["message"]
    assert pc.run("apply", "--agree", "--key-type", "ec",
                  input=f"{slip}\nabcd1234\nabcd1234\n\n").code == 0  # fmt: skip


def test_apply_with_setting_3_keeps_the_password_in_the_credential_store(
    pc: Pc, customer: str, credential_store: FileKeyring
) -> None:
    pc.login()
    data = pc.ok("apply", "--agree", "--key-type", "ec", "--security-setting", "3",
                 input=f"{pc.server.slip()}\n{PFX_PASSWORD}\n{PFX_PASSWORD}\n")  # fmt: skip

    assert data["security_setting"] == 3
    assert credential_store.entries()["certsync"][CUSTOMER] == PFX_PASSWORD
    assert json.loads((pc.home / "settings.json").read_text())["security_setting"] == 3


def test_apply_after_expiry(enrolled: Pc, server: Server) -> None:
    server.clock.advance(timedelta(days=366))
    enrolled.login()  # the old session ended long ago
    assert enrolled.ok("status")["host"]["status_code"] == 41
    data = enrolled.apply()
    assert enrolled.ok("status")["verdict"] == "match"
    assert data["serial"] != server.certificates()[0].serial


def test_interrupted_apply_is_finished_by_redownload(pc: Pc, customer: str) -> None:
    pc.login()
    lossy = dropping_client(pc.server, "/api/v1/certificate/apply")
    slip = pc.server.slip()

    lost = pc.run("apply", "--key-type", "ec", input=_answers(slip), http=lossy)

    assert lost.error == "server_unreachable"
    assert "redownload" in lost.data["message"]
    pending = pc.home / f"{CUSTOMER}.pending.json"
    assert stat.S_IMODE(pending.stat().st_mode) == 0o600
    content = pending.read_text()
    assert PFX_PASSWORD not in content and "PRIVATE KEY" not in content
    # The new key, sealed in a key-only PKCS#12 under the new PFX password, with the store's
    # iteration count (PC_CLIENT_PFX_ITERATIONS in these tests), the MAC included.
    sealed = pending.with_name("sealed.p12")
    sealed.write_bytes(base64.b64decode(json.loads(content)["sealed_key"]))
    info = _openssl_info(sealed, PFX_PASSWORD)
    assert info.returncode == 0, info.stderr
    assert f"MAC: sha256, Iteration {TEST_ITERATIONS}" in info.stderr
    assert f"Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration {TEST_ITERATIONS}" in (
        info.stderr
    )
    sealed.unlink()
    assert not pc.pfx_path().exists()
    status = pc.ok("status")
    assert status["host"]["status_code"] == 0  # the host did issue
    assert status["pending"] == "apply"
    assert any("redownload" in a for a in status["advice"])

    # Customer service has not opened it yet: refused, nothing changes.
    before = pc.snapshot()
    assert pc.run("redownload", input=f"{PFX_PASSWORD}\n").error == "redownload_not_open"
    assert pc.snapshot() == before

    # Applying again is refused and points at the re-download.
    again = pc.run("apply", "--agree", input="")
    assert again.error == "certificate_already_valid" and "redownload" in again.data["message"]

    pc.server.open_redownload()
    # A mistyped password is refused before the one-time re-download is spent.
    assert pc.run("redownload", input="wrongpass1\n").error == "wrong_password"
    assert pc.snapshot() == before

    data = pc.ok("redownload", input=f"{PFX_PASSWORD}\n")

    assert data["serial"] == pc.server.certificates()[0].serial
    assert not pending.exists()
    assert pc.open_pfx(PFX_PASSWORD).serial == int(data["serial"])
    assert pc.ok("status")["verdict"] == "match"
    # Spent: a second try is refused (and there is nothing pending anyway).
    assert pc.run("redownload", input=f"{PFX_PASSWORD}\n").error == "no_pending_key"


def test_redownload_without_pending_key_does_not_spend_the_grant(enrolled: Pc) -> None:
    enrolled.server.open_redownload()
    before = enrolled.snapshot()

    result = enrolled.run("redownload", input=f"{PFX_PASSWORD}\n")

    assert result.error == "no_pending_key"
    assert enrolled.snapshot() == before
    assert ("redownload", "ok") not in enrolled.server.audit_actions()


def test_redownload_refuses_a_certificate_for_another_key(
    pc: Pc, customer: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pc.login()
    lossy = dropping_client(pc.server, "/api/v1/certificate/apply")
    assert pc.run("apply", input=_answers(pc.server.slip()), http=lossy).code == 1
    # That certificate is revoked and another PC applies: the host's latest is not ours.
    pc.server.revoke(pc.server.certificates()[0].serial)
    other = Pc(tmp_path / "other" / "BTS", pc.server, capsys)
    other.login()
    other.apply()
    pc.server.open_redownload()
    before = pc.snapshot()

    result = pc.run("redownload", input=f"{PFX_PASSWORD}\n")

    assert result.error == "key_mismatch"
    assert pc.snapshot() == before


def test_apply_for_the_logged_in_customer_only(pc: Pc, server: Server, customer: str) -> None:
    server.add_customer(OTHER_CUSTOMER)
    pc.login(OTHER_CUSTOMER)
    pc.apply(customer=OTHER_CUSTOMER)

    assert pc.open_pfx(PFX_PASSWORD, OTHER_CUSTOMER).customer_id == OTHER_CUSTOMER
    assert not pc.pfx_path(CUSTOMER).exists()
