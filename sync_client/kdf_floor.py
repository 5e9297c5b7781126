"""The floor under every password KDF this SDK writes: 600,000 PBKDF2 rounds, not a setting.

A PFX file, and the sealed pending key kept between an apply or renewal and its end, are all
that protect the customer's private key on disk. A lower iteration count is not a preference a
user or an administrator may choose: ``PC_CLIENT_PFX_ITERATIONS=1`` would write files a laptop
brute-forces in seconds. So ``require_iterations`` refuses any count below the floor, and
``sync_client.pfx.build_pfx`` and ``sync_client.keys.seal_private_key`` call it before
writing (``sync_client.errors.IterationsBelowFloor``, code ``kdf_below_floor``).

The test suite needs fast files (600,000 rounds cost a good part of a second each). The floor
is lowered only in process, by the private ``_lower_floor_for_tests``: ``tests/conftest.py``
calls it, and subprocesses of the suite import ``tests/kdf_hook/sitecustomize.py`` (put on
``PYTHONPATH`` by ``tests/e2e_support.fast_kdf_env``), which calls it at start-up. No
environment variable is read here: an environment alone cannot reach it, only code placed on
the interpreter's path, and whoever can place code there owns the process anyway.

It imports only ``errors`` and ``i18n``, so the hook stays cheap at start-up.
"""

from __future__ import annotations

from sync_client.errors import IterationsBelowFloor
from sync_client.i18n import msg

# OWASP's 2023 figure for PBKDF2-HMAC-SHA256 (the same number as the default profile).
MIN_ITERATIONS = 600_000

_floor = MIN_ITERATIONS


def minimum_iterations() -> int:
    """The lowest PBKDF2 iteration count this process may write (600,000 outside the tests)."""
    return _floor


def require_iterations(iterations: int, *, setting: str | None = None) -> int:
    """``iterations`` itself, or ``IterationsBelowFloor`` when it is below the floor.

    With ``setting`` (``"PC_CLIENT_PFX_ITERATIONS"``) the message names it:
    ``PC_CLIENT_PFX_ITERATIONS=1 is below the minimum 600,000``.
    """
    if iterations >= _floor:
        return iterations
    minimum = f"{_floor:,}"
    if setting is None:
        message = msg("sdk.kdf.below_floor", iterations=iterations, minimum=minimum)
    else:
        message = msg(
            "sdk.kdf.setting_below_floor",
            setting=setting,
            iterations=iterations,
            minimum=minimum,
        )
    raise IterationsBelowFloor(message)


def _lower_floor_for_tests(iterations: int) -> None:
    """Test suite only (``tests/conftest.py``, ``tests/kdf_hook/sitecustomize.py``).

    Production code never calls this, and no setting leads here.
    """
    global _floor
    if iterations < 1:
        raise ValueError("the KDF floor must stay at least 1")
    _floor = iterations


def _restore_floor() -> None:
    """Test suite only: back to ``MIN_ITERATIONS`` (a test proving the floor holds)."""
    global _floor
    _floor = MIN_ITERATIONS
