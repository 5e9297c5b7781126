"""``status``: host info beside client info, and the three verdicts of the original."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pc_harness import CUSTOMER, PFX_PASSWORD, Pc, Server

from sync_client.protocol import format_serial
from sync_client.verdict import Verdict, check_match


def test_before_applying_nothing_matches(pc: Pc, customer: str) -> None:
    pc.login()
    data = pc.ok("status")

    assert data["host"]["status_code"] == 40
    assert data["host"]["status_label"] == "none"
    assert data["client"]["file_present"] is False
    assert data["verdict"] == "no_local_match"
    assert data["message"] == "No certificate on this computer matches the host."
    assert not any("import" in a for a in data["advice"])  # the host has nothing to import
    assert any("apply" in a for a in data["advice"])


def test_after_applying_host_and_client_match(enrolled: Pc) -> None:
    data = enrolled.ok("status")
    host, client = data["host"], data["client"]

    assert data["verdict"] == "match" and data["usable"] is True
    assert host["status_code"] == 0 and host["cn"] == CUSTOMER
    assert client["cn"] == CUSTOMER
    assert client["serial"] == host["serial"]
    assert client["serial_display"] == format_serial(int(host["serial"])) == host["serial_display"]
    assert re.fullmatch(r"\d+ \(0x([0-9A-F]{2})+\)", client["serial_display"])
    assert client["not_before"] == host["not_before"]
    assert client["not_after"] == host["not_after"]
    assert client["folder"] == str(enrolled.home)
    assert client["file_name"] == f"{CUSTOMER}.pfx"
    assert client["security_setting"] == 2
    assert data["advice"] == []


def test_text_shows_host_beside_client_and_the_verdict(enrolled: Pc) -> None:
    out = enrolled.run("status", json_output=False).out
    lines = out.splitlines()

    header = next(line for line in lines if "Host" in line and "This computer" in line)
    assert header.index("Host") < header.index("This computer")
    # 80 columns hold both decimal serials on the Serial line; the hex forms wrap below it.
    at = next(i for i, line in enumerate(lines) if line.startswith("Serial"))
    assert len(re.findall(r"\d{6,}", lines[at])) == 2
    assert len(re.findall(r"\(0x[0-9A-F]+\)", "\n".join(lines[at : at + 2]))) == 2
    assert all(len(line) <= 80 for line in lines)
    status_line = next(line for line in lines if line.startswith("Status"))
    assert "0 valid" in status_line
    for label in ("Folder", "File name", "Security setting", "CN", "Valid from", "Valid to"):
        assert any(line.startswith(label) for line in lines), label
    assert "The certificate on this computer matches the host." in out


def test_another_pcs_newer_certificate_is_a_mismatch(
    enrolled: Pc, tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    # PC B gets PC A's certificate; then A's is revoked and A applies again.
    other = Pc(tmp_path / "B" / "BTS", server, capsys)
    other.login()
    other.ok("import", str(enrolled.pfx_path()), "--security-setting", "2",
             input=f"{PFX_PASSWORD}\n")  # fmt: skip
    server.revoke(enrolled.open_pfx(PFX_PASSWORD).serial)
    enrolled.apply()

    data = other.ok("status")

    assert data["verdict"] == "mismatch"
    assert data["message"] == "Certificate mismatch."
    assert "Import the latest valid certificate" in data["advice"][0]
    assert data["usable"] is False
    text = other.run("status", json_output=False).out
    assert "Certificate mismatch." in text


def test_revoked_certificate_matches_but_is_not_usable(enrolled: Pc, server: Server) -> None:
    server.revoke(enrolled.open_pfx(PFX_PASSWORD).serial)

    data = enrolled.ok("status")

    assert data["host"]["status_code"] == 42
    assert data["verdict"] == "match"
    assert data["usable"] is False
    assert any("apply" in a for a in data["advice"])


def test_a_file_pc_client_did_not_write_is_not_trusted_unseen(enrolled: Pc, tmp_path: Path) -> None:
    shutil.copy(enrolled.pfx_path(), tmp_path / "saved.pfx")
    enrolled.pfx_path().write_bytes(b"not what was registered")

    data = enrolled.ok("status")

    assert data["client"]["file_present"] is True
    assert data["client"]["registered"] is False
    assert data["verdict"] == "no_local_match"
    assert any("import it to check it" in a for a in data["advice"])


def test_expiring_certificate_status_31_advises_renewal(renewal_pc: Pc) -> None:
    data = renewal_pc.ok("status")

    assert data["host"]["status_code"] == 31
    assert data["host"]["status_label"] == "expiring"
    assert data["verdict"] == "match" and data["usable"] is True
    assert any("pc-client renew" in a for a in data["advice"])
    assert "31 expiring soon" in renewal_pc.run("status", json_output=False).out


def test_check_match_rule() -> None:
    assert check_match(host_code=0, host_fingerprint="a", local_fingerprint="a").usable
    assert check_match(host_code=31, host_fingerprint="a", local_fingerprint="a").usable
    assert (
        check_match(host_code=0, host_fingerprint="a", local_fingerprint=None).verdict
        is Verdict.NO_LOCAL_MATCH
    )
    assert (
        check_match(host_code=0, host_fingerprint="a", local_fingerprint="b").verdict
        is Verdict.MISMATCH
    )
    assert (
        check_match(host_code=40, host_fingerprint=None, local_fingerprint="b").verdict
        is Verdict.MISMATCH
    )
    expired = check_match(host_code=41, host_fingerprint="a", local_fingerprint="a")
    assert expired.verdict is Verdict.MATCH and not expired.usable


def test_status_needs_no_password_and_changes_nothing(enrolled: Pc) -> None:
    before = enrolled.snapshot()
    enrolled.ok("status")
    assert enrolled.snapshot() == before
