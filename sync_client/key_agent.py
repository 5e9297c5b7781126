"""Security setting 2 between processes: a key agent that holds the unlocked key in memory only.

Setting 2 asks for the PFX password on the first order of a login and not again until logout.
``pc-client`` runs one process per command, so the key must outlive the command that unlocked
it, and nothing on disk may open it (a copy of the store folder, a backup). So the first order
starts this agent (``python -m sync_client.key_agent``), a detached process that receives the
key through a pipe, keeps it in its memory, and signs order bytes on request; it never hands the
key out. The store keeps only a *handle* (``AgentHandle``: the socket's path, a 256-bit nonce
and the agent's pid), which opens nothing without the running agent.

    runtime dir  $XDG_RUNTIME_DIR (when it is ours and 0700), else the temporary folder;
                 in it a fresh 0700 folder with a random name, outside the store folder
    socket       <that folder>/agent.sock (0600), a Unix-domain stream socket
    request      one JSON line: {"op": "check"|"sign"|"stop", "nonce": b64, ...}
    answer       one JSON line: {"ok": true, ...} or {"error": <code>}

Who may ask: a caller whose ``SO_PEERCRED`` uid is the agent's own and who sends the nonce.
What it signs: only bytes in the order domain (``certsync-order-…``), and only for the
certificate it was started for, so it cannot be made to sign a renewal proof. When it ends:
on ``stop`` (logout, a new login), at the session's expiry, after ``idle_seconds`` without a
request, when its socket is removed, on SIGTERM, and with the machine (a reboot). It removes
its folder as it goes. The threat model is in docs/PROTOCOL.md ("Security setting 2").
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding, PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import NoDigestInfo, Prehashed
from cryptography.utils import Buffer

from sync_client.codes import ErrorCode
from sync_client.errors import ClientCode, SessionKeyInvalid
from sync_client.i18n import N_, msg
from sync_client.keys import PrivateKey, sign

DEFAULT_IDLE_SECONDS = 30 * 60.0
TICK_SECONDS = 0.5
IO_TIMEOUT_SECONDS = 5.0
START_TIMEOUT_SECONDS = 15.0
MAX_LINE_BYTES = 64 * 1024
NONCE_BYTES = 32
SOCKET_NAME = "agent.sock"
PID_NAME = "agent.pid"
DIR_PREFIX = "certsync-agent-"
# Both the v1 and any later order domain (``sync_client.protocol.ORDER_DOMAIN``) start so.
ORDER_PREFIX = b"certsync-order-"
_INVALID = N_("sdk.session_key.invalid")
_PEERCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


# -- the handle kept in the store ------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class AgentHandle:
    """How a later process reaches the agent. Useless without the running agent."""

    socket_path: str
    nonce: bytes
    pid: int

    def __repr__(self) -> str:
        return f"AgentHandle(socket_path={self.socket_path!r}, pid={self.pid})"

    def to_json(self) -> dict[str, Any]:
        return {
            "socket": self.socket_path,
            "nonce": base64.b64encode(self.nonce).decode("ascii"),
            "pid": self.pid,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AgentHandle:
        """Raises ``ValueError`` (or ``KeyError``/``TypeError``) for a damaged handle."""
        nonce = base64.b64decode(str(data["nonce"]), validate=True)
        if len(nonce) != NONCE_BYTES:
            raise ValueError("agent nonce length")
        return cls(str(data["socket"]), nonce, int(data["pid"]))


# -- rules (pure) ----------------------------------------------------------------------------


def stop_reason(
    *, now: float, last_used: float, expires_at: float, idle_seconds: float
) -> str | None:
    """Why the agent must end at ``now``, or ``None`` while it may keep the key."""
    if now >= expires_at:
        return "expired"
    if now - last_used >= idle_seconds:
        return "idle"
    return None


def private_dir(path: Path, *, uid: int | None = None) -> bool:
    """Whether ``path`` is a real folder (no symlink) owned by ``uid`` that no one else can
    enter or write (mode ``0o700`` or stricter)."""
    try:
        info = path.lstat()
    except OSError:
        return False
    owner = os.getuid() if uid is None else uid
    return stat.S_ISDIR(info.st_mode) and info.st_uid == owner and info.st_mode & 0o077 == 0


def runtime_base(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_RUNTIME_DIR`` when it is a private folder of ours, else the temporary folder
    (where ``mkdtemp`` still makes a private folder with an unguessable name)."""
    raw = (os.environ if environ is None else environ).get("XDG_RUNTIME_DIR", "")
    if raw and Path(raw).is_absolute() and private_dir(Path(raw)):
        return Path(raw)
    return Path(tempfile.gettempdir())


