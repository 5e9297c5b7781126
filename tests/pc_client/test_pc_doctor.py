"""``doctor [--fix]``: the environment check table, what it fixes and what it cannot."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from keyring_backend import FileKeyring
from pc_harness import CUSTOMER, Pc, Server

from pc_client.commands.doctor import CHECKS

ITEMS = [
    "python", "cryptography", "openssl", "folder_exists", "folder_writable",
    "folder_not_read_only", "folder_not_hidden", "folder_private", "file_modes", "file_owners",
    "leftovers", "server", "clock", "credential_store",
]  # fmt: skip
NOBODY = 65534  # another user (the tests run as root, so chown to it works)


def _by_item(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["item"]: check for check in data["checks"]}


def test_a_healthy_store_with_a_credential_store_passes(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    result = enrolled.run("doctor")

    assert result.code == 0, result.data
    assert [c["item"] for c in result.data["checks"]] == ITEMS == list(CHECKS)
    assert all(c["ok"] for c in result.data["checks"])
    assert result.data["problems"] == 0
    for check in result.data["checks"]:
        assert check["name"] and check["purpose"] and check["recommended"] and check["current"]


def test_the_table_has_the_five_columns(enrolled: Pc, credential_store: FileKeyring) -> None:
    out = enrolled.run("doctor", json_output=False).out
    header = out.splitlines()[0].split()
    assert header == ["Item", "Purpose", "Recommended", "Current", "Action"]
    assert "Everything is in order." in out


def test_no_credential_store_is_no_problem_without_setting_3(enrolled: Pc) -> None:
    result = enrolled.run("doctor")

    assert result.code == 0, result.err
    store = _by_item(result.data)["credential_store"]
    assert store["ok"] is True
    assert store["current"] == "unavailable (not needed for setting 2)"


def test_no_credential_store_with_setting_3_is_reported_and_cannot_be_fixed(
    enrolled: Pc,
) -> None:
    # Setting 3 chosen while a credential store existed, which has gone since.
    settings = json.loads((enrolled.home / "settings.json").read_text())
    settings["security_setting"] = 3
    (enrolled.home / "settings.json").write_text(json.dumps(settings))

    result = enrolled.run("doctor", "--fix")

    assert result.code == 1
    assert result.data["error"] == "doctor_problems"
    store = _by_item(result.data)["credential_store"]
    assert store["ok"] is False and store["current"] == "unavailable"
    assert store["action"].startswith("cannot fix:")
    assert result.err.rstrip().endswith("[doctor_problems]")


def test_fix_creates_the_missing_folder(pc: Pc, credential_store: FileKeyring) -> None:
    assert not pc.home.exists()
    before = _by_item(pc.run("doctor").data)
    assert before["folder_exists"]["ok"] is False
    assert before["folder_exists"]["action"] == "run `pc-client doctor --fix`"
    assert not pc.home.exists()  # looking changes nothing

    result = pc.run("doctor", "--fix")

    assert result.code == 0, result.data
    assert pc.home.is_dir() and stat.S_IMODE(pc.home.stat().st_mode) == 0o700
    assert _by_item(result.data)["folder_exists"]["fixed"] is True
    assert _by_item(result.data)["folder_exists"]["action"] == "fixed"


def test_fix_clears_a_read_only_folder(enrolled: Pc, credential_store: FileKeyring) -> None:
    os.chmod(enrolled.home, 0o500)
    try:
        found = _by_item(enrolled.run("doctor").data)["folder_not_read_only"]
        assert found["ok"] is False and "read-only" in found["current"]

        fixed = _by_item(enrolled.run("doctor", "--fix").data)["folder_not_read_only"]

        assert fixed["fixed"] is True
        assert stat.S_IMODE(enrolled.home.stat().st_mode) & stat.S_IWUSR
    finally:
        os.chmod(enrolled.home, 0o700)


def test_fix_tightens_file_modes_and_removes_leftovers(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    os.chmod(enrolled.pfx_path(), 0o644)
    leftover = enrolled.home / f".{CUSTOMER}.pfx.new"
    leftover.write_bytes(b"half-written")
    found = _by_item(enrolled.run("doctor").data)
    assert found["file_modes"]["ok"] is False and "0644" in found["file_modes"]["current"]
    assert found["leftovers"]["ok"] is False

    result = enrolled.run("doctor", "--fix")

    assert result.code == 0
    assert stat.S_IMODE(enrolled.pfx_path().stat().st_mode) == 0o600
    assert not leftover.exists()


def test_a_hidden_folder_cannot_be_fixed(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str], credential_store: object
) -> None:
    pc = Pc(tmp_path / ".bts", server, capsys)
    pc.home.mkdir(mode=0o700)

    result = pc.run("doctor", "--fix")

    hidden = _by_item(result.data)["folder_not_hidden"]
    assert result.code == 1
    assert hidden["ok"] is False and hidden["fixed"] is False
    assert "does not start with a dot" in hidden["action"]


def test_an_unreachable_server_names_the_url(enrolled: Pc, credential_store: object) -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    offline = httpx2.Client(transport=httpx2.MockTransport(refuse), base_url="http://10.9.9.9:1")

    result = enrolled.run("doctor", http=offline)

    checks = _by_item(result.data)
    assert result.code == 1
    assert checks["server"]["ok"] is False and "http://10.9.9.9:1" in checks["server"]["current"]
    assert checks["clock"]["ok"] is False


def test_clock_skew_against_the_server(enrolled: Pc, server: Server) -> None:
    server.clock.advance(timedelta(minutes=10))
    clock = _by_item(enrolled.run("doctor", "--item", "clock").data)["clock"]
    assert clock["ok"] is False
    assert clock["current"].startswith("-600") or clock["current"].startswith("-599")


def test_item_limits_the_check_and_the_fix(pc: Pc) -> None:
    result = pc.run("doctor", "--fix", "--item", "python", "--item", "credential_store")

    assert [c["item"] for c in result.data["checks"]] == ["python", "credential_store"]
    assert not pc.home.exists()  # folder_exists was not selected, so not fixed


# -- the folder and its files belong to this user, and only this user writes there --------------


def test_a_folder_others_can_write_is_flagged_with_its_fix(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    os.chmod(enrolled.home, 0o777)  # noqa: S103 (the very mistake doctor must flag)
    before = enrolled.snapshot()

    found = enrolled.run("doctor")

    row = _by_item(found.data)["folder_private"]
    assert found.code == 1 and found.data["error"] == "doctor_problems"
    assert row["ok"] is False and "0777" in row["current"] and row["fixable"] is True
    assert f"chmod 700 {enrolled.home}" in row["action"]
    assert stat.S_IMODE(enrolled.home.stat().st_mode) == 0o777  # looking changes nothing
    assert enrolled.snapshot() == before

    fixed = enrolled.run("doctor", "--fix")

    assert fixed.code == 0, fixed.data
    assert _by_item(fixed.data)["folder_private"]["fixed"] is True
    assert stat.S_IMODE(enrolled.home.stat().st_mode) == 0o700


def test_group_write_is_flagged_too_and_0700_passes(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    assert _by_item(enrolled.run("doctor").data)["folder_private"]["ok"] is True
    os.chmod(enrolled.home, 0o770)  # noqa: S103 (likewise)
    assert _by_item(enrolled.run("doctor").data)["folder_private"]["ok"] is False


def test_a_folder_owned_by_another_user_cannot_be_fixed(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    os.chown(enrolled.home, NOBODY, -1)
    try:
        before = enrolled.snapshot()

        result = enrolled.run("doctor", "--fix")

        row = _by_item(result.data)["folder_private"]
        assert result.code == 1
        assert row["ok"] is False and row["fixable"] is False and row["fixed"] is False
        assert str(NOBODY) in row["current"]
        assert "another user" in row["action"] and f"mv {enrolled.home}" in row["action"]
        assert enrolled.home.stat().st_uid == NOBODY
        assert enrolled.snapshot() == before
    finally:
        os.chown(enrolled.home, os.getuid(), -1)


@pytest.mark.parametrize("name", [f"{CUSTOMER}.pfx", "settings.json", "session.json"])
def test_a_store_file_owned_by_another_user_is_flagged(
    enrolled: Pc, credential_store: FileKeyring, name: str
) -> None:
    path = enrolled.home / name
    os.chown(path, NOBODY, -1)

    result = enrolled.run("doctor", "--fix")

    row = _by_item(result.data)["file_owners"]
    assert result.code == 1
    assert row["ok"] is False and row["fixable"] is False
    assert name in row["current"] and str(NOBODY) in row["current"]
    assert str(path) in row["action"] and "import" in row["action"]
    assert path.stat().st_uid == NOBODY  # no program takes another user's file over


def test_a_store_file_others_can_write_is_flagged_with_its_fix(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    os.chmod(enrolled.home / "settings.json", 0o666)  # noqa: S103 (likewise)

    row = _by_item(enrolled.run("doctor").data)["file_modes"]

    assert row["ok"] is False and "settings.json 0666" in row["current"]
    assert f"chmod 600 {enrolled.home / 'settings.json'}" in row["action"]


def test_leftover_temporary_files_are_flagged_and_removed(
    enrolled: Pc, credential_store: FileKeyring
) -> None:
    leftover = enrolled.home / ".settings.json.0123456789abcdef.tmp"
    leftover.write_bytes(b"half")

    row = _by_item(enrolled.run("doctor").data)["leftovers"]
    assert row["ok"] is False and leftover.name in row["current"]
    assert f"rm {leftover}" in row["action"]

    assert enrolled.run("doctor", "--fix").code == 0
    assert not leftover.exists()
