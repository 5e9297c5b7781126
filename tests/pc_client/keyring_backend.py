"""A file-backed ``keyring`` backend: the stand-in for the OS credential store in tests.

This machine has no credential store (keyring picks its ``fail`` backend), so tests that need
one select this class: in process with ``keyring.set_keyring(FileKeyring(folder))``, in a
subprocess with ``PYTHON_KEYRING_BACKEND=keyring_backend.FileKeyring``, this folder on
``PYTHONPATH`` and ``CERTSYNC_TEST_KEYRING_DIR=<folder>``. It is a true external edge: the
code under test talks to it only through the ``keyring`` API, as it would to the real one.

The file is plain JSON, 0600. Never use this outside tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV_DIR = "CERTSYNC_TEST_KEYRING_DIR"
FILE_NAME = "keyring.json"


class FileKeyring(KeyringBackend):
    priority = 1  # keyring reads it: any value >= 1 means "usable"

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.folder = folder

    @property
    def path(self) -> Path:
        folder = self.folder or Path(os.environ[ENV_DIR])
        return folder / FILE_NAME

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temp, self.path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if username not in data.get(service, {}):
            raise PasswordDeleteError("no such password")
        del data[service][username]
        self._save(data)

    def entries(self) -> dict[str, dict[str, str]]:
        """Everything stored, for assertions."""
        return self._load()
