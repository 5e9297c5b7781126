"""Run the real ``sync-server`` for end-to-end tests (a plain module, not a conftest).

    with running_server(tmp_path / "srv", SYNC_CERT_VALIDITY="20d") as server:
        customer = server.admin_json("customer-add", "A123456789", "--name", "Test",
                                     "--generate-password")
        ... run the CLIs against server.url ...

``running_server`` starts ``sync-server serve`` on a free loopback port with its own
``SYNC_DATA_DIR``, waits until ``/healthz`` answers, and stops it afterwards. ``admin`` runs
``sync-server admin …`` on the same data folder (and the same environment).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

STARTUP_TIMEOUT = 20.0
# tests/kdf_hook/sitecustomize.py: lowers the KDF floor in a subprocess (``fast_kdf_env``).
KDF_HOOK = Path(__file__).resolve().parent / "kdf_hook"
FAST_PFX_ITERATIONS = "1000"


def fast_kdf_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """An environment for a CLI subprocess that may write fast PFX files: ``base`` (default
    ``os.environ``) with tests/kdf_hook first on ``PYTHONPATH`` (the only way the floor of
    ``sync_client.kdf_floor`` goes down) and ``PC_CLIENT_PFX_ITERATIONS=1000``, then ``extra``.

    ``PC_CLIENT_PFX_ITERATIONS`` alone, without the hook, is refused by ``pc-client``.
    """
    env = dict(os.environ if base is None else base)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(KDF_HOOK)]
    env["PYTHONPATH"] = os.pathsep.join([str(KDF_HOOK), *paths])
    env["PC_CLIENT_PFX_ITERATIONS"] = FAST_PFX_ITERATIONS
    env.update(extra)
    return env


def console_script(name: str) -> str:
    """The path of a console script installed in this virtualenv (``pc-client``, …)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed in this environment")
    return found


def free_port() -> int:
    """A loopback port that was free a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def admin(self, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        """``sync-server admin ARGS`` on this server's data; raises if it fails."""
        result = subprocess.run(
            [console_script("sync-server"), "admin", *args],
            env=self.env,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise AssertionError(f"sync-server admin {args} failed: {result.stderr.strip()}")
        return result

    def admin_json(self, *args: str) -> dict[str, Any]:
        """``sync-server admin --json ARGS``, parsed."""
        data = json.loads(self.admin("--json", *args).stdout)
        assert isinstance(data, dict)
        return data

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")


@contextmanager
def running_server(
    data_dir: Path, *, environ: Mapping[str, str] | None = None, **settings: str
) -> Iterator[ServerProcess]:
    """Start ``sync-server serve`` with ``SYNC_*`` ``settings`` (e.g. ``SYNC_CERT_VALIDITY``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if environ is None else environ)
    env.update(settings)
    env["SYNC_DATA_DIR"] = str(data_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            # info: the access log is captured too, so tests can prove no secret reaches it.
            [console_script("sync-server"), "serve", "--port", str(port), "--log-level", "info"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(url, data_dir, env, process, log_path)
    try:
        _wait_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_healthy(server: ServerProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"sync-server exited early:\n{server.log()}")
        try:
            if httpx2.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"sync-server did not become healthy in {STARTUP_TIMEOUT} s:\n{server.log()}"
    )