# -- the agent process -----------------------------------------------------------------------


@dataclass(repr=False)
class _Agent:
    key: PrivateKey
    nonce: bytes
    fingerprint: str
    expires_at: float
    idle_seconds: float
    last_used: float

    def answer(self, request: object, *, peer_uid: int, now: float) -> tuple[dict[str, Any], bool]:
        """The answer to one request and whether to stop afterwards (pure but for signing)."""
        if peer_uid != os.getuid():
            return {"error": ErrorCode.UNAUTHENTICATED.value}, False
        if not isinstance(request, dict) or not isinstance(request.get("nonce"), str):
            return {"error": ErrorCode.BAD_REQUEST.value}, False
        try:
            nonce = base64.b64decode(request["nonce"], validate=True)
        except ValueError:
            return {"error": ErrorCode.BAD_REQUEST.value}, False
        if not hmac.compare_digest(nonce, self.nonce):
            return {"error": ErrorCode.UNAUTHENTICATED.value}, False
        op = request.get("op")
        if op == "stop":
            return {"ok": True}, True
        if op not in ("check", "sign"):
            return {"error": ErrorCode.BAD_REQUEST.value}, False
        if request.get("fingerprint") != self.fingerprint:
            return {"error": ClientCode.SESSION_KEY_INVALID.value}, False
        if op == "check":
            self.last_used = now
            return {"ok": True}, False
        try:
            message = base64.b64decode(str(request.get("message", "")), validate=True)
        except ValueError:
            return {"error": ErrorCode.BAD_REQUEST.value}, False
        if not message.startswith(ORDER_PREFIX):
            return {"error": ErrorCode.BAD_REQUEST.value}, False
        self.last_used = now
        signature = sign(self.key, message)
        return {"ok": True, "signature": base64.b64encode(signature).decode("ascii")}, False


def _harden() -> None:
    """No core dump, and (Linux) no ptrace or /proc/<pid>/mem for other processes of the user."""
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            pr_set_dumpable = 4
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_dumpable, 0, 0, 0, 0)


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data and len(data) <= MAX_LINE_BYTES:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def _serve_one(agent: _Agent, conn: socket.socket, clock: Callable[[], float]) -> bool:
    conn.settimeout(IO_TIMEOUT_SECONDS)
    _, peer_uid, _ = _PEERCRED.unpack(
        conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    )
    line = _read_line(conn)  # read even a stranger's, so that the answer is not reset
    request: object = None
    if peer_uid == os.getuid():  # a stranger's bytes are not even parsed
        try:
            request = json.loads(line) if len(line) <= MAX_LINE_BYTES else None
        except ValueError:
            request = None
    reply, stop = agent.answer(request, peer_uid=peer_uid, now=clock())
    conn.sendall(json.dumps(reply).encode("ascii") + b"\n")
    return stop


def _serve(agent: _Agent, listener: socket.socket, sock_path: Path) -> None:
    inode = sock_path.lstat().st_ino
    listener.settimeout(TICK_SECONDS)
    while True:
        now = time.time()
        if stop_reason(
            now=now,
            last_used=agent.last_used,
            expires_at=agent.expires_at,
            idle_seconds=agent.idle_seconds,
        ):
            return
        try:
            if sock_path.lstat().st_ino != inode:
                return  # someone removed or replaced our socket: end rather than linger
        except OSError:
            return
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn:
            try:
                if _serve_one(agent, conn, time.time):
                    return
            except OSError:
                continue


