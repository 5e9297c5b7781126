"""``doctor [--fix]``: function 10, the environment check (憑證作業環境檢查).

Each check is a ``Finding`` (item, purpose, recommended, current, action). Checks only look;
``--fix`` then repairs what a program may safely repair on its own (create the folder, clear
its read-only state, tighten file modes, remove leftovers of an interrupted write) and says
what it cannot fix. ``--item NAME`` limits both to some items ("fix one item or all").
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import click

from pc_client import remember
from pc_client.app import App, Result
from pc_client.messages import msg
from pc_client.render import table
from pc_client.store import FILE_MODE, FOLDER_MODE, SESSION_FILE, SESSION_KEY_FILE, SETTINGS_FILE
from sync_client.errors import ClientError
from sync_client.protocol import parse_time

MIN_PYTHON = (3, 11)
MIN_CRYPTOGRAPHY = (44, 0)
MIN_OPENSSL = 0x30000000
MAX_CLOCK_SKEW_SECONDS = 60.0
# Windows file attributes (stat.FILE_ATTRIBUTE_* exist only in Windows builds of Python).
_WIN_READONLY = 0x1
_WIN_HIDDEN = 0x2


@dataclass(frozen=True)
class Finding:
    """One row of the table: a check's result and whether ``--fix`` can repair it."""

    item: str
    ok: bool
    current: str
    fixable: bool = False
    fixed: bool = False
    cannot_fix: str = ""  # why not, when not ok and not fixable

    @property
    def purpose(self) -> str:
        """Why the item matters."""
        return msg(f"doctor.{self.item}.purpose")

    @property
    def recommended(self) -> str:
        """What the item should be."""
        return msg(f"doctor.{self.item}.recommended")

    @property
    def action(self) -> str:
        """What was done or what to do: nothing, fixed, fixable, or why not."""
        if self.fixed:
            return msg("doctor.action.fixed")
        if self.ok:
            return msg("doctor.action.none")
        if self.fixable:
            return msg("doctor.action.fixable")
        return msg("doctor.action.cannot", why=self.cannot_fix)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


# -- the checks (each looks, never changes anything) -----------------------------------------


def check_python(app: App) -> Finding:
    """Python is recent enough."""
    version = ".".join(str(n) for n in sys.version_info[:3])
    return Finding(
        "python",
        sys.version_info[:2] >= MIN_PYTHON,
        version,
        cannot_fix=msg("doctor.python.how"),
    )


def check_cryptography(app: App) -> Finding:
    """The cryptography package is recent enough."""
    version = metadata.version("cryptography")
    return Finding(
        "cryptography",
        _version_tuple(version)[:2] >= MIN_CRYPTOGRAPHY,
        version,
        cannot_fix=msg("doctor.cryptography.how"),
    )


def check_openssl(app: App) -> Finding:
    """The OpenSSL inside cryptography is 3.0 or later."""
    from cryptography.hazmat.backends.openssl.backend import backend

    return Finding(
        "openssl",
        backend.openssl_version_number() >= MIN_OPENSSL,
        backend.openssl_version_text(),
        cannot_fix=msg("doctor.cryptography.how"),
    )


def check_folder_exists(app: App) -> Finding:
    """The store folder exists (fixable: create it, 0700)."""
    home = app.store.home
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


def check_folder_writable(app: App) -> Finding:
    """A file can be created in the store folder (by trying)."""
    home = app.store.home
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


def check_folder_not_read_only(app: App) -> Finding:
    """The folder is not read-only (owner write bit; Windows read-only attribute)."""
    home = app.store.home
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


def check_folder_not_hidden(app: App) -> Finding:
    """The folder is not hidden (a dot name; Windows hidden attribute). Not fixable."""
    home = app.store.home
    attributes = getattr(home.stat(), "st_file_attributes", 0) if home.is_dir() else 0
    hidden = home.name.startswith(".") or bool(attributes & _WIN_HIDDEN)
    return Finding(
        "folder_not_hidden",
        not hidden,
        msg("doctor.hidden") if hidden else msg("doctor.visible"),
        cannot_fix=msg("doctor.folder_not_hidden.how"),
    )


def _secret_files(home: Path) -> list[Path]:
    if not home.is_dir():
        return []
    names = {SETTINGS_FILE, SESSION_FILE, SESSION_KEY_FILE}
    return sorted(
        p
        for p in home.iterdir()
        if p.is_file()
        and (p.suffix == ".pfx" or p.name in names or p.name.endswith(".pending.json"))
    )


def check_file_modes(app: App) -> Finding:
    """Every PFX, settings, session, session-key and pending file is 0600 (fixable)."""
    files = _secret_files(app.store.home)
    wrong = [p for p in files if stat.S_IMODE(p.stat().st_mode) != FILE_MODE]
    if not files:
        current = msg("doctor.no_files")
    elif wrong:
        current = ", ".join(f"{p.name} {stat.S_IMODE(p.stat().st_mode):04o}" for p in wrong)
    else:
        current = msg("doctor.all_0600", count=len(files))
    return Finding("file_modes", not wrong, current, fixable=bool(wrong))


def _leftovers(home: Path) -> list[Path]:
    if not home.is_dir():
        return []
    return sorted(
        p
        for p in home.iterdir()
        if p.is_file() and p.name.startswith(".") and p.name.endswith((".pfx.new", ".tmp"))
    )


