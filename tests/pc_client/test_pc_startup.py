"""`pc-client --help` starts fast: it imports no command module and no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["httpx2", "cryptography", "qrcode", "PIL", "zxingcpp", "pc_client.app", "pc_client.store"]


def test_help_imports_nothing_heavy() -> None:
    probe = (
        "import contextlib, io, json, sys\n"
        "from pc_client.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['--help'])\n"
        f"print(json.dumps([code, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    code, loaded = json.loads(done.stdout)
    assert code == 0
    assert loaded == []