def _on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_agent(stdin: Any, stdout: Any) -> int:
    """The agent's body: read its start-up line, listen, detach, serve, clean up."""
    _harden()
    os.umask(0o077)
    raw = stdin.buffer.read(MAX_LINE_BYTES + 1)
    try:
        config = json.loads(raw)
        key = serialization.load_der_private_key(base64.b64decode(config["key"]), password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            return 2
        agent = _Agent(
            key=key,
            nonce=base64.b64decode(config["nonce"]),
            fingerprint=str(config["fingerprint"]),
            expires_at=float(config["expires_at"]),
            idle_seconds=float(config["idle_seconds"]),
            last_used=time.time(),
        )
        base = Path(str(config["base"]))
    except (ValueError, KeyError, TypeError):
        return 2
    del raw, config
    folder = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=base))
    sock_path = folder / SOCKET_NAME
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(sock_path))
        os.chmod(sock_path, 0o600)
        listener.listen(8)
        if os.fork() != 0:
            os._exit(0)  # the starter waits for this one; the grandchild is the agent
        os.setsid()
        signal.signal(signal.SIGTERM, _on_sigterm)
        (folder / PID_NAME).write_text(f"{os.getpid()}\n")
        stdout.write(json.dumps({"socket": str(sock_path), "pid": os.getpid()}) + "\n")
        stdout.flush()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        _serve(agent, listener, sock_path)
    finally:
        listener.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


# -- the client side -------------------------------------------------------------------------


def agent_supported() -> bool:
    """Whether this system has what the agent needs: Unix sockets that name the peer's uid
    (``SO_PEERCRED``, Linux). Elsewhere no agent starts, and setting 2 asks on every order
    rather than keep the key anywhere weaker."""
    return hasattr(socket, "AF_UNIX") and hasattr(socket, "SO_PEERCRED") and hasattr(os, "fork")


def start_agent(
    key: PrivateKey,
    *,
    cert_fingerprint: str,
    expires_at: datetime,
    idle_seconds: float = DEFAULT_IDLE_SECONDS,
    base: Path | None = None,
) -> AgentHandle:
    """Start an agent holding ``key`` for the certificate ``cert_fingerprint`` until
    ``expires_at`` (the session's end) or ``idle_seconds`` without use.

    The key travels through a pipe, never a file or the command line. Raises
    ``SessionKeyInvalid`` when no agent could be started (the next order then asks again).
    """
    if not agent_supported():
        raise SessionKeyInvalid(msg(_INVALID))
    folder = runtime_base() if base is None else base
    nonce = secrets.token_bytes(NONCE_BYTES)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    config = {
        "key": base64.b64encode(der).decode("ascii"),
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "fingerprint": cert_fingerprint,
        "expires_at": expires_at.timestamp(),
        "idle_seconds": idle_seconds,
        "base": str(folder),
    }
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "sync_client.key_agent"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
        )
    except OSError:
        raise SessionKeyInvalid(msg(_INVALID)) from None
    assert process.stdin is not None and process.stdout is not None
    try:
        with process.stdin:
            process.stdin.write(json.dumps(config).encode("ascii"))
        del config, der
        with process.stdout:
            line = process.stdout.readline(MAX_LINE_BYTES)
        process.wait(timeout=START_TIMEOUT_SECONDS)
        ready = json.loads(line)
        return AgentHandle(str(ready["socket"]), nonce, int(ready["pid"]))
    except (OSError, ValueError, KeyError, TypeError, subprocess.TimeoutExpired):
        with contextlib.suppress(OSError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=START_TIMEOUT_SECONDS)
        raise SessionKeyInvalid(msg(_INVALID)) from None


def _call(handle: AgentHandle, request: dict[str, Any]) -> dict[str, Any]:
    """One request to the agent; ``SessionKeyInvalid`` for any failure or refusal."""
    path = Path(handle.socket_path)
    if not (agent_supported() and path.is_absolute() and private_dir(path.parent)):
        raise SessionKeyInvalid(msg(_INVALID))
    body = {**request, "nonce": base64.b64encode(handle.nonce).decode("ascii")}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(IO_TIMEOUT_SECONDS)
            conn.connect(str(path))
            _, peer_uid, _ = _PEERCRED.unpack(
                conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
            )
            if peer_uid != os.getuid():  # the agent must be ours too
                raise SessionKeyInvalid(msg(_INVALID))
            conn.sendall(json.dumps(body).encode("ascii") + b"\n")
            reply = json.loads(_read_line(conn))
    except (OSError, ValueError):
        raise SessionKeyInvalid(msg(_INVALID)) from None
    if not isinstance(reply, dict) or reply.get("ok") is not True:
        raise SessionKeyInvalid(msg(_INVALID))
    return reply


