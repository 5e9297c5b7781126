"""The local certificate store: one folder (default ``~/BTS``) and the files in it.

    <home>/<ID>.pfx              the certificate, key and CA chain under the PFX password
    <home>/settings.json         server URL, customer ID, security setting, registered PFX files
    <home>/session.json          the login session (a bearer token: 0600)
    <home>/session-agent.json    security setting 2: how to reach the key agent that holds
                                 the key unlocked by this login's first order in its memory
                                 (``sync_client.key_agent``: socket path, nonce, pid). It opens
                                 nothing without that running process; deleted at logout and
                                 login, when the agent is told to end
    <home>/<ID>.pending.json     an apply or renewal in flight: the NEW private key, sealed
                                 with the NEW PFX password (key-only PKCS#12, the PFX's
                                 profile), its CSR and (renewal) its proof
    <home>/.<ID>.pfx.new         a new PFX written but not yet re-opened (only after a crash)
    <home>/.<name>.<hex>.tmp     a write in progress (``fsio``), or an interrupted one's

The first write of a run removes temporary and staging files older than ``STALE_AFTER``: they
are what an interrupted write left behind (``remove_stale_temporaries``).

Every write goes through ``sync_client.fsio.write_file_atomic`` (temporary file, fsync,
rename) with mode 0600. A new PFX is first written beside the old one, re-opened from disk with
the new password, and only then renamed over ``<ID>.pfx``, so at every instant the store holds a
PFX that opens with either the old or the new password.

``status`` needs the certificate without asking for the password, but a PKCS#12 file encrypts
its certificate bags too. So ``settings.json`` registers, per customer, the SHA-256 of each PFX
file this program wrote together with the (public) certificate inside it. During an
installation both the old and the new file are registered, so a crash at any point leaves the
file on disk recognisable.

What each JSON file holds (``StoreSettings``, ``Session``, ``Pending``) is in
``pc_client.records``; this module is the folder and its file I/O.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pc_client.errors import NoLocalCertificate, PcCode, StoreUnusable
from pc_client.messages import msg
from pc_client.records import Pending, RecordDamaged, Registration, Session, StoreSettings
from sync_client.errors import ClientCode, PfxInvalid
from sync_client.fsio import (
    fsync_directory,
    read_file_limited,
    remove_stale_temporaries,
    write_file_atomic,
)
from sync_client.i18n import os_reason
from sync_client.key_agent import AgentHandle
from sync_client.keys import (
    PrivateKey,
    certificate_fingerprint,
    public_key_fingerprint,
    seal_private_key,
)
from sync_client.pfx import DEFAULT_PFX_ITERATIONS, LoadedPfx, build_pfx, load_pfx

SETTINGS_FILE = "settings.json"
SESSION_FILE = "session.json"
SESSION_AGENT_FILE = "session-agent.json"
# Where an earlier version kept setting 2's sealed key; removed wherever the handle is.
SESSION_KEY_FILE = "session-key"
FOLDER_MODE = 0o700
FILE_MODE = 0o600
MAX_PFX_BYTES = 1024 * 1024
MAX_JSON_BYTES = 1024 * 1024
# A leftover temporary or staging file older than this is an interrupted write's, not one in
# progress (a write takes milliseconds; installing a PFX, a second or two).
STALE_AFTER = timedelta(minutes=15)

Checkpoint = Callable[[str], None]


def _no_checkpoint(step: str) -> None:
    return None


def damaged(path: Path, field_name: str | None = None) -> StoreUnusable:
    """The refusal for a store file that is not what this program writes (``store_damaged``):
    which file, which field when known, and what to do."""
    if field_name is None:
        return StoreUnusable(msg("store.damaged", path=path), code=PcCode.STORE_DAMAGED)
    return StoreUnusable(
        msg("store.damaged_field", path=path, field=field_name), code=PcCode.STORE_DAMAGED
    )


def default_home() -> Path:
    """``BTS`` in the user's home folder, as the original system kept it."""
    return Path.home() / "BTS"


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data``, lower-case hex."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class LocalCertificate:
    """What ``status`` can tell about ``<ID>.pfx`` without its password."""

    path: Path
    present: bool
    cert: x509.Certificate | None  # None: absent, or a file this program did not register

    @property
    def fingerprint_sha256(self) -> str | None:
        """SHA-256 of the certificate's DER, or ``None`` when unknown."""
        return certificate_fingerprint(self.cert) if self.cert is not None else None


