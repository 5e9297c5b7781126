"""The whole-process handoff: ``pc-client pair`` → ``mobile-stub pair``, beside magic-wormhole.

What a customer waits for when moving a certificate to the phone, with everything a process
does: start-up, opening the PFX (600,000 PBKDF2 iterations, the default), sealing, the relay,
and the phone writing its own copy. Each handoff starts ``pc-client pair --qr-png`` (which
writes the QR code as a PNG instead of showing it), waits for the PNG, runs ``mobile-stub pair
--qr-png`` on it, and stops the clock when both processes have exited with success.

The peer is magic-wormhole moving the same bytes (the PC's PFX file) between two fresh
processes: ``wormhole send`` and ``wormhole receive``, with its own mailbox server and transit
relay started here on loopback (``twist wormhole-mailbox``, ``twist transitrelay``, from PyPI's
``magic-wormhole-mailbox-server`` and ``magic-wormhole-transit-relay``). Its code is fixed per
handoff (``--code``), as a QR code would carry it. Both sides pay two Python start-ups.

Not timed: the customer's login on both devices and the PC's apply (which writes the PFX).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.prepare import BenchCustomer
from bench.servers import LOOPBACK, BenchError, free_port
from bench.stats import Run

PFX_PASSWORD = "bench-pfx-password-1"  # noqa: S105  (a throwaway PFX made for this benchmark)
TIMEOUT_SECONDS = 120.0


def _script(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _run(argv: list[str], *, env: dict[str, str], answers: str = "") -> str:
    done = subprocess.run(
        argv, input=answers, capture_output=True, text=True, env=env, timeout=TIMEOUT_SECONDS
    )
    if done.returncode != 0:
        raise BenchError(f"{Path(argv[0]).name} {argv[3:5]} failed: {done.stderr.strip()[-300:]}")
    return done.stdout


@dataclass(frozen=True)
class PairedDevices:
    """One customer's PC (logged in, a certificate and its PFX applied for) and a phone home."""

    server_url: str
    customer: BenchCustomer
    password: str
    pc_home: Path
    workdir: Path

    @property
    def pfx_path(self) -> Path:
        return self.pc_home / f"{self.customer.customer_id}.pfx"

    def pc_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PC_CLIENT_")}
        env["PC_CLIENT_HOME"] = str(self.pc_home)
        return env

    def phone_env(self, home: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOBILE_STUB_")}
        env["MOBILE_STUB_HOME"] = str(home)
        return env

    def pc(self, *args: str, answers: str = "") -> str:
        argv = [_script("pc-client"), "--server", self.server_url, "--json", *args]
        return _run(argv, env=self.pc_env(), answers=answers)

    def phone_login(self, home: Path) -> None:
        argv = [_script("mobile-stub"), "--server", self.server_url, "--json", "login"]
        _run(
            [*argv, self.customer.customer_id],
            env=self.phone_env(home),
            answers=self.password + "\n",
        )


def prepare_devices(
    server_url: str, customer: BenchCustomer, password: str, workdir: Path
) -> PairedDevices:
    """Log the PC in and apply (its PFX at the default 600,000 iterations), untimed."""
    assert customer.enrollment_code is not None
    devices = PairedDevices(server_url, customer, password, workdir / "pc" / "BTS", workdir)
    devices.pc("login", customer.customer_id, answers=password + "\n")
    slip = customer.enrollment_code
    devices.pc("apply", answers=f"{slip}\ny\n{PFX_PASSWORD}\n{PFX_PASSWORD}\n2\n")
    if not devices.pfx_path.exists():
        raise BenchError(f"pc-client apply wrote no {devices.pfx_path.name}")
    return devices


def certsync_handoff(devices: PairedDevices, n: int) -> float:
    """One ``pc-client pair`` → ``mobile-stub pair``; seconds until both exited with success."""
    phone_home = devices.workdir / f"phone-{n}"
    devices.phone_login(phone_home)  # logged in before the clock, like the PC
    png = devices.workdir / f"pair-{n}.png"
    answers = devices.workdir / f"pc-answers-{n}.txt"
    answers.write_text(PFX_PASSWORD + "\n")
    pc_argv = [_script("pc-client"), "--server", devices.server_url, "pair", "--qr-png", str(png)]
    phone_argv = [_script("mobile-stub"), "--server", devices.server_url, "--json", "pair"]
    started = time.perf_counter()
    with answers.open() as stdin:
        pc = subprocess.Popen(
            pc_argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=devices.pc_env(),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while not png.exists():
            if pc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"pc-client pair wrote no QR image: {pc.communicate()[1][-300:]}")
            time.sleep(0.005)
        time.sleep(0.02)  # the PNG is written whole before the PC waits; let it land
        _run(
            [*phone_argv, "--qr-png", str(png)],
            env=devices.phone_env(phone_home),
            answers=PFX_PASSWORD + "\n",
        )
        _, err = pc.communicate(timeout=TIMEOUT_SECONDS)
        if pc.returncode != 0:
            raise BenchError(f"pc-client pair failed: {err.strip()[-300:]}")
    finally:
        if pc.poll() is None:
            pc.kill()
            pc.communicate()
    return time.perf_counter() - started


# -- the peer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wormhole:
    """Where ``wormhole`` finds its mailbox and transit relay."""

    relay_url: str
    transit: str

    def argv(self, *args: str) -> list[str]:
        return [
            _script("wormhole"), "--relay-url", self.relay_url, "--transit-helper", self.transit,
            *args,
        ]  # fmt: skip


def wormhole_installed() -> bool:
    return all(Path(_script(name)).exists() for name in ("wormhole", "twist"))


def _wait_port(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{name} exited with {process.returncode} while starting")
        with socket.socket() as sock:
            if sock.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.05)
    raise BenchError(f"{name} did not listen on port {port} within 30 s")


@contextmanager
def wormhole_servers(folder: Path) -> Iterator[Wormhole]:
    """magic-wormhole's mailbox server and transit relay on free loopback ports."""
    folder.mkdir(parents=True, exist_ok=True)
    mailbox_port, transit_port = free_port(), free_port()
    commands = {
        "wormhole-mailbox": [
            _script("twist"), "wormhole-mailbox",
            f"--port=tcp:{mailbox_port}:interface={LOOPBACK}",
            f"--channel-db={folder / 'channels.sqlite'}",
        ],
        "transitrelay": [
            _script("twist"), "transitrelay", f"--port=tcp:{transit_port}:interface={LOOPBACK}"
        ],
    }  # fmt: skip
    with ExitStack() as stack:
        for name, argv in commands.items():
            log = stack.enter_context((folder / f"{name}.log").open("wb"))
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
            stack.callback(_stop, process)
            _wait_port(mailbox_port if name == "wormhole-mailbox" else transit_port, process, name)
        yield Wormhole(f"ws://{LOOPBACK}:{mailbox_port}/v1", f"tcp:{LOOPBACK}:{transit_port}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wormhole_handoff(wormhole: Wormhole, payload: Path, folder: Path, n: int) -> float:
    """``wormhole send`` → ``wormhole receive`` of ``payload``; seconds until both exited."""
    code = f"{n + 2}-certsync-bench"
    out = folder / f"received-{n}"
    out.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORMHOLE_")}
    started = time.perf_counter()
    send = subprocess.Popen(
        wormhole.argv("send", "--hide-progress", "--code", code, str(payload)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        received = subprocess.run(
            wormhole.argv("receive", "--accept-file", "--hide-progress", code),
            capture_output=True, cwd=out, env=env, timeout=TIMEOUT_SECONDS,
        )  # fmt: skip
        sent_out, _ = send.communicate(timeout=TIMEOUT_SECONDS)
    finally:
        _stop(send)
    seconds = time.perf_counter() - started
    if received.returncode != 0 or send.returncode != 0:
        raise BenchError(
            f"wormhole failed: {received.stderr.decode()[-300:]} {sent_out.decode()[-300:]}"
        )
    if (out / payload.name).read_bytes() != payload.read_bytes():
        raise BenchError("wormhole delivered other bytes than were sent")
    return seconds


def measure_handoffs(devices: PairedDevices, repeats: int) -> tuple[Run, Run | None, str | None]:
    """CertSync's handoffs and wormhole's, interleaved; ``(ours, wormhole's or None, why not)``."""
    ours: list[float] = []
    theirs: list[float] = []
    if not wormhole_installed():
        for n in range(repeats):
            ours.append(certsync_handoff(devices, n))
        return Run.of(sum(ours), ours), None, "magic-wormhole is not installed"
    folder = devices.workdir / "wormhole"
    with wormhole_servers(folder) as wormhole:
        for n in range(repeats):
            ours.append(certsync_handoff(devices, n))
            theirs.append(wormhole_handoff(wormhole, devices.pfx_path, folder, n))
    return Run.of(sum(ours), ours), Run.of(sum(theirs), theirs), None


def pfx_size(devices: PairedDevices) -> int:
    return devices.pfx_path.stat().st_size
