"""The checks of function 10 (憑證作業環境檢查): each looks at one thing and changes nothing.

Each returns a ``Finding``: the item, whether it is ok, the value found, and whether a program
may safely fix it (``pc_client.operations.doctor`` does the fixing and keeps the table).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from pc_client import remember
from pc_client.app import Context
from pc_client.messages import msg
from pc_client.store import (
    FILE_MODE,
    SESSION_AGENT_FILE,
    SESSION_FILE,
    SESSION_KEY_FILE,
    SETTINGS_FILE,
)
from sync_client.errors import ClientError

MIN_PYTHON = (3, 11)
MIN_CRYPTOGRAPHY = (44, 0)
MIN_OPENSSL = 0x30000000
MAX_CLOCK_SKEW_SECONDS = 60.0
# Windows file attributes (stat.FILE_ATTRIBUTE_* exist only in Windows builds of Python).
_WIN_READONLY = 0x1
_WIN_HIDDEN = 0x2


@dataclass(frozen=True)
class Finding:
    """One row of the table: a check's result, and whether ``fix_item`` can repair it.

    ``current`` is the value found, as a person reads it; ``cannot_fix`` says what to do by
    hand when the row is not ok and not ``fixable``; ``how`` says the same for a fixable row
    whose fix a person may rather make by hand (``chmod 700 <folder>``). The item's name,
    purpose and recommended value are the catalogue's ``doctor.<item>.name`` / ``.purpose`` /
    ``.recommended``.
    """

    item: str
    ok: bool
    current: str
    fixable: bool = False
    fixed: bool = False  # it was not ok, a fix ran, and now it is
    cannot_fix: str = ""  # why not, when not ok and not fixable
    how: str = ""  # the fix in words, when not ok and fixable (``chmod 700 <folder>``)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


# -- the checks (each looks, never changes anything) -----------------------------------------


def check_python(ctx: Context) -> Finding:
    """Python is recent enough."""
    version = ".".join(str(n) for n in sys.version_info[:3])
    return Finding(
        "python",
        sys.version_info[:2] >= MIN_PYTHON,
        version,
        cannot_fix=msg("doctor.python.how"),
    )


def check_cryptography(ctx: Context) -> Finding:
    """The cryptography package is recent enough."""
    version = metadata.version("cryptography")
    return Finding(
        "cryptography",
        _version_tuple(version)[:2] >= MIN_CRYPTOGRAPHY,
        version,
        cannot_fix=msg("doctor.cryptography.how"),
    )


def check_openssl(ctx: Context) -> Finding:
    """The OpenSSL inside cryptography is 3.0 or later."""
    from cryptography.hazmat.backends.openssl.backend import backend

    return Finding(
        "openssl",
        backend.openssl_version_number() >= MIN_OPENSSL,
        backend.openssl_version_text(),
        cannot_fix=msg("doctor.cryptography.how"),
    )


def check_folder_exists(ctx: Context) -> Finding:
    """The store folder exists (fixable: create it, 0700)."""
    home = ctx.store.home
    ok = home.is_dir()
    return Finding(
        "folder_exists",
        ok,
        str(home) if ok else msg("doctor.missing", path=home),
        fixable=not ok and not home.exists(),
        cannot_fix=msg("doctor.folder_exists.how", path=home),
    )


def _writable(home: Path) -> bool:
    probe = home / f".doctor-{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        probe.unlink()
    return True


def _read_only(home: Path) -> bool:
    info = home.stat()
    attributes = getattr(info, "st_file_attributes", 0)
    return bool(attributes & _WIN_READONLY) or not info.st_mode & stat.S_IWUSR


def check_folder_writable(ctx: Context) -> Finding:
    """A file can be created in the store folder (by trying)."""
    home = ctx.store.home
    if not home.is_dir():
        return Finding("folder_writable", False, msg("doctor.no_folder"), fixable=False,
                       cannot_fix=msg("doctor.needs_folder"))  # fmt: skip
    ok = _writable(home)
    return Finding(
        "folder_writable",
        ok,
        msg("doctor.yes") if ok else msg("doctor.no"),
        fixable=not ok and _read_only(home),
        cannot_fix=msg("doctor.folder_writable.how"),
    )


def check_folder_not_read_only(ctx: Context) -> Finding:
    """The folder is not read-only (owner write bit; Windows read-only attribute)."""
    home = ctx.store.home
    if not home.is_dir():
        return Finding("folder_not_read_only", False, msg("doctor.no_folder"),
                       cannot_fix=msg("doctor.needs_folder"))  # fmt: skip
    read_only = _read_only(home)
    mode = f"{stat.S_IMODE(home.stat().st_mode):04o}"
    return Finding(
        "folder_not_read_only",
        not read_only,
        msg("doctor.read_only", mode=mode) if read_only else msg("doctor.mode", mode=mode),
        fixable=read_only,
    )


def check_folder_not_hidden(ctx: Context) -> Finding:
    """The folder is not hidden (a dot name; Windows hidden attribute). Not fixable."""
    home = ctx.store.home
    attributes = getattr(home.stat(), "st_file_attributes", 0) if home.is_dir() else 0
    hidden = home.name.startswith(".") or bool(attributes & _WIN_HIDDEN)
    return Finding(
        "folder_not_hidden",
        not hidden,
        msg("doctor.hidden") if hidden else msg("doctor.visible"),
        cannot_fix=msg("doctor.folder_not_hidden.how"),
    )


def _my_uid() -> int | None:
    """This process's user id; ``None`` where there are none (Windows uses ACLs instead)."""
    getuid = getattr(os, "getuid", None)
    return getuid() if getuid is not None else None


