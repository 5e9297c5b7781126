"""``mobile-stub`` as a tester runs it: a subprocess against a real ``sync-server`` process.

The PC half is the SDK (``sync_client.pairing.send_pfx``, the same function ``pc-client pair``
calls); the phone decodes the PNG written from the PC's payload, stores the certificate, and
signs an order the server accepts, while the PC learns "claimed" by long-polling.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_support import ServerProcess, console_script, running_server

from sync_client.api import SyncClient
from sync_client.keys import build_csr_pem, certificate_fingerprint, generate_private_key
from sync_client.pairing import send_pfx, wait_for_outcome
from sync_client.pfx import build_pfx
from sync_client.qr import parse_pair_payload, render_qr_png

pytestmark = pytest.mark.e2e

CUSTOMER = "A123456789"
PFX_PASSWORD = "pfx-pass-1"


def _phone(
    server: ServerProcess, home: Path, *args: str, input_text: str = ""
) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "MOBILE_STUB_HOME": str(home), "MOBILE_STUB_SERVER": server.url}
    result = subprocess.run(
        [console_script("mobile-stub"), "--json", *args],
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, json.loads(result.stdout), result.stderr


def test_phone_pairs_from_the_png_and_signs_an_order(tmp_path: Path) -> None:
    with running_server(tmp_path / "srv") as server:
        added = server.admin_json("customer-add", CUSTOMER, "--name", "Test", "--generate-password")
        login_password = added["password"]
        slip = server.admin_json("enrollment-code", CUSTOMER)

        with SyncClient.connect(server.url) as pc:
            pc.login(CUSTOMER, login_password, device_kind="pc")
            key = generate_private_key("ec")
            issued = pc.apply(
                enrollment_code=slip["enrollment_code"],
                csr_pem=build_csr_pem(key, CUSTOMER),
                terms_accepted=True,
            )
            cert = issued.certificate.load()
            pfx_bytes = build_pfx(
                customer_id=CUSTOMER,
                key=key,
                cert=cert,
                chain=issued.chain(),
                password=PFX_PASSWORD,
                iterations=2048,
            )
            handoff = send_pfx(
                pc,
                pfx_bytes=pfx_bytes,
                customer_id=CUSTOMER,
                certificate_fingerprint=certificate_fingerprint(cert),
            )
            png = tmp_path / "pair.png"
            render_qr_png(handoff.payload, png)

            home = tmp_path / "phone"
            rc, data, err = _phone(
                server, home, "login", CUSTOMER, input_text=login_password + "\n"
            )
            assert rc == 0, err

            outcome: list[str] = []
            waiter = threading.Thread(
                target=lambda: outcome.append(
                    wait_for_outcome(pc, handoff.slot_id, deadline=time.monotonic() + 30)
                )
            )
            waiter.start()
            rc, data, err = _phone(server, home, "pair", "--qr-png", str(png),
                                   input_text=PFX_PASSWORD + "\n")  # fmt: skip
            waiter.join(timeout=40)
            assert rc == 0, err
            assert data["fingerprint_sha256"] == certificate_fingerprint(cert)
            assert outcome == ["claimed"]

        rc, data, err = _phone(server, home, "status")
        assert rc == 0 and data["verdict"] == "match", err

        rc, data, err = _phone(
            server, home, "order", "--symbol", "2330", "--side", "sell", "--qty", "5",
            "--price", "600", input_text=PFX_PASSWORD + "\n",
        )  # fmt: skip
        assert rc == 0, err
        assert data["serial"] == str(cert.serial_number) and data["password_asked"] is True
        # Setting 2: the next order, another process, signs through the key agent.
        rc, data, err = _phone(
            server, home, "order", "--symbol", "2330", "--side", "sell", "--qty", "5",
            "--price", "600",
        )  # fmt: skip
        assert rc == 0 and data["password_asked"] is False, err

        rc, data, err = _phone(server, home, "pair", "--payload", "-",
                               input_text=handoff.payload + "\n" + PFX_PASSWORD + "\n")  # fmt: skip
        assert rc == 1 and data["error"] == "slot_spent"
        assert err.count("\n") == 1 and err.endswith("[slot_spent]\n")

        key_text = handoff.payload.split("#k=")[1]
        assert key_text not in server.log()
        assert parse_pair_payload(handoff.payload).slot_id == handoff.slot_id
