"""End to end: the real ``sync-server`` on a loopback port, ``pc-client`` as a subprocess.

Answers are piped on standard input, one line per prompt, as a script would. The crash tests
stop ``pc-client`` with SIGKILL at named steps of a password change and of a renewal (the
``PC_CLIENT_TEST_PAUSE_AT`` hook) and prove that the store still opens with the old or the new
password, never neither, and that running the command again finishes the work.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from agent_support import wait_until_gone
from e2e_support import ServerProcess, console_script, running_server

from sync_client.errors import WrongPfxPassword
from sync_client.key_agent import AgentHandle
from sync_client.national_id import is_valid_national_id
from sync_client.pfx import load_pfx

pytestmark = pytest.mark.e2e

ITERATIONS = "1000"
OLD, NEW = "oldpass11", "newpass22"


def _customer_ids() -> Iterator[str]:
    """Valid, distinct customer IDs (E1000000x, E1000001x, …): one per test."""
    for n in range(10**7):
        stem = f"E1{n:07d}"
        yield next(stem + d for d in "0123456789" if is_valid_national_id(stem + d))


IDS = _customer_ids()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # 20-day certificates sit inside the 30-day renewal window from the start.
    with running_server(tmp_path_factory.mktemp("srv"), SYNC_CERT_VALIDITY="20d") as running:
        yield running


@dataclass
class Customer:
    customer_id: str
    password: str


@pytest.fixture
def customer(server: ServerProcess) -> Customer:
    customer_id = next(IDS)
    created = server.admin_json(
        "customer-add", customer_id, "--name", "E2E Customer", "--generate-password"
    )
    return Customer(customer_id, created["password"])


@dataclass
class Cli:
    """``pc-client`` with one store folder, run as a subprocess against ``server``."""

    server: ServerProcess
    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PC_CLIENT_TEST_PAUSE_AT", None)
        env.update(PC_CLIENT_HOME=str(self.home), PC_CLIENT_PFX_ITERATIONS=ITERATIONS)
        env.update(self.extra_env)
        env.update(extra)
        return env

    def argv(self, *args: str) -> list[str]:
        return [console_script("pc-client"), "--server", self.server.url, "--json", *args]

    def run(self, *args: str, answers: str = "") -> tuple[int, dict[str, Any], str]:
        done = subprocess.run(
            self.argv(*args), input=answers, capture_output=True, text=True,
            env=self.env(), timeout=60,
        )  # fmt: skip
        return done.returncode, json.loads(done.stdout), done.stderr

    def ok(self, *args: str, answers: str = "") -> dict[str, Any]:
        code, data, err = self.run(*args, answers=answers)
        assert code == 0, err
        return data

    def kill_at(self, step: str, *args: str, answers: str) -> None:
        """Run a command until it pauses at ``step``, then SIGKILL it."""
        process = subprocess.Popen(
            self.argv(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=self.env(PC_CLIENT_TEST_PAUSE_AT=step),
        )  # fmt: skip
        assert process.stdin is not None and process.stderr is not None
        process.stdin.write(answers.encode())
        process.stdin.close()
        deadline = time.monotonic() + 30
        seen = b""
        try:
            while f"paused at {step}".encode() not in seen:
                left = deadline - time.monotonic()
                ready, _, _ = select.select([process.stderr], [], [], max(left, 0))
                if not ready:
                    raise AssertionError(f"pc-client never reached {step}: {seen!r}")
                chunk = os.read(process.stderr.fileno(), 4096)
                if not chunk:
                    raise AssertionError(f"pc-client ended before {step}: {seen!r}")
                seen += chunk
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.kill()
            process.wait(timeout=10)
            assert process.stdout is not None
            process.stdout.close()
            process.stderr.close()
        assert process.returncode == -signal.SIGKILL

    def opens_with(self, customer_id: str, password: str) -> bool:
        try:
            load_pfx((self.home / f"{customer_id}.pfx").read_bytes(), password)
        except WrongPfxPassword:
            return False
        return True


def _login(cli: Cli, customer: Customer) -> None:
    cli.ok("login", customer.customer_id, answers=f"{customer.password}\n")


def _apply(cli: Cli, server: ServerProcess, customer: Customer, *extra: str) -> dict[str, Any]:
    code = server.admin_json("enrollment-code", customer.customer_id)["enrollment_code"]
    return cli.ok("apply", *extra, answers=f"{code}\ny\n{OLD}\n{OLD}\n2\n")


def test_the_ten_functions_end_to_end(
    server: ServerProcess, customer: Customer, tmp_path: Path
) -> None:
    pc = Cli(server, tmp_path / "pc" / "BTS")
    cid = customer.customer_id

    assert pc.ok("login", cid, answers=f"{customer.password}\n")["customer_id"] == cid
    code, refused, err = pc.run("renew", "--agree")
    assert code == 1 and refused["error"] == "no_certificate", err

    applied = _apply(pc, server, customer)  # RSA-2048, the default
    status = pc.ok("status")
    assert status["verdict"] == "match" and status["host"]["status_code"] == 31
    assert status["client"]["serial"] == applied["serial"]
    assert subprocess.run(
        ["openssl", "pkcs12", "-info", "-noout", "-in", applied["path"], "-passin", f"pass:{OLD}"],
        capture_output=True, check=False,
    ).returncode == 0  # fmt: skip

    usb = tmp_path / "usb"
    usb.mkdir()
    exported = pc.ok("export", str(usb), answers=f"{OLD}\n")
    assert Path(exported["path"]).read_bytes() == Path(applied["path"]).read_bytes()

    second = Cli(server, tmp_path / "second" / "BTS")
    _login(second, customer)
    imported = second.ok("import", str(usb), answers=f"{OLD}\n2\n")
    assert imported["verdict"] == "match"

    pc.ok("passwd", answers=f"{OLD}\n{NEW}\n{NEW}\n")
    assert pc.opens_with(cid, NEW) and not pc.opens_with(cid, OLD)

    # The login reminds: the certificate is inside its renewal window.
    assert pc.ok("login", cid, answers=f"{customer.password}\n")["renewal_reminder"]
    renewed = pc.ok("renew", answers=f"y\n{NEW}\n{OLD}2\n{OLD}2\n")
    assert renewed["serial"] != applied["serial"]
    assert pc.opens_with(cid, f"{OLD}2")
    assert pc.ok("status")["verdict"] == "match"
    assert second.ok("status")["verdict"] == "mismatch"  # the other PC holds the old one

    order = pc.ok("order", "--symbol", "2330", "--side", "buy", "--qty", "1000",
                  "--price", "612.50", answers=f"{OLD}2\n")  # fmt: skip
    assert order["serial"] == renewed["serial"] and order["order_id"]

    setting = pc.ok("security-setting", "1", answers=f"{OLD}2\n")
    assert setting["security_setting"] == 1
    doctor_code, doctor, _ = pc.run("doctor")
    # No credential store on this machine, which only setting 3 would need.
    assert doctor_code == 0, doctor
    assert all(c["ok"] for c in doctor["checks"])
    assert pc.ok("logout")["logged_out"] is True


def test_text_mode_and_one_line_errors(
    server: ServerProcess, customer: Customer, tmp_path: Path
) -> None:
    home = tmp_path / "BTS"
    env = dict(os.environ, PC_CLIENT_HOME=str(home), PC_CLIENT_PFX_ITERATIONS=ITERATIONS)
    base = [console_script("pc-client"), "--server", server.url]
    login = subprocess.run([*base, "login", customer.customer_id], input="wrong-password\n",
                           capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert login.returncode == 1
    assert login.stdout == ""
    assert login.stderr.count("\n") == 1 and login.stderr.rstrip().endswith("[login_failed]")

    closed = subprocess.run([console_script("pc-client"), "--server", "http://127.0.0.1:9",
                             "login", customer.customer_id], input="x\n", capture_output=True,
                            text=True, env=env, check=False)  # fmt: skip
    assert closed.returncode == 1
    assert "http://127.0.0.1:9" in closed.stderr and "Traceback" not in closed.stderr


def _on_a_terminal(argv: list[str], env: dict[str, str], answers: list[tuple[str, str]]) -> str:
    """Run ``argv`` on a pseudo-terminal; answer each prompt text as it appears."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become pc-client, with the pty as its terminal
        os.execve(argv[0], argv, env)  # noqa: S606 (a fixed argv, no shell)
    seen = b""
    mark = 0  # a prompt asked again must appear again after the last answer
    try:
        for prompt, answer in answers:
            deadline = time.monotonic() + 30
            while prompt.encode() not in seen[mark:]:
                ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
                assert ready, f"no prompt {prompt!r}: {seen!r}"
                seen += os.read(fd, 4096)
            os.write(fd, answer.encode() + b"\n")
            mark = len(seen)
        while True:
            ready, _, _ = select.select([fd], [], [], 30)
            assert ready
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    return seen.decode(errors="replace")


