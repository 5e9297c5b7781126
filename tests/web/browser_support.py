"""What the browser tests start: ``pc-client ui`` as a subprocess, and Debian's chromium.

``UiProcess`` runs ``pc-client --server URL ui --no-browser`` with its own store folder and
home folder (the folder browser starts there), reads the launch URL it prints, and stops it
(the test presses 關閉視窗; a failed test kills it). ``launch_chromium`` starts the system's
``chromium`` through Playwright (its own browser download cannot work on these machines).
``Shots`` saves a screenshot per screen under ``$CERTSYNC_SCREENSHOTS`` or a pytest folder.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_support import ServerProcess, console_script

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAUNCH_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/launch/[A-Za-z0-9_-]+")
START_TIMEOUT = 30.0


def chromium_path() -> str | None:
    """The system's chromium, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


@dataclass
class UiProcess:
    """``pc-client ui --no-browser`` on a free port, for one store folder."""

    server: ServerProcess
    store: Path
    home: Path
    language_env: dict[str, str]
    process: subprocess.Popen[str] | None = None
    url: str = ""
    output: list[str] = field(default_factory=list)

    def start(self) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PC_CLIENT_", "LC_"))}
        env.update(
            PC_CLIENT_HOME=str(self.store),
            PC_CLIENT_PFX_ITERATIONS="1000",
            HOME=str(self.home),
            PYTHONUNBUFFERED="1",
            **self.language_env,
        )
        self.process = subprocess.Popen(
            [console_script("pc-client"), "--server", self.server.url, "ui", "--no-browser"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, env=env,
        )  # fmt: skip
        assert self.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                if not line:
                    break
                self.output.append(line)
                if match := LAUNCH_URL.search(line):
                    self.url = match.group(0)
                    return self.url
            if self.process.poll() is not None:
                break
        raise AssertionError(f"pc-client ui printed no launch URL: {''.join(self.output)}")

    @property
    def base_url(self) -> str:
        return self.url.split("/launch/")[0]

    def wait_stopped(self, timeout: float = 15.0) -> int:
        """The exit status once the service stopped by itself (關閉視窗)."""
        assert self.process is not None
        code = self.process.wait(timeout=timeout)
        assert self.process.stdout is not None
        self.output.append(self.process.stdout.read())
        return code

    def kill(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout is not None and not self.process.stdout.closed:
            self.output.append(self.process.stdout.read())
            self.process.stdout.close()


@dataclass
class Shots:
    """Screenshots of each screen, numbered in the order taken."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def take(
        self, page: Any, name: str, *, full_page: bool = True, timeout: float | None = None
    ) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page, timeout=timeout)
        self.taken.append(path)
        return path
