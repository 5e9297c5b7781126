"""Trust on first use (``sync_client.pinning``): the rule, the file, and the fingerprint format.

The rule is pure (``decide_pin``); the file is written 0600 and atomically, and a refusal
leaves it byte for byte as it was. The fingerprint is the SHA-256 of the issuing CA's DER,
the same value the server computes for its CA, shown as the enrollment slip prints it.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sync_client.api import SyncClient
from sync_client.errors import CaChanged, ClientCode, InvalidInput, ServerRefused
from sync_client.pinning import (
    PinOutcome,
    ca_fingerprint,
    check_server_ca,
    decide_pin,
    read_pins,
    show_fingerprint,
    verify_pinned_ca,
    write_pins,
)
from sync_server.app import create_app
from sync_server.host import Host, open_host
from sync_server.settings import Settings

URL = "https://certsync.example"
A, B = "a" * 64, "b" * 64


def test_first_use_pins_the_same_passes_another_is_refused() -> None:
    assert decide_pin({}, URL, A, accept_new=False).outcome is PinOutcome.PINNED
    assert decide_pin({URL: A}, URL, A, accept_new=False).outcome is PinOutcome.SAME
    with pytest.raises(CaChanged) as changed:
        decide_pin({URL: A}, URL, B, accept_new=False)
    assert changed.value.code == ClientCode.CA_CHANGED
    assert show_fingerprint(A) in changed.value.message
    assert show_fingerprint(B) in changed.value.message
    accepted = decide_pin({URL: A}, URL, B, accept_new=True)
    assert (accepted.outcome, accepted.previous) == (PinOutcome.REPINNED, A)
    # Pins are per server: another address is a first use of its own.
    assert decide_pin({URL: A}, "https://other.example", B, accept_new=False).outcome is (
        PinOutcome.PINNED
    )


def test_fingerprints_are_shown_as_colon_separated_upper_case_pairs() -> None:
    assert show_fingerprint("ab01cd") == "AB:01:CD"
    assert len(show_fingerprint(A)) == 64 + 31


def test_the_pin_file_is_private_and_a_damaged_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ca_pins.json"
    assert read_pins(path) == {}
    write_pins(path, {URL: A})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_pins(path) == {URL: A}
    for damaged in ("{", json.dumps({"pins": {URL: "not hex"}}), json.dumps([1])):
        path.write_text(damaged)
        with pytest.raises(InvalidInput):
            read_pins(path)


@pytest.fixture
def host(tmp_path: Path) -> Host:
    settings = Settings(
        data_dir=tmp_path / "srv", password_kdf_memory_kib=1024, password_kdf_iterations=1
    )
    return open_host(settings)


def test_the_fingerprint_is_the_servers_own_ca_fingerprint(host: Host) -> None:
    with TestClient(create_app(host)) as http:
        chain = SyncClient(http).ca_chain_pem()
    assert ca_fingerprint(chain) == host.ca.fingerprint_sha256
    with pytest.raises(ServerRefused) as bad:
        ca_fingerprint("no certificate here")
    assert bad.value.code == ClientCode.BAD_RESPONSE


def test_check_pins_once_then_refuses_another_ca_leaving_the_file(
    host: Host, tmp_path: Path
) -> None:
    path = tmp_path / "home" / "ca_pins.json"
    other = open_host(
        Settings(
            data_dir=tmp_path / "other", password_kdf_memory_kib=1024, password_kdf_iterations=1
        )
    )
    with TestClient(create_app(host)) as http, TestClient(create_app(other)) as impostor:
        ours, theirs = SyncClient(http), SyncClient(impostor)
        assert verify_pinned_ca(ours, path, URL) is None  # nothing pinned: nothing asked
        assert not path.exists()
        first = check_server_ca(ours, path, URL)
        assert first.outcome is PinOutcome.PINNED
        before = path.read_bytes()
        assert check_server_ca(ours, path, URL).outcome is PinOutcome.SAME
        with pytest.raises(CaChanged):
            verify_pinned_ca(theirs, path, URL)
        assert path.read_bytes() == before
        # Not recorded until asked to: a login records only once it succeeded.
        unrecorded = check_server_ca(theirs, path, URL, accept_new=True, record=False)
        assert unrecorded.outcome is PinOutcome.REPINNED
        assert path.read_bytes() == before
        check_server_ca(theirs, path, URL, accept_new=True)
        assert read_pins(path) == {URL: other.ca.fingerprint_sha256}


def test_the_enrollment_slip_prints_the_fingerprint_the_client_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import os
    import sys

    from sync_server.cli import main as server_main

    for name in list(os.environ):
        if name.startswith("SYNC_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SYNC_DATA_DIR", str(data_dir))
    assert server_main(["init"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("counter-pass-1\n"))
    assert server_main(["admin", "--staff", "t", "customer-add", "A123456789", "--name", "T"]) == 0
    capsys.readouterr()
    assert server_main(["admin", "--staff", "t", "--json", "enrollment-code", "A123456789"]) == 0
    slip = json.loads(capsys.readouterr().out)
    assert server_main(["admin", "--staff", "t", "enrollment-code", "A123456789"]) == 0
    text = capsys.readouterr().out

    host = open_host(Settings(data_dir=data_dir))
    with TestClient(create_app(host)) as http:
        pinned = check_server_ca(SyncClient(http), tmp_path / "pc" / "ca_pins.json", URL)
    assert slip["ca_fingerprint"] == pinned.shown
    assert f"CA fingerprint:  {pinned.shown}" in text
