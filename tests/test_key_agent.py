"""``sync_client.key_agent``: the process that holds setting 2's key in memory only.

Real agents (``python -m sync_client.key_agent``) on real Unix sockets; the other user is a
forked child that drops to uid 65534 (the suite runs as root). ``no_agents_left`` (autouse)
ends whatever a test leaves behind.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from agent_support import agent_alive, wait_until_gone
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sync_client.errors import SessionKeyInvalid
from sync_client.key_agent import (
    ORDER_PREFIX,
    AgentHandle,
    agent_key,
    check_agent,
    private_dir,
    runtime_base,
    sign_with_agent,
    start_agent,
    stop_agent,
    stop_reason,
)
from sync_client.keys import PrivateKey, generate_private_key, sign, verify
from sync_client.protocol import ORDER_DOMAIN, RENEWAL_DOMAIN

FINGERPRINT = "ab" * 32
MESSAGE = ORDER_DOMAIN.encode() + b'\n{"quantity":1,"side":"buy","symbol":"2330"}'
NOBODY = 65534


def _start(key: PrivateKey, *, seconds: float = 600, idle: float = 600) -> AgentHandle:
    return start_agent(
        key,
        cert_fingerprint=FINGERPRINT,
        expires_at=datetime.now(UTC) + timedelta(seconds=seconds),
        idle_seconds=idle,
    )


@pytest.fixture(scope="module")
def ec_key() -> PrivateKey:
    return generate_private_key("ec")


def test_the_agent_signs_orders_for_its_certificate(ec_key: PrivateKey) -> None:
    handle = _start(ec_key)
    check_agent(handle, cert_fingerprint=FINGERPRINT)

    signature = sign_with_agent(handle, MESSAGE, cert_fingerprint=FINGERPRINT)
    assert verify(ec_key.public_key(), signature, MESSAGE)
    # Through the key object that the order code signs with, as with a key in memory.
    held = agent_key(handle, ec_key.public_key(), cert_fingerprint=FINGERPRINT)
    assert verify(ec_key.public_key(), sign(held, MESSAGE), MESSAGE)
    with pytest.raises(TypeError):
        held.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    assert "agent" in repr(held) and "nonce" not in repr(handle)


def test_an_rsa_key_signs_too() -> None:
    key = generate_private_key("rsa")
    assert isinstance(key, rsa.RSAPrivateKey)
    handle = _start(key)
    held = agent_key(handle, key.public_key(), cert_fingerprint=FINGERPRINT)
    assert verify(key.public_key(), sign(held, MESSAGE), MESSAGE)


def test_refusals_change_nothing(ec_key: PrivateKey) -> None:
    handle = _start(ec_key)
    wrong_nonce = AgentHandle(handle.socket_path, os.urandom(32), handle.pid)
    for refused in (
        lambda: sign_with_agent(wrong_nonce, MESSAGE, cert_fingerprint=FINGERPRINT),
        lambda: stop_agent(wrong_nonce) or (_ for _ in ()).throw(SessionKeyInvalid("x")),
        lambda: sign_with_agent(handle, MESSAGE, cert_fingerprint="cd" * 32),  # another cert
        lambda: sign_with_agent(
            handle, b"certsync-renewal-v1\nc\nn\nh", cert_fingerprint=FINGERPRINT
        ),
        lambda: sign_with_agent(handle, b"anything", cert_fingerprint=FINGERPRINT),
    ):
        with pytest.raises(SessionKeyInvalid) as caught:
            refused()
        assert caught.value.code == "session_key_invalid"
    assert agent_alive(handle.pid)  # still there, still signing
    assert verify(
        ec_key.public_key(),
        sign_with_agent(handle, MESSAGE, cert_fingerprint=FINGERPRINT),
        MESSAGE,
    )


def _raw_call(path: str, request: Mapping[str, object]) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(5)
        conn.connect(path)
        conn.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
    answer = json.loads(data)
    assert isinstance(answer, dict)
    return answer


def _as_nobody(path: str, request: Mapping[str, object]) -> str:
    """What a process of another user gets from the agent: its answer's code, or the OS error."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, ask, report through the pipe, never return
        os.close(read)
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            outcome = str(_raw_call(path, request).get("error", "signed"))
        except OSError as exc:
            outcome = f"oserror:{exc.errno}"
        except BaseException:
            outcome = "crash"
        os.write(write, outcome.encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        return pipe.read().decode()


def test_another_user_is_refused(ec_key: PrivateKey) -> None:
    assert os.getuid() == 0, "needs root to become another user"
    handle = _start(ec_key)
    request = {
        "op": "sign",
        "nonce": base64.b64encode(handle.nonce).decode(),  # even with the nonce
        "fingerprint": FINGERPRINT,
        "message": base64.b64encode(MESSAGE).decode(),
    }
    folder = Path(handle.socket_path).parent
    assert private_dir(folder) and (os.stat(handle.socket_path).st_mode & 0o777) == 0o600

    # The folder is 0700: another user cannot even reach the socket.
    assert _as_nobody(handle.socket_path, request) == "oserror:13"
    # Opened up by mistake, the agent itself still refuses by the caller's uid (SO_PEERCRED).
    for opened in (folder.parent, folder):
        os.chmod(opened, 0o711)  # noqa: S103 (opened on purpose, closed again below)
    os.chmod(handle.socket_path, 0o777)  # noqa: S103 (as above)
    try:
        assert _as_nobody(handle.socket_path, request) == "unauthenticated"
    finally:
        for opened in (folder.parent, folder):
            os.chmod(opened, 0o700)
        os.chmod(handle.socket_path, 0o600)
    # Nothing changed: the owner still signs; and a handle whose folder is not private is refused.
    assert _raw_call(handle.socket_path, request).get("ok") is True
    os.chmod(folder, 0o755)  # noqa: S103 (a folder others can read: refused)
    try:
        with pytest.raises(SessionKeyInvalid):
            check_agent(handle, cert_fingerprint=FINGERPRINT)
    finally:
        os.chmod(folder, 0o700)


def test_the_agent_ends_at_logout(ec_key: PrivateKey) -> None:
    handle = _start(ec_key)
    assert stop_agent(handle) is True
    assert wait_until_gone(handle.pid)
    assert not Path(handle.socket_path).parent.exists()
    assert stop_agent(handle) is False  # already gone: not an error
    with pytest.raises(SessionKeyInvalid):
        sign_with_agent(handle, MESSAGE, cert_fingerprint=FINGERPRINT)


def test_the_agent_ends_when_the_session_expires(ec_key: PrivateKey) -> None:
    handle = _start(ec_key, seconds=1.5)
    check_agent(handle, cert_fingerprint=FINGERPRINT)
    assert wait_until_gone(handle.pid, seconds=10)
    assert not Path(handle.socket_path).parent.exists()


def test_the_agent_ends_when_idle_and_use_keeps_it(ec_key: PrivateKey) -> None:
    handle = _start(ec_key, idle=1.5)
    for _ in range(3):  # used more often than the idle timeout: it stays
        time.sleep(0.7)
        check_agent(handle, cert_fingerprint=FINGERPRINT)
    assert wait_until_gone(handle.pid, seconds=10)
    with pytest.raises(SessionKeyInvalid):
        check_agent(handle, cert_fingerprint=FINGERPRINT)


def test_the_agent_ends_when_its_folder_is_removed(ec_key: PrivateKey) -> None:
    handle = _start(ec_key)
    Path(handle.socket_path).unlink()
    assert wait_until_gone(handle.pid)


def test_stop_reason_rules() -> None:
    kwargs = {"last_used": 100.0, "expires_at": 1000.0, "idle_seconds": 60.0}
    assert stop_reason(now=150.0, **kwargs) is None
    assert stop_reason(now=160.0, **kwargs) == "idle"
    assert stop_reason(now=1000.0, **{**kwargs, "last_used": 990.0}) == "expired"


def _key_forms(key: PrivateKey) -> list[bytes]:
    forms = []
    for encoding in (serialization.Encoding.DER, serialization.Encoding.PEM):
        for fmt in (
            serialization.PrivateFormat.PKCS8,
            serialization.PrivateFormat.TraditionalOpenSSL,
        ):
            forms.append(key.private_bytes(encoding, fmt, serialization.NoEncryption()))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        forms.append(key.private_numbers().private_value.to_bytes(32, "big"))
    forms.extend(base64.b64encode(form) for form in list(forms))
    return forms


def test_the_key_is_in_no_file(ec_key: PrivateKey, no_agents_left: Path) -> None:
    handle = _start(ec_key)
    sign_with_agent(handle, MESSAGE, cert_fingerprint=FINGERPRINT)
    files = [p for p in no_agents_left.rglob("*") if p.is_file()]
    assert files  # the pid file at least
    data = b"".join(p.read_bytes() for p in files)
    for form in _key_forms(ec_key):
        assert form not in data


def test_the_runtime_folder_must_be_private(tmp_path: Path) -> None:
    mine = tmp_path / "run"
    mine.mkdir(mode=0o700)
    assert runtime_base({"XDG_RUNTIME_DIR": str(mine)}) == mine
    mine.chmod(0o755)
    assert runtime_base({"XDG_RUNTIME_DIR": str(mine)}) != mine  # refused: the temp folder
    assert runtime_base({"XDG_RUNTIME_DIR": "relative/run"}) != Path("relative/run")
    link = tmp_path / "link"
    mine.chmod(0o700)
    link.symlink_to(mine)
    assert not private_dir(link)


def test_the_agent_accepts_the_current_order_domain() -> None:
    assert ORDER_DOMAIN.encode().startswith(ORDER_PREFIX)
    assert not RENEWAL_DOMAIN.encode().startswith(ORDER_PREFIX)
