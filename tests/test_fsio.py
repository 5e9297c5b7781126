"""Atomic private writes and size-limited reads, on the real file system."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync_client.errors import InvalidInput
from sync_client.fsio import read_file_limited, write_file_atomic


@pytest.fixture
def umask() -> Iterator[None]:
    """Let a test set the process umask, and put the old one back afterwards."""
    previous = os.umask(0o022)  # os.umask can only be read by setting it
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_data_with_mode_0600_by_default(tmp_path: Path, umask: None) -> None:
    os.umask(0)  # the most permissive umask must still give 0600
    target = tmp_path / "secret.pfx"
    write_file_atomic(target, b"secret bytes")
    assert target.read_bytes() == b"secret bytes"
    assert _mode(target) == 0o600


def test_mode_is_exact_whatever_the_umask(tmp_path: Path, umask: None) -> None:
    # A strict umask would strip bits from os.open's mode; the final file still has `mode`.
    os.umask(0o077)
    target = tmp_path / "public.pem"
    write_file_atomic(target, b"chain", mode=0o644)
    assert _mode(target) == 0o644


def test_replaces_an_existing_file_and_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "key.pem"
    target.write_bytes(b"old contents")
    target.chmod(0o644)
    write_file_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o600


def test_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    write_file_atomic(target, b"x" * 100_000)
    write_file_atomic(target, b"")
    assert os.listdir(tmp_path) == ["a.bin"]
    assert target.read_bytes() == b""


def test_failed_write_removes_temp_file_and_keeps_target(tmp_path: Path) -> None:
    target = tmp_path / "keep.bin"
    target.write_bytes(b"original")
    with pytest.raises(TypeError):
        write_file_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == ["keep.bin"]
    assert target.read_bytes() == b"original"


def test_failed_rename_removes_temp_file(tmp_path: Path) -> None:
    # os.replace cannot put a file over a directory: the failure comes after the temporary
    # file was fully written, the last moment it could be left behind.
    target = tmp_path / "occupied"
    target.mkdir()
    with pytest.raises(OSError):
        write_file_atomic(target, b"data")
    assert os.listdir(tmp_path) == ["occupied"]
    assert target.is_dir()


def test_missing_directory_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_file_atomic(tmp_path / "no" / "such" / "file", b"data")
    assert os.listdir(tmp_path) == []


def test_read_file_limited_accepts_exactly_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"12345")
    assert read_file_limited(path, 5) == b"12345"


def test_read_file_limited_refuses_a_larger_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"123456")
    with pytest.raises(InvalidInput) as caught:
        read_file_limited(path, 5)
    assert caught.value.code == "invalid_input"


def test_read_file_limited_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        read_file_limited(tmp_path / "missing", 10)
    with pytest.raises(InvalidInput):
        read_file_limited(tmp_path, 10)
