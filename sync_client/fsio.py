"""Files on disk: atomic, private writes and size-limited reads.

Most of what the clients write holds a secret (a PFX, a pending private key, a QR image that
carries a relay key), so a write must never leave a half-written file behind, nor a file that
someone else could read even for a moment. The recipe is certbot's: create a temporary file in
the target's directory with ``O_EXCL`` and the final mode, write, ``fsync``, ``os.replace`` it
over the target, then ``fsync`` the directory so the rename itself survives a power cut.

A process killed between the create and the rename leaves its temporary file behind;
``remove_stale_temporaries`` deletes such files once they are old enough not to be a write
still in progress (the PC's store calls it on its first write of a run).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sync_client.errors import InvalidInput
from sync_client.i18n import msg, os_reason

DEFAULT_FILE_MODE = 0o600
# ``write_file_atomic``'s temporary name: ``.<target name>.<16 hex digits>.tmp``.
TEMPORARY_NAME = re.compile(r"\..+\.[0-9a-f]{16}\.tmp")

# O_BINARY only exists (and only matters) on Windows; O_CLOEXEC keeps a child process that we
# might start from inheriting the descriptor of a secret file.
_CREATE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
)


def write_file_atomic(path: Path, data: bytes, *, mode: int = DEFAULT_FILE_MODE) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one.

    The file ends with exactly ``mode`` whatever the process umask. The temporary file lives in
    the same directory (``os.replace`` is atomic only within one file system) and is removed if
    anything fails. ``OSError`` from the file system propagates unchanged.
    """
    path = Path(path)
    directory = path.parent
    # A random suffix, not mkstemp: mkstemp creates with 0600 and we want the caller's mode, and
    # O_EXCL already guarantees we never open a file (or follow a symlink) someone planted.
    temp_path = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"  # TEMPORARY_NAME
    # The umask can only remove bits, so the temporary file is never wider than ``mode``.
    fd = os.open(temp_path, _CREATE_FLAGS, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            # fchmod before the rename: the target name never points at a file with the wrong
            # mode, not even between the rename and a later chmod.
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not hasattr(os, "fchmod"):  # Windows: only the read-only bit means anything there.
            os.chmod(temp_path, mode)
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp_path.unlink()
        raise
    fsync_directory(directory)


def is_temporary_name(name: str) -> bool:
    """Whether ``name`` is one ``write_file_atomic`` gives its temporary files."""
    return TEMPORARY_NAME.fullmatch(name) is not None


def remove_stale_temporaries(
    directory: Path,
    *,
    older_than: timedelta,
    now: datetime | None = None,
    also: Callable[[str], bool] | None = None,
) -> list[Path]:
    """Delete the temporary files an interrupted ``write_file_atomic`` left in ``directory``
    (and hidden files for which ``also(name)`` says yes), when last changed before
    ``now - older_than``; returns what was removed.

    A younger one may be a write still running in another process, so it stays. Only regular
    files are touched (never a symlink or a folder with such a name); a file that vanishes
    meanwhile is not an error. ``OSError`` listing the folder propagates.
    """
    cutoff = (now or datetime.now(UTC)) - older_than
    removed: list[Path] = []
    for entry in os.scandir(directory):
        name = entry.name
        if not (is_temporary_name(name) or (name.startswith(".") and also and also(name))):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        changed = datetime.fromtimestamp(info.st_mtime, UTC)
        if not stat.S_ISREG(info.st_mode) or changed >= cutoff:
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    if removed:
        fsync_directory(Path(directory))
    return sorted(removed)


def fsync_directory(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable.

    Windows cannot open a directory and does not need this; a folder that is gone has nothing
    left to flush.
    """
    if os.name == "nt" or not directory.is_dir():
        return
    dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_file_limited(path: Path, max_bytes: int) -> bytes:
    """Read a whole file the user pointed at, refusing one larger than ``max_bytes``.

    A PFX or a QR image is a few kilobytes; the limit keeps a wrong path (a disk image, a
    device) from filling memory. Any failure is an ``InvalidInput`` that names the path.
    """
    if max_bytes < 0:
        raise ValueError("max_bytes must not be negative")
    path = Path(path)
    try:
        with path.open("rb") as handle:
            # One byte more than allowed tells "exactly at the limit" from "over it".
            data = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise InvalidInput(msg("sdk.file.missing", path=path)) from exc
    except IsADirectoryError as exc:
        raise InvalidInput(msg("sdk.file.is_folder", path=path)) from exc
    except OSError as exc:
        raise InvalidInput(msg("sdk.file.unreadable", path=path, reason=os_reason(exc))) from exc
    if len(data) > max_bytes:
        raise InvalidInput(msg("sdk.file.too_large", path=path, max_bytes=max_bytes))
    return data
