"""Server subprocesses for the benchmarks, and temporary PostgreSQL databases.

Every server listens on a free loopback port and logs to a file in the run's temporary folder;
a server that fails to start is reported with the tail of its log. Servers are stopped with
SIGTERM (uvicorn's graceful shutdown) and killed if they do not stop in time.
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

LOOPBACK = "127.0.0.1"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
# Both servers run with the same uvicorn settings: loopback, one process, loop="auto" and
# http="auto" (uvloop and httptools, installed with uvicorn[standard]), and no per-request
# access log line (which would be measured otherwise).
LOG_LEVEL = "warning"


class BenchError(Exception):
    """A benchmark could not run (a server did not start, a database is unreachable …)."""


def free_port() -> int:
    """A TCP port that was free on loopback a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class ServerProcess:
    """One running server: its base URL, its process and the file its output goes to."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU the server has used so far (Linux ``/proc``; NaN elsewhere)."""
        return process_cpu_seconds(self.pid)

    def wait_ready(self, path: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Poll ``path`` until it answers 200; raise ``BenchError`` if the process dies first."""
        deadline = time.monotonic() + timeout
        with httpx2.Client(base_url=self.url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise BenchError(
                        f"{self.name} exited with {self.process.returncode} while starting:\n"
                        + _tail(self.log_path)
                    )
                try:
                    if client.get(path).status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise BenchError(
            f"{self.name} did not answer {path} within {timeout:.0f} s:\n" + _tail(self.log_path)
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; only ever this one process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_SECONDS)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (Linux ``/proc``; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time all cores of the machine have spent busy since boot (Linux; NaN elsewhere).

    Busy is everything but idle and I/O wait, across every process — the servers, the load
    generator, PostgreSQL, and whatever else runs — so a run can say whether the machine, not
    only the server, was the limit.
    """
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return math.nan
    ticks = [int(f) for f in fields[:8]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def _clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    # The caller's own SYNC_* settings must not leak into a benchmark server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    env.update(extra)
    return env


def _sync_server_command() -> list[str]:
    script = Path(sys.executable).parent / "sync-server"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "sync_server.cli"]


def _spawn(name: str, command: list[str], env: dict[str, str], log_dir: Path) -> ServerProcess:
    log_path = log_dir / f"{name}.log"
    port = int(command[command.index("--port") + 1])
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return ServerProcess(name, f"http://{LOOPBACK}:{port}", process, log_path)


def start_sync_server(
    name: str, *, data_dir: Path, database_url: str | None, log_dir: Path
) -> ServerProcess:
    """``sync-server serve`` on a free loopback port, ready to answer when this returns."""
    env = {"SYNC_DATA_DIR": str(data_dir)}
    if database_url is not None:
        env["SYNC_DATABASE_URL"] = database_url
    command = [
        *_sync_server_command(),
        "serve",
        "--host",
        LOOPBACK,
        "--port",
        str(free_port()),
        "--log-level",
        LOG_LEVEL,
    ]
    server = _spawn(name, command, _clean_environment(env), log_dir)
    server.wait_ready("/healthz")
    return server


def start_bare_server(name: str, *, log_dir: Path) -> ServerProcess:
    """The bare Starlette app of ``bench.bare_app``, under the same uvicorn settings."""
    command = [
        sys.executable,
        "-m",
        "bench.bare_app",
        "--host",
        LOOPBACK,
        "--port",
        str(free_port()),
        "--log-level",
        LOG_LEVEL,
    ]
    root = str(Path(__file__).resolve().parent.parent)
    env = _clean_environment({"PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")})
    server = _spawn(name, command, env, log_dir)
    server.wait_ready("/")
    return server


@contextmanager
def running(server: ServerProcess) -> Iterator[ServerProcess]:
    """Stop ``server`` when the block ends, however it ends."""
    try:
        yield server
    finally:
        server.stop()


# -- PostgreSQL -------------------------------------------------------------------------


def postgres_available(admin_url: str) -> bool:
    """Whether the PostgreSQL server at ``admin_url`` answers within two seconds."""
    import psycopg

    try:
        with psycopg.connect(admin_url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@contextmanager
def temporary_postgres_database(admin_url: str) -> Iterator[str]:
    """Create a fresh database, yield its URL, and drop it (closing leftover sessions) after.

    ``admin_url`` names a database the user can connect to (``postgres``); the new database
    lives on the same server under a random ``certsync_bench_…`` name.
    """
    import psycopg
    from psycopg import sql

    name = f"certsync_bench_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise BenchError(f"Cannot create a PostgreSQL database at {admin_url}: {exc}") from exc
    base, _, _ = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class PostgresBackends:
    """The CPU time of the PostgreSQL backends serving one database (this machine's server).

    Counted per backend process between two snapshots: a backend that starts during a run
    counts in full, one that ends during it (a connection beyond the pool's size, closed when
    returned) takes its time with it — a slight undercount, never a negative.
    """

    def __init__(self, admin_url: str, database: str) -> None:
        self.admin_url = admin_url
        self.database = database

    def snapshot(self) -> dict[int, float]:
        """CPU seconds so far of each backend connected to the database now."""
        import psycopg

        try:
            with psycopg.connect(self.admin_url, connect_timeout=5) as conn:
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
                ).fetchall()
        except psycopg.Error:
            return {}
        return {int(pid): process_cpu_seconds(int(pid)) for (pid,) in rows}

    def seconds_since(self, before: dict[int, float]) -> float:
        """CPU seconds the backends alive now have spent since ``before`` was taken."""
        after = self.snapshot()
        if not after:
            return math.nan
        return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
