"""The folder browser of 憑證匯出 (the original's 「瀏覽」 then 「確定」).

A browser page cannot name a folder on the PC, so the local service lists folders for it:
first the places a customer saves a backup to — the home folder, the desktop, and removable
media mounted under ``/media``, ``/media/$USER``, ``/run/media/$USER`` or ``/mnt`` (a USB
stick; on Windows, the drive letters) — then the subfolders of the folder chosen. Hidden
folders (a dot name) are not listed. Only names are shown; nothing here reads or writes a
file, and a folder that cannot be read is shown empty with a note.
"""

from __future__ import annotations

import getpass
import os
import string
from dataclasses import dataclass
from pathlib import Path

from pc_client.messages import msg

MAX_LISTED = 500  # a folder with more subfolders is cut short (with a note)


@dataclass(frozen=True)
class Place:
    """A starting point of the browser: its label and folder."""

    label: str
    path: Path


@dataclass(frozen=True)
class Listing:
    """A folder and its subfolders (sorted by name); ``parent`` is ``None`` at the root."""

    path: Path
    parent: Path | None
    folders: tuple[Path, ...]
    unreadable: bool = False
    truncated: bool = False


def _subfolders(base: Path) -> list[Path]:
    try:
        return sorted(
            (p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.name.lower(),
        )
    except OSError:
        return []


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def places(home: Path | None = None) -> list[Place]:
    """Home, desktop, and each mounted removable medium that exists on this PC."""
    home = home or Path.home()
    found = [Place(msg("web.folders.home"), home)]
    for name in ("Desktop", "桌面"):
        if (home / name).is_dir():
            found.append(Place(msg("web.folders.desktop"), home / name))
            break
    user = _user()
    bases = [Path("/media"), Path("/mnt")]
    if user:
        bases = [Path("/media") / user, Path("/run/media") / user, *bases]
    media: list[Path] = []
    for base in bases:
        # /media/<user> is a base of its own, not a medium
        media += [p for p in _subfolders(base) if not (base == Path("/media") and p.name == user)]
    if os.name == "nt":
        media += [Path(f"{d}:\\") for d in string.ascii_uppercase if Path(f"{d}:\\").exists()]
    for path in dict.fromkeys(media):  # in order, once each
        found.append(Place(msg("web.folders.removable", name=path.name or str(path)), path))
    return found


def list_folder(path: Path) -> Listing:
    """``path``'s subfolders. ``path`` must be an absolute folder (``ValueError`` otherwise)."""
    if not path.is_absolute() or not path.is_dir():
        raise ValueError("not an absolute folder")
    path = path.resolve()
    parent = path.parent if path.parent != path else None
    try:
        entries = sorted(
            (p for p in path.iterdir() if not p.name.startswith(".") and p.is_dir()),
            key=lambda p: p.name.lower(),
        )
    except OSError:
        return Listing(path, parent, (), unreadable=True)
    return Listing(path, parent, tuple(entries[:MAX_LISTED]), truncated=len(entries) > MAX_LISTED)