def check_folder_private(ctx: Context) -> Finding:
    """The folder is this user's, and no one else may write in it.

    Anyone who can write the folder (mode 0777, group write) or owns it can swap the PFX, or
    point ``settings.json`` at their own server. Group or others' write bits are fixable
    (``chmod 700``); a folder owned by another user is not (taking it over would keep what
    that user may have put in it).
    """
    home = ctx.store.home
    if not home.is_dir():
        return Finding("folder_private", False, msg("doctor.no_folder"),
                       cannot_fix=msg("doctor.needs_folder"))  # fmt: skip
    uid = _my_uid()
    info = home.stat()
    mode = f"{stat.S_IMODE(info.st_mode):04o}"
    if uid is None:
        return Finding("folder_private", True, msg("doctor.mode", mode=mode))
    if info.st_uid != uid:
        return Finding(
            "folder_private",
            False,
            msg("doctor.folder_private.owner", uid=info.st_uid, mode=mode),
            cannot_fix=msg("doctor.folder_private.owner_how", path=home),
        )
    open_to_others = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return Finding(
        "folder_private",
        not open_to_others,
        msg("doctor.folder_private.writable", mode=mode)
        if open_to_others
        else msg("doctor.mode", mode=mode),
        fixable=bool(open_to_others),
        how=msg("doctor.folder_private.how", path=home),
    )


def secret_files(home: Path) -> list[Path]:
    if not home.is_dir():
        return []
    names = {SETTINGS_FILE, SESSION_FILE, SESSION_AGENT_FILE, SESSION_KEY_FILE}
    return sorted(
        p
        for p in home.iterdir()
        if p.is_file()
        and (p.suffix == ".pfx" or p.name in names or p.name.endswith(".pending.json"))
    )


def check_file_modes(ctx: Context) -> Finding:
    """Every PFX, settings, session, session-agent and pending file is 0600 (fixable)."""
    files = secret_files(ctx.store.home)
    wrong = [p for p in files if stat.S_IMODE(p.stat().st_mode) != FILE_MODE]
    if not files:
        current = msg("doctor.no_files")
    elif wrong:
        current = ", ".join(f"{p.name} {stat.S_IMODE(p.stat().st_mode):04o}" for p in wrong)
    else:
        current = msg("doctor.all_0600", count=len(files))
    how = msg("doctor.file_modes.how", files=" ".join(str(p) for p in wrong)) if wrong else ""
    return Finding("file_modes", not wrong, current, fixable=bool(wrong), how=how)


