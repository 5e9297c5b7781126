"""The phone's home folder: where the stand-in keeps its session, settings and certificates.

    <home>/session.json            the phone session (token, customer, setting for this login)
    <home>/session-agent.json      setting 2: how to reach the key agent that holds the
                                   unlocked key in memory (``sync_client.key_agent``: socket
                                   path, nonce, pid); opens nothing without that process
    <home>/settings.json           the phone's security setting per customer (default 2), and
                                   the language chosen with --lang
    <home>/keystore/<ID>.pfx       the certificate, as the PC sent it (PFX password-protected)
    <home>/keystore/<ID>.json      its public description (certificate PEM, hash of the PFX)
    <home>/pending/<ID>.json       a received PFX waiting for the right password

The home is ``--home``, else ``$MOBILE_STUB_HOME``, else a folder under the user's data
directory. Folders are 0700 and every file 0600, written atomically (``sync_client.fsio``):
the session file holds a bearer token and the others hold key material.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from mobile_stub.errors import PhoneStoreCorrupt
from sync_client.errors import ClientError, InvalidInput
from sync_client.fsio import read_file_limited, write_file_atomic
from sync_client.i18n import msg
from sync_client.security import DEFAULT_SETTING, SecuritySetting

HOME_ENV = "MOBILE_STUB_HOME"
APP_NAME = "certsync-mobile-stub"
MAX_STATE_FILE_BYTES = 1024 * 1024
DIR_MODE = 0o700


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$MOBILE_STUB_HOME`` if set, else the platform's per-user data folder for the stub."""
    env = os.environ if environ is None else environ
    value = env.get(HOME_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class PhoneHome:
    """Paths inside one phone's home folder; nothing is created until ``ensure``."""

    root: Path

    @property
    def session_file(self) -> Path:
        return self.root / "session.json"

    @property
    def session_agent_file(self) -> Path:
        return self.root / "session-agent.json"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def keystore_dir(self) -> Path:
        return self.root / "keystore"

    @property
    def pending_dir(self) -> Path:
        return self.root / "pending"

    def keystore_pfx(self, customer_id: str) -> Path:
        return self.keystore_dir / f"{customer_id}.pfx"

    def keystore_meta(self, customer_id: str) -> Path:
        return self.keystore_dir / f"{customer_id}.json"

    def pending_file(self, customer_id: str) -> Path:
        return self.pending_dir / f"{customer_id}.json"

    def ensure(self, *folders: Path) -> None:
        """Create the home (and the given sub-folders) as 0700 if missing."""
        for folder in (self.root, *folders):
            folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def write_json_private(path: Path, data: Mapping[str, Any]) -> None:
    """Write one JSON object atomically with mode 0600."""
    write_file_atomic(path, json.dumps(data, indent=2, sort_keys=True).encode("utf-8"))


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, ``None`` if there is no file, ``PhoneStoreCorrupt`` if bad."""
    if not path.exists():
        return None
    raw = read_file_limited(path, MAX_STATE_FILE_BYTES)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise PhoneStoreCorrupt(msg("phone.store.damaged", path=path))
    return data


def remove_file(path: Path) -> bool:
    """Delete ``path`` if it exists; whether it did."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        return True
    return False


# -- the phone's security setting ---------------------------------------------------------


def saved_security_setting(home: PhoneHome, customer_id: str) -> SecuritySetting:
    """The setting chosen on this phone for ``customer_id`` (default 2)."""
    data = read_json(home.settings_file) or {}
    chosen = data.get("security_settings", {})
    if not isinstance(chosen, dict) or customer_id not in chosen:
        return DEFAULT_SETTING
    try:
        return SecuritySetting.parse(chosen[customer_id])
    except InvalidInput:
        raise PhoneStoreCorrupt(msg("phone.store.damaged", path=home.settings_file)) from None


def save_security_setting(home: PhoneHome, customer_id: str, setting: SecuritySetting) -> None:
    """Record ``setting`` for ``customer_id``; it applies from the next login."""
    home.ensure()
    data = read_json(home.settings_file) or {}
    chosen = data.get("security_settings")
    if not isinstance(chosen, dict):
        chosen = {}
    chosen[customer_id] = int(setting)
    data["security_settings"] = chosen
    write_json_private(home.settings_file, data)


# -- the phone's language -----------------------------------------------------------------


def saved_language(home: PhoneHome) -> str | None:
    """The language ``--lang`` chose earlier on this phone, if the settings can be read.

    Read before the command line is parsed, so never an error: a damaged or unreadable file
    means "nothing remembered", and the command itself reports the damage if it reads it.
    """
    try:
        data = read_json(home.settings_file) or {}
    except (ClientError, OSError):
        return None
    value = data.get("language")
    return value if isinstance(value, str) else None


def save_language(home: PhoneHome, language: str) -> None:
    """Remember ``language`` for later runs, beside the security settings."""
    home.ensure()
    data = read_json(home.settings_file) or {}
    if data.get("language") == language:
        return
    data["language"] = language
    write_json_private(home.settings_file, data)