def test_secrets_are_hidden_on_a_terminal(
    server: ServerProcess, customer: Customer, tmp_path: Path
) -> None:
    pc = Cli(server, tmp_path / "BTS")
    base = [console_script("pc-client"), "--server", server.url]

    screen = _on_a_terminal(
        [*base, "login", customer.customer_id], pc.env(),
        [("Login password", customer.password)],
    )  # fmt: skip
    assert "Logged in as" in screen
    assert customer.password not in screen  # typed, but never echoed

    code = server.admin_json("enrollment-code", customer.customer_id)["enrollment_code"]
    screen = _on_a_terminal(
        [*base, "apply", "--key-type", "ec"], pc.env(),
        [("Enrollment code", code), ("agree to the terms", "y"), ("New PFX password", OLD),
         ("New PFX password again", OLD), ("Security setting 1/2/3 [2]", "")],
    )  # fmt: skip
    assert "Your certificate was issued." in screen
    assert "Terms (version" in screen  # the host's terms are shown before the question
    # The slip's code is printed on paper and shown as typed; the new password never is.
    assert code in screen and OLD not in screen
    assert "  1. " in screen and "  3. " in screen  # the three meanings before the prompt
    assert "Processing your certificate data, please wait" in screen
    assert pc.opens_with(customer.customer_id, OLD)


