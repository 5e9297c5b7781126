"""`mobile-stub --help` starts fast: the heavy modules load only when a command runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# httpx2, cryptography and the QR stack (qrcode, PIL, zxingcpp), and the phone's modules that
# pull them in.
HEAVY = (
    "httpx2",
    "cryptography",
    "qrcode",
    "PIL",
    "zxingcpp",
    "sync_client.api",
    "sync_client.pairing",
    "sync_client.qr",
    "mobile_stub.keystore",
    "mobile_stub.pairing",
    "mobile_stub.session",
    "mobile_stub.signing",
    "mobile_stub.verdict",
)


def _loaded_after(code: str) -> list[str]:
    """The HEAVY modules loaded once ``code`` ran in a fresh interpreter."""
    script = (
        "import contextlib, io, sys\n"
        f"{code}\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.split()


def test_importing_the_cli_loads_no_heavy_module() -> None:
    assert _loaded_after("import mobile_stub.cli") == []


@pytest.mark.parametrize("argv", [["--help"], ["pair", "--help"], ["order", "--help"]])
def test_help_loads_no_heavy_module(argv: list[str]) -> None:
    code = (
        "from mobile_stub.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main({argv!r}) == 0\n"
    )
    assert _loaded_after(code) == []