def check_file_owners(ctx: Context) -> Finding:
    """Every file in the store (the PFX, settings, session, pending and leftover files) is
    this user's. One owned by someone else may have been put there to replace ours: not
    fixable by a program; the row says what to do."""
    home = ctx.store.home
    uid = _my_uid()
    files = sorted({*secret_files(home), *leftover_files(home)})
    foreign = [p for p in files if uid is not None and p.lstat().st_uid != uid]
    if not files:
        current = msg("doctor.no_files")
    elif foreign:
        current = ", ".join(
            msg("doctor.file_owners.owner", name=p.name, uid=p.lstat().st_uid) for p in foreign
        )
    else:
        current = msg("doctor.file_owners.all_mine", count=len(files))
    return Finding(
        "file_owners",
        not foreign,
        current,
        cannot_fix=msg("doctor.file_owners.how", files=" ".join(str(p) for p in foreign)),
    )


def leftover_files(home: Path) -> list[Path]:
    if not home.is_dir():
        return []
    return sorted(
        p
        for p in home.iterdir()
        if p.is_file() and p.name.startswith(".") and p.name.endswith((".pfx.new", ".tmp"))
    )


def check_leftovers(ctx: Context) -> Finding:
    """No temporary or staging files from an interrupted write remain (fixable: remove them;
    the store's first write of a run removes those older than ``store.STALE_AFTER`` too)."""
    found = leftover_files(ctx.store.home)
    return Finding(
        "leftovers",
        not found,
        ", ".join(p.name for p in found) if found else msg("doctor.none"),
        fixable=bool(found),
        how=msg("doctor.leftovers.how", files=" ".join(str(p) for p in found)) if found else "",
    )


def check_server(ctx: Context) -> Finding:
    """The server answers its policy call."""
    try:
        ctx.client().policy()
    except ClientError as exc:
        return Finding(
            "server", False, exc.message, cannot_fix=msg("doctor.server.how", url=ctx.server_url)
        )
    return Finding("server", True, msg("doctor.reachable", url=ctx.server_url))


def check_clock(ctx: Context) -> Finding:
    """This computer's clock is within a minute of the server's."""
    try:
        before = datetime.now(UTC)
        policy = ctx.client().policy()
        after = datetime.now(UTC)
        server_time = policy.server_time
    except (ClientError, KeyError, ValueError):
        return Finding("clock", False, msg("doctor.clock.unknown"),
                       cannot_fix=msg("doctor.clock.how"))  # fmt: skip
    local = before + (after - before) / 2
    # The server's time has seconds precision: up to one second of the skew is rounding.
    skew = (local - server_time).total_seconds()
    ok = abs(skew) <= MAX_CLOCK_SKEW_SECONDS
    return Finding("clock", ok, msg("doctor.clock.skew", seconds=f"{skew:+.0f}"),
                   cannot_fix=msg("doctor.clock.how"))  # fmt: skip


def check_credential_store(ctx: Context) -> Finding:
    """The operating system's credential store is usable, when setting 3 needs it.

    Only setting 3 keeps the PFX password there; setting 2 keeps the unlocked key in the memory
    of a local key agent (``sync_client.key_agent``). Without setting 3 a missing store is
    reported but is not a problem.
    """
    available = remember.credential_store_available()
    setting = ctx.store.load_settings().security_setting
    if available:
        current = msg("doctor.available")
    elif setting == 3:
        current = msg("doctor.unavailable")
    else:
        current = msg("doctor.credential_store.not_needed", setting=setting)
    return Finding(
        "credential_store",
        available or setting != 3,
        current,
        cannot_fix=msg("doctor.credential_store.how"),
    )