def test_a_terminal_asks_again_after_an_honest_mistake(
    server: ServerProcess, customer: Customer, tmp_path: Path
) -> None:
    pc = Cli(server, tmp_path / "BTS")
    base = [console_script("pc-client"), "--server", server.url]
    _on_a_terminal(
        [*base, "login", customer.customer_id], pc.env(),
        [("Login password", customer.password)],
    )  # fmt: skip
    code = server.admin_json("enrollment-code", customer.customer_id)["enrollment_code"]
    screen = _on_a_terminal(
        [*base, "apply", "--key-type", "ec", "--agree", "--security-setting", "2"], pc.env(),
        [("Enrollment code", "WRONG-CODE"), ("Enrollment code", code),
         ("New PFX password", "ab"), ("New PFX password again", "ab"),
         ("New PFX password", OLD), ("New PFX password again", OLD)],
    )  # fmt: skip
    assert "tries left" in screen  # the host counted the mistyped code, and said so
    assert "at least 4 characters" in screen  # the rule, then the refusal of "ab"
    assert "Your certificate was issued." in screen
    assert pc.opens_with(customer.customer_id, OLD)


def _store_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def test_setting_2_asks_once_per_login_across_processes(
    server: ServerProcess, customer: Customer, tmp_path: Path
) -> None:
    """No credential store here: the key waits in the key agent's memory, never on disk."""
    pc = Cli(server, tmp_path / "BTS")
    _login(pc, customer)
    _apply(pc, server, customer, "--key-type", "ec")  # security setting 2
    order = ("order", "--symbol", "2330", "--side", "buy", "--qty", "1", "--price", "600")

    assert pc.ok(*order, answers=f"{OLD}\n")["password_asked"] is True
    assert pc.ok(*order, answers="")["password_asked"] is False  # another process
    # Neither a session key nor the password is anywhere in the store.
    assert not (pc.home / "session-key").exists()
    stored = _store_bytes(pc.home)
    assert OLD.encode() not in stored and b"PRIVATE KEY" not in stored
    agent = AgentHandle.from_json(json.loads((pc.home / "session-agent.json").read_text()))

    pc.ok("logout")
    assert not (pc.home / "session-agent.json").exists()
    assert wait_until_gone(agent.pid)
    _login(pc, customer)
    code, refused, _ = pc.run(*order, answers="")
    assert code == 1 and refused["error"] == "input_missing"


def test_setting_2_a_copy_of_the_store_signs_nothing_without_the_password(
    server: ServerProcess, customer: Customer, tmp_path: Path
) -> None:
    """The folder copied during a session (a backup, another user's HOME, another machine):
    without the running agent of the original computer it cannot sign an order."""
    pc = Cli(server, tmp_path / "BTS")
    _login(pc, customer)
    _apply(pc, server, customer, "--key-type", "ec")
    order = ("order", "--symbol", "2330", "--side", "buy", "--qty", "1", "--price", "600")
    assert pc.ok(*order, answers=f"{OLD}\n")["password_asked"] is True

    copy = Cli(server, tmp_path / "elsewhere" / "home" / "BTS")
    copy.home.parent.mkdir(parents=True)
    shutil.copytree(pc.home, copy.home)
    stored = _store_bytes(copy.home)
    assert OLD.encode() not in stored and b"PRIVATE KEY" not in stored
    assert not (copy.home / "session-key").exists()
    # The other machine has no agent: here, the original computer's agent ends (as at a
    # reboot, an idle timeout, or simply by being elsewhere).
    agent = AgentHandle.from_json(json.loads((copy.home / "session-agent.json").read_text()))
    os.kill(agent.pid, signal.SIGTERM)
    assert wait_until_gone(agent.pid)

    before = {p: p.read_bytes() for p in copy.home.rglob("*") if p.is_file()}
    code, refused, _ = copy.run(*order, answers="")  # the session token is still good
    assert code == 1 and refused["error"] == "input_missing"  # it asks for the password
    code, refused, _ = copy.run(*order, answers="wrong-password\n")
    assert code == 1 and refused["error"] == "wrong_password"
    assert {p: p.read_bytes() for p in copy.home.rglob("*") if p.is_file()} == before
    # With the password it is an ordinary order: the PFX password was always the barrier.
    assert copy.ok(*order, answers=f"{OLD}\n")["password_asked"] is True