def check_agent(handle: AgentHandle, *, cert_fingerprint: str) -> None:
    """Whether the agent is alive and holds the key for ``cert_fingerprint``
    (``SessionKeyInvalid`` otherwise). Counts as use for the idle timeout."""
    _call(handle, {"op": "check", "fingerprint": cert_fingerprint})


def sign_with_agent(handle: AgentHandle, message: bytes, *, cert_fingerprint: str) -> bytes:
    """The agent's signature over ``message`` (order bytes), the protocol's way."""
    reply = _call(
        handle,
        {
            "op": "sign",
            "fingerprint": cert_fingerprint,
            "message": base64.b64encode(message).decode("ascii"),
        },
    )
    try:
        return base64.b64decode(str(reply["signature"]), validate=True)
    except (KeyError, ValueError):
        raise SessionKeyInvalid(msg(_INVALID)) from None


def stop_agent(handle: AgentHandle) -> bool:
    """Ask the agent to end now; ``False`` when it was not there (already gone)."""
    try:
        _call(handle, {"op": "stop"})
    except SessionKeyInvalid:
        return False
    return True


# -- a key whose private half is the agent's -------------------------------------------------
#
# ``sync_client.orders.sign_order`` signs with ``sync_client.keys.sign``, which asks a
# cryptography key for ``sign(data, …)`` with the protocol's algorithm. These two classes are
# such keys: they know the public half (from the certificate) and pass ``sign`` to the agent,
# so the order code stays the same whichever way the key was obtained. Everything that would
# reveal the private half refuses.


_NOT_EXPORTABLE = "the private key is held by the key agent and cannot be exported or used so"


class _HeldByAgent:
    """What both agent-backed keys share: nothing of the key can be exported or copied."""

    def __repr__(self) -> str:
        return "<key held by the key agent>"

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        raise TypeError(_NOT_EXPORTABLE)

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[Any, Any]) -> Self:
        return self


class _AgentEcKey(_HeldByAgent, ec.EllipticCurvePrivateKey):
    def __init__(self, handle: AgentHandle, public: ec.EllipticCurvePublicKey, fp: str) -> None:
        self._handle, self._public, self._fp = handle, public, fp

    def sign(self, data: Buffer, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        algorithm = getattr(signature_algorithm, "algorithm", None)
        if not isinstance(signature_algorithm, ec.ECDSA) or not isinstance(
            algorithm, hashes.SHA256
        ):
            raise TypeError("the key agent signs ECDSA with SHA-256 only")
        return sign_with_agent(self._handle, bytes(data), cert_fingerprint=self._fp)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        raise TypeError(_NOT_EXPORTABLE)

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise TypeError(_NOT_EXPORTABLE)


class _AgentRsaKey(_HeldByAgent, rsa.RSAPrivateKey):
    def __init__(self, handle: AgentHandle, public: rsa.RSAPublicKey, fp: str) -> None:
        self._handle, self._public, self._fp = handle, public, fp

    def sign(
        self,
        data: bytes,
        padding: AsymmetricPadding,
        algorithm: Prehashed | hashes.HashAlgorithm | NoDigestInfo,
    ) -> bytes:
        if not isinstance(padding, PKCS1v15) or not isinstance(algorithm, hashes.SHA256):
            raise TypeError("the key agent signs RSA PKCS#1 v1.5 with SHA-256 only")
        return sign_with_agent(self._handle, data, cert_fingerprint=self._fp)

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def decrypt(self, ciphertext: bytes, padding: AsymmetricPadding) -> bytes:
        raise TypeError(_NOT_EXPORTABLE)

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise TypeError(_NOT_EXPORTABLE)


def agent_key(handle: AgentHandle, public_key: object, *, cert_fingerprint: str) -> PrivateKey:
    """A key that signs through the agent ``handle`` for the certificate with ``public_key``."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return _AgentEcKey(handle, public_key, cert_fingerprint)
    if isinstance(public_key, rsa.RSAPublicKey):
        return _AgentRsaKey(handle, public_key, cert_fingerprint)
    raise SessionKeyInvalid(msg(_INVALID))


if __name__ == "__main__":
    sys.exit(run_agent(sys.stdin, sys.stdout))
