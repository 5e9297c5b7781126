"""Weakening is not a setting: no PFX or sealed key below 600,000 PBKDF2 rounds outside the suite.

The suite lowers the floor in its own process (``tests/conftest.py``) and in its subprocesses
through ``tests/kdf_hook/sitecustomize.py`` on ``PYTHONPATH`` (``e2e_support.fast_kdf_env``).
These tests take both away to show what a customer's machine does: the real ``pc-client`` in a
subprocess refuses ``PC_CLIENT_PFX_ITERATIONS=1`` with one line and exit status 2 and writes
nothing, and the SDK refuses to build such files; then, with the hook, the same is allowed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import KDF_HOOK, console_script, fast_kdf_env

from pc_client.app import Options
from sync_client import kdf_floor
from sync_client.errors import IterationsBelowFloor
from sync_client.kdf_floor import MIN_ITERATIONS, require_iterations
from sync_client.keys import generate_private_key, seal_private_key

BUILD_FAST_PFX = """
from sync_client.keys import generate_private_key, seal_private_key
seal_private_key(generate_private_key("ec"), "pw", iterations=1000)
print("written")
"""


def _production_env(**extra: str) -> dict[str, str]:
    """This environment as a customer's machine has it: no test hook on ``PYTHONPATH``."""
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(KDF_HOOK)]
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    else:
        env.pop("PYTHONPATH", None)
    env.pop("PC_CLIENT_PFX_ITERATIONS", None)
    env.update(extra)
    return env


@pytest.fixture
def floor_restored() -> Iterator[None]:
    """The production floor in this process for one test, lowered again afterwards."""
    kdf_floor._restore_floor()
    yield
    kdf_floor._lower_floor_for_tests(1)


def test_the_floor_is_600000() -> None:
    assert MIN_ITERATIONS == 600_000


def test_the_environment_variable_alone_cannot_lower_the_floor(tmp_path: Path) -> None:
    home = tmp_path / "BTS"
    env = _production_env(PC_CLIENT_PFX_ITERATIONS="1", PC_CLIENT_HOME=str(home))

    for argv in (["login", "A123456789"], ["doctor"], ["--json", "status"]):
        done = subprocess.run(
            [console_script("pc-client"), *argv], env=env, input="login-pass-123\n",
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stderr == (
            "error: PC_CLIENT_PFX_ITERATIONS=1 is below the minimum 600,000; remove it or set "
            "at least 600,000. [kdf_below_floor]\n"
        )
        assert "Traceback" not in done.stdout
        assert not home.exists()  # nothing written


def test_the_sdk_refuses_weak_files_without_the_hook() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BUILD_FAST_PFX], env=_production_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "IterationsBelowFloor" in done.stderr and "written" not in done.stdout


def test_with_the_hook_the_suite_stays_fast(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BUILD_FAST_PFX], env=fast_kdf_env(_production_env()),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "written"
    env = fast_kdf_env(_production_env(), PC_CLIENT_HOME=str(tmp_path / "BTS"))
    assert env["PC_CLIENT_PFX_ITERATIONS"] == "1000"
    doctor = subprocess.run(
        [console_script("pc-client"), "--json", "doctor", "--item", "python"], env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert doctor.returncode == 0, doctor.stderr


def test_in_process_the_floor_holds_once_restored(floor_restored: None) -> None:
    key = generate_private_key("ec")
    with pytest.raises(IterationsBelowFloor) as refused:
        seal_private_key(key, "pw", iterations=599_999)
    assert refused.value.code == "kdf_below_floor"
    assert "599999" in refused.value.message and "600,000" in refused.value.message
    with pytest.raises(IterationsBelowFloor):
        Options.build(
            home=None, server_url=None, as_json=False, debug=False,
            environ={"PC_CLIENT_PFX_ITERATIONS": "1000"},
        )  # fmt: skip
    assert require_iterations(600_000) == 600_000
    raised = Options.build(
        home=None, server_url=None, as_json=False, debug=False,
        environ={"PC_CLIENT_PFX_ITERATIONS": "700000"},
    )  # fmt: skip
    assert raised.pfx_iterations == 700_000  # raising it is allowed


def test_the_hook_is_not_reachable_by_a_setting() -> None:
    # No environment variable names the floor: the module reads none.
    source = Path(kdf_floor.__file__).read_text(encoding="utf-8")
    assert "import os" not in source and "getenv" not in source and "os.environ" not in source
