"""A user's mistake or a damaged file is a one-line refusal with a code, never exit 70.

Each case runs the real ``pc-client`` ``main(argv)`` in process and asserts the exit status,
exactly one line on standard error with its ``[code]``, no traceback, and nothing changed (the
store's files, and at the server no session opened and no order taken). Also here: the store
sweeping what an interrupted write left behind.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pc_harness import CUSTOMER, LOGIN_PASSWORD, PFX_PASSWORD, Pc, Run

from pc_client.errors import StoreUnusable
from pc_client.store import STALE_AFTER, Store
from sync_client.fsio import remove_stale_temporaries, write_file_atomic

ORDER = ["order", "--symbol", "2330", "--side", "buy"]


def _one_line(result: Run, code: str) -> None:
    assert result.err.count("\n") == 1, result.err
    assert result.err.startswith("error: ") and result.err.rstrip().endswith(f"[{code}]")
    assert "Traceback" not in result.err + result.out


def _logins(pc: Pc) -> int:
    return sum(1 for action, outcome in pc.server.audit_actions() if "login" in action)


# -- --home that is a file -----------------------------------------------------------------------


def test_a_home_that_is_a_file_is_refused_before_the_server_is_asked(
    pc: Pc, customer: str, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("mine")
    pc.home = not_a_folder

    result = pc.run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n", json_output=False)

    assert result.code == 1
    _one_line(result, "store_unusable")
    assert str(not_a_folder) in result.err
    assert not_a_folder.read_text() == "mine"
    assert _logins(pc) == 0  # no session was opened at the server

    pc.home = tmp_path / "BTS"  # the allowed path: a folder
    assert pc.run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n").code == 0
    assert _logins(pc) == 1


def test_a_home_under_a_file_is_refused_too(pc: Pc, customer: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    pc.home = tmp_path / "file" / "BTS"
    result = pc.run("login", CUSTOMER, input=f"{LOGIN_PASSWORD}\n", json_output=False)
    assert result.code == 1
    _one_line(result, "store_unusable")
    assert _logins(pc) == 0


# -- damaged settings, session and pending files ---------------------------------------------

DAMAGED_SETTINGS = [
    "{not json",
    "[1, 2]",
    "[" * 100_000 + "]" * 100_000,  # nested past Python's recursion limit
    json.dumps({"server_url": 5}),
    json.dumps({"security_setting": True}),
    json.dumps({"security_setting": 7}),
    json.dumps({"security_setting": "2"}),
    json.dumps({"registered": []}),
    json.dumps({"registered": {CUSTOMER: {"certificates": {"ab": 5}}}}),
    json.dumps({"registered": {"../../etc": {}}}),
    json.dumps({"customer_id": "../A123456789"}),
    json.dumps({"language": ["en"]}),
    json.dumps({"pfx_password_min_length": 0}),
]


@pytest.mark.parametrize("text", DAMAGED_SETTINGS, ids=range(len(DAMAGED_SETTINGS)))
def test_a_damaged_settings_file_is_a_clear_refusal(pc: Pc, customer: str, text: str) -> None:
    pc.home.mkdir(mode=0o700)
    (pc.home / "settings.json").write_text(text)
    before = pc.snapshot()

    for command in (["login", CUSTOMER], ["security-setting"]):
        result = pc.run(*command, input=f"{LOGIN_PASSWORD}\n", json_output=False)
        assert result.code == 1, (command, result.err)
        _one_line(result, "store_damaged")
        assert "settings.json" in result.err and "Move it away" in result.err
    assert pc.snapshot() == before
    assert _logins(pc) == 0


def test_settings_from_this_program_still_load(enrolled: Pc) -> None:
    # The allowed path: what this program wrote (and a field it does not know) loads.
    path = enrolled.home / "settings.json"
    settings = json.loads(path.read_text())
    settings["a_later_field"] = {"anything": 1}
    path.write_text(json.dumps(settings))
    assert enrolled.ok("status")["verdict"] == "match"


@pytest.mark.parametrize(
    "change",
    [{"token": 5}, {"customer_id": None}, {"security_setting": "two"}, {"server_url": []}],
)
def test_a_damaged_session_file_is_a_clear_refusal(enrolled: Pc, change: dict[str, object]) -> None:
    path = enrolled.home / "session.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    before = enrolled.snapshot()

    result = enrolled.run("status", json_output=False)

    assert result.code == 1
    _one_line(result, "store_damaged")
    assert "session.json" in result.err
    assert enrolled.snapshot() == before


@pytest.mark.parametrize(
    "change",
    [
        {"sealed_key": "not base64!"},
        {"sealed_key": 5},
        {"operation": "delete"},
        {"csr_pem": "not a CSR"},
        {"csr_pem": "é"},
        {"challenge_id": 5},
    ],
)
def test_a_damaged_pending_record_is_a_clear_refusal(
    enrolled: Pc, change: dict[str, object]
) -> None:
    good = {
        "operation": "apply", "customer_id": CUSTOMER, "created_at": "", "sealed_key": "AAAA",
        "csr_pem": "-----BEGIN CERTIFICATE REQUEST-----", "challenge_id": None,
    }  # fmt: skip
    path = enrolled.home / f"{CUSTOMER}.pending.json"
    path.write_text(json.dumps({**good, **change}))
    before = enrolled.snapshot()

    with pytest.raises(StoreUnusable) as refused:
        Store(enrolled.home).load_pending(CUSTOMER)
    assert refused.value.code == "store_damaged"
    result = enrolled.run("redownload", input=f"{PFX_PASSWORD}\n", json_output=False)
    assert result.code == 1
    _one_line(result, "store_damaged")
    assert enrolled.snapshot() == before


# -- order prices and quantities -----------------------------------------------------------------


@pytest.mark.parametrize(
    "price", ["NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1e3", "٦١٢", "６１２",
              "612.5\u0665", "1_000", " 612", "+612", "0", "612.505"],
)  # fmt: skip
def test_an_order_price_that_is_not_a_plain_decimal_is_refused(enrolled: Pc, price: str) -> None:
    before = enrolled.snapshot()
    result = enrolled.run(*ORDER, "--qty", "1", "--price", price, input=f"{PFX_PASSWORD}\n",
                          json_output=False)  # fmt: skip
    assert result.code == 1, result.err
    _one_line(result, "invalid_input")
    assert enrolled.snapshot() == before
    assert not [a for a, _ in enrolled.server.audit_actions() if "order" in a]


@pytest.mark.parametrize("quantity", ["١٢", "１２", "1_000", "12.0", "-1", "0", "1e3"])
def test_an_order_quantity_in_other_digits_is_refused(enrolled: Pc, quantity: str) -> None:
    before = enrolled.snapshot()
    result = enrolled.run(*ORDER, "--qty", quantity, "--price", "612.5",
                          input=f"{PFX_PASSWORD}\n")  # fmt: skip
    assert result.code == 2, result.err  # a flag's value: click's usage error
    assert result.err.count("\n") == 1 and "[usage]" in result.err
    assert "Traceback" not in result.err
    assert enrolled.snapshot() == before


def test_a_plain_order_still_goes_through(enrolled: Pc) -> None:
    data = enrolled.ok(*ORDER, "--qty", "12", "--price", "612.5", input=f"{PFX_PASSWORD}\n")
    assert data["order"]["quantity"] == 12 and data["order"]["price"] == "612.5"


# -- leftovers of an interrupted write -------------------------------------------------------


def _age(path: Path, delta: timedelta) -> None:
    then = time.time() - delta.total_seconds()
    os.utime(path, (then, then))


def test_the_first_write_sweeps_stale_temporary_and_staging_files(enrolled: Pc) -> None:
    stale_tmp = enrolled.home / ".settings.json.0123456789abcdef.tmp"
    stale_staging = enrolled.home / f".{CUSTOMER}.pfx.new"
    fresh_tmp = enrolled.home / ".session.json.fedcba9876543210.tmp"
    for path in (stale_tmp, stale_staging, fresh_tmp):
        path.write_bytes(b"half-written")
    _age(stale_tmp, STALE_AFTER + timedelta(minutes=1))
    _age(stale_staging, STALE_AFTER + timedelta(minutes=1))

    enrolled.ok("status")  # reading changes nothing: doctor can still show them
    assert stale_tmp.exists() and stale_staging.exists()
    leftovers = {c["item"]: c for c in enrolled.run("doctor").data["checks"]}["leftovers"]
    assert leftovers["ok"] is False and stale_tmp.name in leftovers["current"]
    assert f"rm {stale_tmp}" in leftovers["action"] or str(stale_tmp) in leftovers["action"]

    enrolled.login()  # a command that writes

    assert not stale_tmp.exists() and not stale_staging.exists()
    assert fresh_tmp.exists()  # may be another process's write in progress
    assert enrolled.open_pfx(PFX_PASSWORD).customer_id == CUSTOMER


def test_remove_stale_temporaries_touches_only_old_regular_temporary_files(
    tmp_path: Path,
) -> None:
    write_file_atomic(tmp_path / "kept.json", b"{}")
    old = tmp_path / ".a.json.0123456789abcdef.tmp"
    old.write_bytes(b"x")
    target = tmp_path / "elsewhere"
    target.write_bytes(b"not ours")
    link = tmp_path / ".b.json.0123456789abcdef.tmp"
    link.symlink_to(target)
    unrelated = tmp_path / ".hidden.tmp"
    unrelated.write_bytes(b"x")
    later = datetime.now(UTC) + timedelta(hours=1)

    assert remove_stale_temporaries(tmp_path, older_than=timedelta(hours=2), now=later) == []
    removed = remove_stale_temporaries(tmp_path, older_than=timedelta(minutes=30), now=later)

    assert removed == [old]
    assert link.is_symlink() and target.read_bytes() == b"not ours"
    assert unrelated.exists() and (tmp_path / "kept.json").read_bytes() == b"{}"
