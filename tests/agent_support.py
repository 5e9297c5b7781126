"""No test leaves a key agent running (``sync_client.key_agent``).

``no_agents_left`` (autouse, registered in ``tests/conftest.py``) gives every test its own
private runtime folder as ``XDG_RUNTIME_DIR`` (short: a Unix socket path has ~100 bytes), which
the agents of in-process runs and of subprocesses (they inherit the environment) choose. After
the test it ends every agent found there by the pid it wrote, waits for it, and removes the
folder. ``agent_alive`` and ``agents_in`` are for tests that watch an agent end.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync_client.key_agent import DIR_PREFIX, PID_NAME


def agent_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie that no one reaped has ended: this machine's init does
    not reap orphans)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X")


def agents_in(base: Path) -> list[int]:
    """The pids of the agents whose folders are in ``base``."""
    pids = []
    for pid_file in base.glob(f"{DIR_PREFIX}*/{PID_NAME}"):
        try:
            pids.append(int(pid_file.read_text()))
        except (OSError, ValueError):
            continue
    return pids


def wait_until_gone(pid: int, *, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not agent_alive(pid):
            return True
        time.sleep(0.05)
    return not agent_alive(pid)


@pytest.fixture(autouse=True)
def no_agents_left(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="csa-"))  # 0700, ours
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(base))
    yield base
    for pid in agents_in(base):
        if agent_alive(pid):
            os.kill(pid, signal.SIGTERM)
            if not wait_until_gone(pid, seconds=5.0):
                os.kill(pid, signal.SIGKILL)
                wait_until_gone(pid, seconds=5.0)
    shutil.rmtree(base, ignore_errors=True)