def check_leftovers(app: App) -> Finding:
    """No temporary files from an interrupted write remain (fixable: remove them)."""
    found = _leftovers(app.store.home)
    return Finding(
        "leftovers",
        not found,
        ", ".join(p.name for p in found) if found else msg("doctor.none"),
        fixable=bool(found),
    )


def check_server(app: App) -> Finding:
    """The server answers its policy call."""
    try:
        app.client().policy()
    except ClientError as exc:
        return Finding(
            "server", False, exc.message, cannot_fix=msg("doctor.server.how", url=app.server_url)
        )
    return Finding("server", True, msg("doctor.reachable", url=app.server_url))


def check_clock(app: App) -> Finding:
    """This computer's clock is within a minute of the server's."""
    try:
        before = datetime.now(UTC)
        policy = app.client().policy()
        after = datetime.now(UTC)
        server_time = parse_time(str(policy["server_time"]))
    except (ClientError, KeyError, ValueError):
        return Finding("clock", False, msg("doctor.clock.unknown"),
                       cannot_fix=msg("doctor.clock.how"))  # fmt: skip
    local = before + (after - before) / 2
    # The server's time has seconds precision: up to one second of the skew is rounding.
    skew = (local - server_time).total_seconds()
    ok = abs(skew) <= MAX_CLOCK_SKEW_SECONDS
    return Finding("clock", ok, msg("doctor.clock.skew", seconds=f"{skew:+.0f}"),
                   cannot_fix=msg("doctor.clock.how"))  # fmt: skip


def check_credential_store(app: App) -> Finding:
    """The operating system's credential store is usable, when setting 3 needs it.

    Only setting 3 keeps the PFX password there; setting 2 keeps the unlocked key sealed under
    the session's unlock secret (``commands.order``). Without setting 3 a missing store is
    reported but is not a problem.
    """
    available = remember.credential_store_available()
    setting = app.store.load_settings().security_setting
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


CHECKS: dict[str, Callable[[App], Finding]] = {
    "python": check_python,
    "cryptography": check_cryptography,
    "openssl": check_openssl,
    "folder_exists": check_folder_exists,
    "folder_writable": check_folder_writable,
    "folder_not_read_only": check_folder_not_read_only,
    "folder_not_hidden": check_folder_not_hidden,
    "file_modes": check_file_modes,
    "leftovers": check_leftovers,
    "server": check_server,
    "clock": check_clock,
    "credential_store": check_credential_store,
}


# -- the fixes ----------------------------------------------------------------------------------


def _fix(app: App, item: str) -> None:
    home = app.store.home
    if item == "folder_exists":
        home.mkdir(parents=True, mode=FOLDER_MODE)
    elif item in ("folder_not_read_only", "folder_writable"):
        os.chmod(home, stat.S_IMODE(home.stat().st_mode) | stat.S_IRWXU)
        if os.name == "nt":
            os.chmod(home, stat.S_IWRITE | stat.S_IREAD)
    elif item == "file_modes":
        for path in _secret_files(home):
            os.chmod(path, FILE_MODE)
    elif item == "leftovers":
        for path in _leftovers(home):
            path.unlink()


def run_checks(app: App, items: Sequence[str]) -> list[Finding]:
    """Run the named checks, in order; none changes anything."""
    return [CHECKS[item](app) for item in items]


@click.command()
@click.option("--fix", is_flag=True, help="Fix what can be fixed, and say what cannot.")
@click.option(
    "--item",
    "items",
    multiple=True,
    type=click.Choice(list(CHECKS)),
    help="Check (and fix) only this item; repeatable.",
)
@click.pass_obj
def doctor(app: App, fix: bool, items: tuple[str, ...]) -> Result:
    """Check this computer for certificate work: a table of item, purpose, recommended,
    current value and action. Exit status 1 while a problem remains. No prompts."""
    selected = list(items) or list(CHECKS)
    findings = run_checks(app, selected)
    if fix:
        for finding in findings:
            if not finding.ok and finding.fixable:
                # A fix that fails is reported by the re-check below.
                with contextlib.suppress(OSError):
                    _fix(app, finding.item)
        before = {f.item: f for f in findings}
        findings = [
            replace(f, fixed=f.ok and not before[f.item].ok) for f in run_checks(app, selected)
        ]
    problems = [f for f in findings if not f.ok]
    rows = [
        [msg(f"doctor.{f.item}.name"), f.purpose, f.recommended, f.current, f.action]
        for f in findings
    ]
    header = [
        msg(f"doctor.column.{c}") for c in ("item", "purpose", "recommended", "current", "action")
    ]
    lines = table(header, rows)
    lines.append("")
    lines.append(
        msg("doctor.summary.ok")
        if not problems
        else msg("doctor.summary.problems", count=len(problems))
    )
    data = {
        "ok": not problems,
        "problems": len(problems),
        "checks": [
            {
                "item": f.item,
                "name": msg(f"doctor.{f.item}.name"),
                "purpose": f.purpose,
                "recommended": f.recommended,
                "current": f.current,
                "ok": f.ok,
                "fixable": f.fixable,
                "fixed": f.fixed,
                "action": f.action,
            }
            for f in findings
        ],
    }
    if problems:
        data["error"] = "doctor_problems"
        data["message"] = msg("doctor.summary.problems", count=len(problems))
    return Result(data, lines, exit_code=1 if problems else 0)