def test_setting_3_with_a_credential_store_in_a_subprocess(
    server: ServerProcess, customer: Customer, tmp_path: Path
) -> None:
    # keyring honours PYTHON_KEYRING_BACKEND; the stand-in lives beside these tests.
    here = Path(__file__).resolve().parent
    pythonpath = os.pathsep.join(filter(None, [str(here), os.environ.get("PYTHONPATH", "")]))
    keyring_dir = tmp_path / "keyring"
    pc = Cli(server, tmp_path / "BTS", {
        "PYTHON_KEYRING_BACKEND": "keyring_backend.FileKeyring",
        "PYTHONPATH": pythonpath,
        "CERTSYNC_TEST_KEYRING_DIR": str(keyring_dir),
    })  # fmt: skip
    _login(pc, customer)
    _apply(pc, server, customer, "--key-type", "ec", "--security-setting", "3")
    stored = json.loads((keyring_dir / "keyring.json").read_text())
    assert stored["certsync"][customer.customer_id] == OLD
    _login(pc, customer)  # setting 3 takes effect from this login

    order = pc.ok("order", "--symbol", "2330", "--side", "sell", "--qty", "1", "--price", "10",
                  answers="")  # fmt: skip

    assert order["password_asked"] is False
    assert pc.ok("doctor")["ok"] is True  # the credential store is found, too


@pytest.mark.parametrize(("step", "opens"), [("pfx-staged", OLD), ("pfx-replaced", NEW)])
def test_killed_password_change_leaves_a_working_store(
    server: ServerProcess, customer: Customer, tmp_path: Path, step: str, opens: str
) -> None:
    pc = Cli(server, tmp_path / "BTS")
    _login(pc, customer)
    _apply(pc, server, customer, "--key-type", "ec")
    cid = customer.customer_id

    pc.kill_at(step, "passwd", answers=f"{OLD}\n{NEW}\n{NEW}\n")

    old_ok, new_ok = pc.opens_with(cid, OLD), pc.opens_with(cid, NEW)
    assert old_ok or new_ok  # never neither
    assert pc.opens_with(cid, opens)
    assert pc.ok("status")["verdict"] == "match"
    # The user can carry on with whichever password works.
    pc.ok("passwd", answers=f"{opens}\nfinal123\nfinal123\n")
    assert pc.opens_with(cid, "final123")


@pytest.mark.parametrize(
    ("step", "opens"),
    [("pending-written", OLD), ("issued", OLD), ("pfx-staged", OLD), ("pfx-replaced", NEW)],
)
def test_killed_renewal_leaves_a_working_store_and_can_finish(
    server: ServerProcess, customer: Customer, tmp_path: Path, step: str, opens: str
) -> None:
    pc = Cli(server, tmp_path / "BTS")
    _login(pc, customer)
    first = _apply(pc, server, customer, "--key-type", "ec")
    cid = customer.customer_id
    answers = f"y\n{OLD}\n{NEW}\n{NEW}\n"

    pc.kill_at(step, "renew", answers=answers)

    old_ok, new_ok = pc.opens_with(cid, OLD), pc.opens_with(cid, NEW)
    assert old_ok or new_ok  # never neither
    assert pc.opens_with(cid, opens)
    if opens == OLD:
        assert pc.ok("status")["pending"] == "renew"
        finished = pc.ok("renew", answers=answers)  # the same answers finish it
        assert finished["serial"] != first["serial"]
    status = pc.ok("status")
    assert status["verdict"] == "match" and status["pending"] is None
    assert status["client"]["serial"] != first["serial"]
    assert pc.opens_with(cid, NEW)
    serials = [c["serial"] for c in server.admin_json("certs", cid)["certificates"]]
    assert len(serials) == 2  # one renewal, however many tries
