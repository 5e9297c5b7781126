"""Function 10, the environment check (憑證作業環境檢查): the table, and fixing one item or all.

The checks themselves are in ``pc_client.operations.environment``; ``CHECKS`` names them in the
table's order. Checks only look; ``fix_items`` then repairs what a program may safely repair
on its own (create the folder, clear its read-only state, close it to other users, tighten
file modes, remove leftovers of an interrupted write) and leaves the rest, each with a
sentence (``Finding.cannot_fix``) saying what to do by hand (``Finding.how`` says it for a
fixable row too). ``Finding.fixable`` says, per row, whether a fix is offered. A row's name,
purpose and recommended value, and the column headings, are the catalogue's
(``pc_client.messages.doctor_text``, ``doctor_column``).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import replace

from pc_client.app import Context
from pc_client.operations.environment import (
    Finding,
    check_clock,
    check_credential_store,
    check_cryptography,
    check_file_modes,
    check_file_owners,
    check_folder_exists,
    check_folder_not_hidden,
    check_folder_not_read_only,
    check_folder_private,
    check_folder_writable,
    check_leftovers,
    check_openssl,
    check_python,
    check_server,
    leftover_files,
    secret_files,
)
from pc_client.store import FILE_MODE, FOLDER_MODE

__all__ = [
    "CHECKS",
    "Finding",
    "fix_item",
    "fix_items",
    "run_checks",
]

CHECKS: dict[str, Callable[[Context], Finding]] = {
    "python": check_python,
    "cryptography": check_cryptography,
    "openssl": check_openssl,
    "folder_exists": check_folder_exists,
    "folder_writable": check_folder_writable,
    "folder_not_read_only": check_folder_not_read_only,
    "folder_not_hidden": check_folder_not_hidden,
    "folder_private": check_folder_private,
    "file_modes": check_file_modes,
    "file_owners": check_file_owners,
    "leftovers": check_leftovers,
    "server": check_server,
    "clock": check_clock,
    "credential_store": check_credential_store,
}


# -- the fixes ----------------------------------------------------------------------------------


def _fix(ctx: Context, item: str) -> None:
    home = ctx.store.home
    if item == "folder_exists":
        home.mkdir(parents=True, mode=FOLDER_MODE)
    elif item in ("folder_not_read_only", "folder_writable"):
        os.chmod(home, stat.S_IMODE(home.stat().st_mode) | stat.S_IRWXU)
        if os.name == "nt":
            os.chmod(home, stat.S_IWRITE | stat.S_IREAD)
    elif item == "folder_private":
        os.chmod(home, FOLDER_MODE)  # only offered when this user owns the folder
    elif item == "file_modes":
        for path in secret_files(home):
            os.chmod(path, FILE_MODE)
    elif item == "leftovers":
        for path in leftover_files(home):
            path.unlink()


def run_checks(ctx: Context, items: Sequence[str] | None = None) -> tuple[Finding, ...]:
    """Run the named checks (default: all, in ``CHECKS`` order); none changes anything."""
    return tuple(CHECKS[item](ctx) for item in _known(items))


def fix_items(ctx: Context, items: Sequence[str] | None = None) -> tuple[Finding, ...]:
    """Check the named items (default: all), fix those that are fixable, check them again.

    Every selected item is checked again after all the fixes, since one fix (the folder)
    changes other rows; ``fixed`` marks the rows a fix turned ok. A fix that fails shows as a
    row that is still not ok.
    """
    selected = _known(items)
    before = {f.item: f for f in run_checks(ctx, selected)}
    for finding in before.values():
        if not finding.ok and finding.fixable:
            with contextlib.suppress(OSError):
                _fix(ctx, finding.item)
    return tuple(
        replace(f, fixed=f.ok and not before[f.item].ok) for f in run_checks(ctx, selected)
    )


def fix_item(ctx: Context, item: str) -> Finding:
    """Fix one item by name (when it is fixable), and check it again."""
    return fix_items(ctx, [item])[0]


def _known(items: Sequence[str] | None) -> list[str]:
    """The items asked for; a name that is not in ``CHECKS`` is the caller's mistake."""
    selected = list(CHECKS) if items is None else list(items)
    unknown = [item for item in selected if item not in CHECKS]
    if unknown:
        raise ValueError(f"unknown doctor items: {unknown}")
    return selected