class Store:
    """The store folder. ``checkpoint`` is called at named steps (a test hook, see cli)."""

    def __init__(
        self,
        home: Path,
        *,
        pfx_iterations: int = DEFAULT_PFX_ITERATIONS,
        checkpoint: Checkpoint = _no_checkpoint,
    ) -> None:
        self.home = Path(home)
        self.pfx_iterations = pfx_iterations
        self.checkpoint = checkpoint
        self._swept = False

    def __repr__(self) -> str:
        return f"Store({str(self.home)!r})"

    # -- paths ----------------------------------------------------------------------------

    @property
    def settings_path(self) -> Path:
        """``<home>/settings.json``."""
        return self.home / SETTINGS_FILE

    @property
    def session_path(self) -> Path:
        """``<home>/session.json``."""
        return self.home / SESSION_FILE

    @property
    def session_agent_path(self) -> Path:
        """``<home>/session-agent.json``."""
        return self.home / SESSION_AGENT_FILE

    def pfx_path(self, customer_id: str) -> Path:
        """``<home>/<ID>.pfx``: the name never changes."""
        return self.home / f"{customer_id}.pfx"

    def staging_path(self, customer_id: str) -> Path:
        """Where a new PFX waits until it re-opened from disk."""
        return self.home / f".{customer_id}.pfx.new"

    def pending_path(self, customer_id: str) -> Path:
        """``<home>/<ID>.pending.json``."""
        return self.home / f"{customer_id}.pending.json"

    # -- low level ------------------------------------------------------------------------

    def check_home(self) -> None:
        """Refuse, before any server is asked, a store that cannot be used: a path that is a
        file (or lies under one), or a damaged ``settings.json`` / ``session.json``. Reads
        only; a missing folder is fine (it is created on the first write)."""
        for folder in (self.home, *self.home.parents):
            if folder.exists():
                if not folder.is_dir():
                    raise StoreUnusable(msg("store.not_a_folder", path=folder))
                break
        if self.home.is_dir():
            self.load_settings()
            self.load_session()

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete what an interrupted write left behind here: ``fsio``'s temporary files and
        a ``.<ID>.pfx.new`` staging file, once older than ``STALE_AFTER`` (a younger one may
        belong to a write still running in another process, such as the page)."""
        if not self.home.is_dir():
            return []
        return remove_stale_temporaries(
            self.home, older_than=STALE_AFTER, also=lambda name: name.endswith(".pfx.new")
        )

    def ensure_home(self) -> None:
        """Create the folder (0700) if it is missing; refuse a path that is not a folder."""
        if self.home.is_dir():
            return
        if self.home.exists():
            raise StoreUnusable(msg("store.not_a_folder", path=self.home))
        try:
            self.home.mkdir(parents=True, mode=FOLDER_MODE)
        except OSError as exc:
            raise StoreUnusable(
                msg("store.cannot_create", path=self.home, reason=os_reason(exc))
            ) from exc

    def _write(self, path: Path, data: bytes) -> None:
        self.ensure_home()
        # The first write of a run sweeps what an interrupted one left (reads change nothing,
        # so ``status`` and ``doctor`` still see the leftovers; ``doctor --fix`` removes them).
        if not self._swept:
            self._swept = True
            with contextlib.suppress(OSError):
                self.remove_stale_temporaries()
        try:
            write_file_atomic(path, data, mode=FILE_MODE)
        except OSError as exc:
            raise StoreUnusable(
                msg("store.cannot_write", path=path, reason=os_reason(exc))
            ) from exc

    def _read_json(self, path: Path) -> dict[str, Any] | None:
        if not path.exists():
            return None
        data = read_file_limited(path, MAX_JSON_BYTES)
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past all reason
            raise damaged(path) from None
        if not isinstance(value, dict):
            raise damaged(path)
        return value

    def _write_json(self, path: Path, value: Mapping[str, Any]) -> None:
        text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        self._write(path, text.encode("utf-8"))

    # -- settings -------------------------------------------------------------------------

    def load_settings(self) -> StoreSettings:
        """The settings, or the defaults when there is no file yet (``store_damaged`` when the
        file is not what this program writes)."""
        data = self._read_json(self.settings_path)
        if data is None:
            return StoreSettings()
        try:
            return StoreSettings.from_json(data)
        except RecordDamaged as exc:
            raise damaged(self.settings_path, exc.field) from None

    def save_settings(self, settings: StoreSettings) -> None:
        """Write the settings (atomic, 0600)."""
        self._write_json(self.settings_path, settings.to_json())

    def update_settings(self, **changes: Any) -> StoreSettings:
        """Load, change some fields, save only if anything changed; returns the result."""
        before = self.load_settings()
        after = replace(before, **changes)
        if after != before or not self.settings_path.exists():
            self.save_settings(after)
        return after

    # -- session --------------------------------------------------------------------------

    def load_session(self) -> Session | None:
        """The login session, or ``None``."""
        data = self._read_json(self.session_path)
        if data is None:
            return None
        try:
            return Session.from_json(data)
        except RecordDamaged as exc:
            raise damaged(self.session_path, exc.field) from None

    def save_session(self, session: Session) -> None:
        """Write the session (atomic, 0600)."""
        self._write_json(self.session_path, session.to_json())

    def clear_session(self) -> None:
        """Forget the session on this PC, and the agent handle kept for it (that first; the
        caller has told the agent to end)."""
        self.remove_agent_handle()
        with contextlib.suppress(FileNotFoundError):
            self.session_path.unlink()

    # -- setting 2: the key agent kept for the login session ------------------------------

    def load_agent_handle(self) -> AgentHandle | None:
        """The handle of this login's key agent, or ``None`` (also for a damaged file: the
        next order then asks for the password, as without an agent)."""
        try:
            data = self._read_json(self.session_agent_path)
            return None if data is None else AgentHandle.from_json(data)
        except (StoreUnusable, KeyError, TypeError, ValueError):
            return None

    def save_agent_handle(self, handle: AgentHandle) -> None:
        """Write the agent handle (atomic, 0600), replacing an earlier one."""
        self._write_json(self.session_agent_path, handle.to_json())

    def remove_agent_handle(self) -> None:
        """Delete the agent handle, if any (logout, login), and an older version's sealed key."""
        for path in (self.session_agent_path, self.home / SESSION_KEY_FILE):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                fsync_directory(self.home)

    # -- pending key ----------------------------------------------------------------------

    def load_pending(self, customer_id: str) -> Pending | None:
        """The apply or renewal in flight, if any.

        A process killed after the new PFX replaced the old one but before the pending file
        was removed leaves a record whose work is done: its CSR's key is the installed
        certificate's key. Such a record is removed here and ``None`` returned.
        """
        data = self._read_json(self.pending_path(customer_id))
        if data is None:
            return None
        try:
            pending = Pending.from_json(data)
        except RecordDamaged as exc:
            raise damaged(self.pending_path(customer_id), exc.field) from None
        try:
            csr = x509.load_pem_x509_csr(pending.csr_pem.encode("ascii"))
        except ValueError:  # not a CSR, or not ASCII
            raise damaged(self.pending_path(customer_id), "csr_pem") from None
        installed = self.local_certificate(customer_id).cert
        if installed is not None and public_key_fingerprint(
            installed.public_key()
        ) == public_key_fingerprint(csr.public_key()):
            self.remove_pending(customer_id)
            return None
        return pending

    def save_pending(self, pending: Pending) -> None:
        """Write the pending record (atomic, 0600) before its request leaves."""
        self._write_json(self.pending_path(pending.customer_id), pending.to_json())

    def seal_pending_key(self, key: PrivateKey, password: str) -> bytes:
        """``key`` sealed under ``password`` with this store's PFX iteration count."""
        return seal_private_key(key, password, iterations=self.pfx_iterations)

    def remove_pending(self, customer_id: str) -> None:
        """Remove the pending record once its certificate is installed."""
        with contextlib.suppress(FileNotFoundError):
            self.pending_path(customer_id).unlink()
        fsync_directory(self.home)

    # -- the PFX --------------------------------------------------------------------------

    def read_pfx_bytes(self, customer_id: str) -> bytes:
        """The bytes of ``<ID>.pfx``, or ``NoLocalCertificate``."""
        path = self.pfx_path(customer_id)
        if not path.is_file():
            raise NoLocalCertificate(msg("store.no_pfx", path=path))
        return read_file_limited(path, MAX_PFX_BYTES)

    def open_pfx(self, customer_id: str, password: str) -> LoadedPfx:
        """Open ``<ID>.pfx`` with ``password``; reading changes nothing in the store."""
        data = self.read_pfx_bytes(customer_id)
        loaded = load_pfx(data, password)
        if loaded.customer_id != customer_id:
            raise PfxInvalid(
                msg("pfx.wrong_customer", cn=loaded.customer_id, id=customer_id),
                code=ClientCode.PFX_WRONG_CUSTOMER,
            )
        return loaded

    def build_pfx(
        self,
        *,
        customer_id: str,
        key: PrivateKey,
        cert: x509.Certificate,
        chain: tuple[x509.Certificate, ...] | list[x509.Certificate],
        password: str,
    ) -> bytes:
        """A PFX in this store's profile (``sync_client.pfx``, with this store's iterations)."""
        return build_pfx(
            customer_id=customer_id,
            key=key,
            cert=cert,
            chain=chain,
            password=password,
            iterations=self.pfx_iterations,
        )

    def install_pfx(self, customer_id: str, pfx_bytes: bytes, password: str) -> LoadedPfx:
        """Make ``pfx_bytes`` the store's ``<ID>.pfx`` without ever losing a working file.

        Steps (the names are the test hook's checkpoints): write ``.<ID>.pfx.new``
        (``pfx-staged``); re-open it from disk with ``password``; register both files; rename
        it over ``<ID>.pfx`` and fsync the folder (``pfx-replaced``); forget the old file.
        """
        staging = self.staging_path(customer_id)
        self._write(staging, pfx_bytes)
        self.checkpoint("pfx-staged")
        try:
            loaded = load_pfx(read_file_limited(staging, MAX_PFX_BYTES), password)
            if loaded.customer_id != customer_id:
                raise PfxInvalid(
                    msg("pfx.wrong_customer", cn=loaded.customer_id, id=customer_id),
                    code=ClientCode.PFX_WRONG_CUSTOMER,
                )
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                staging.unlink()
            raise
        digest = sha256_hex(pfx_bytes)
        self._register(customer_id, {digest: loaded.cert}, keep_old=True)
        try:
            os.replace(staging, self.pfx_path(customer_id))
        except OSError as exc:
            raise StoreUnusable(
                msg("store.cannot_write", path=self.pfx_path(customer_id), reason=os_reason(exc))
            ) from exc
        fsync_directory(self.home)
        self.checkpoint("pfx-replaced")
        self._register(customer_id, {digest: loaded.cert}, keep_old=False)
        return loaded

    def _register(
        self, customer_id: str, certs: Mapping[str, x509.Certificate], *, keep_old: bool
    ) -> None:
        settings = self.load_settings()
        old = settings.registered.get(customer_id)
        known: dict[str, str] = dict(old.certificates) if (old and keep_old) else {}
        for digest, cert in certs.items():
            known[digest] = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
        registration = Registration(str(self.pfx_path(customer_id)), known)
        if old == registration:
            return
        registered = dict(settings.registered)
        registered[customer_id] = registration
        self.save_settings(replace(settings, registered=registered))

    def local_certificate(self, customer_id: str) -> LocalCertificate:
        """The registered certificate of ``<ID>.pfx``, read without the password."""
        path = self.pfx_path(customer_id)
        if not path.is_file():
            return LocalCertificate(path, present=False, cert=None)
        digest = sha256_hex(read_file_limited(path, MAX_PFX_BYTES))
        registration = self.load_settings().registered.get(customer_id)
        pem = registration.certificates.get(digest) if registration else None
        try:
            cert = x509.load_pem_x509_certificate(pem.encode("ascii")) if pem else None
        except ValueError:
            raise damaged(self.settings_path, "registered") from None
        return LocalCertificate(path, present=True, cert=cert)
