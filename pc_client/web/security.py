"""The defences of a web service on the customer's own PC (the known attacks on such services).

A page on any other site the customer visits can make the browser send requests to
``127.0.0.1``; a DNS name that an attacker points at 127.0.0.1 can even make them same-origin
for that name. So every request passes ``LocalGuard`` before any route sees it:

    peer      the TCP peer is the loopback address (the socket is bound there; belt and braces)
    Host      exactly ``127.0.0.1:PORT`` or ``localhost:PORT``: a rebound DNS name is refused
    Origin    on every request that is not GET/HEAD, this service's own origin, and
              ``Sec-Fetch-Site`` (when the browser sends it) ``same-origin``: CSRF is refused
    cookie    the launch cookie, except on ``/launch/<secret>``

The launch: ``pc-client ui`` prints and opens ``/launch/<secret>`` (256 random bits, new on
every start). ``LaunchGate.exchange`` accepts that secret once and answers with a session
token, set as an ``HttpOnly; SameSite=Strict`` cookie named after the port (cookies are not
kept apart by port, so two launches must not share a name); the browser is then sent to ``/``
and the secret in its history is worthless. Every answer carries a strict CSP (no inline
script or style, nothing from elsewhere, no framing), ``Cache-Control: no-store`` (pages show
certificate data and the QR image holds a key), ``nosniff`` and ``Referrer-Policy:
same-origin`` (see ``SECURITY_HEADERS`` for why not ``no-referrer``).

A refusal is a short page in the customer's language, status 403 (400 for a bad Host), and
the route is never reached: nothing changes.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import threading
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pc_client.messages import N_, msg
from sync_client.i18n import Language, use_language

COOKIE_PREFIX: Final = "certsync_ui_"
LAUNCH_PATH: Final = "/launch/"
LOOPBACK_PEERS: Final = frozenset({"127.0.0.1", "::1"})
SAFE_METHODS: Final = frozenset({"GET", "HEAD"})

# Why a request is refused (catalogue ids; the page shows the sentence).
REFUSED_PEER: Final = N_("web.refused.peer")
REFUSED_HOST: Final = N_("web.refused.host")
REFUSED_ORIGIN: Final = N_("web.refused.origin")
REFUSED_COOKIE: Final = N_("web.refused.cookie")

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    # Not "no-referrer": with it, Chromium sends ``Origin: null`` on the page's own form posts,
    # and the Origin check above could not tell them from a sandboxed attacker's. With
    # "same-origin" no referrer ever leaves the service, and the Origin is the real one.
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


def cookie_name(port: int) -> str:
    """The launch cookie's name for the service on ``port``."""
    return f"{COOKIE_PREFIX}{port}"


def allowed_hosts(port: int) -> frozenset[str]:
    """The ``Host`` header values this service answers: the loopback address and port."""
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def allowed_origins(port: int) -> frozenset[str]:
    """The ``Origin`` values of this service's own pages."""
    return frozenset(f"http://{host}" for host in allowed_hosts(port))


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class LaunchGate:
    """The launch secret, usable once, and the session tokens it was exchanged for.

    Only digests are kept, compared in constant time. Thread-safe: routes run in a pool.
    """

    def __init__(self, launch_secret: str) -> None:
        self._secret = _digest(launch_secret)
        self._used = False
        self._tokens: set[bytes] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LaunchGate(used={self._used})"

    def exchange(self, candidate: str) -> str | None:
        """The session token for the right secret, the first time only; else ``None``."""
        with self._lock:
            if self._used or not hmac.compare_digest(_digest(candidate), self._secret):
                return None
            self._used = True
            token = secrets.token_urlsafe(32)
            self._tokens.add(_digest(token))
            return token

    def is_launch_secret(self, candidate: str) -> bool:
        """Whether ``candidate`` is the launch secret (used or not)."""
        return hmac.compare_digest(_digest(candidate), self._secret)

    def admits(self, token: str | None) -> bool:
        """Whether ``token`` (the cookie's value) was handed out by ``exchange``."""
        if not token:
            return False
        wanted = _digest(token)
        with self._lock:
            return any(hmac.compare_digest(wanted, known) for known in self._tokens)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is no cookie at all
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def refusal_of(scope: Scope, *, port: int, gate: LaunchGate, check_peer: bool) -> str | None:
    """Why this request is refused (a catalogue id), or ``None`` when it may pass."""
    client = scope.get("client")
    if check_peer and (client is None or client[0] not in LOOPBACK_PEERS):
        return REFUSED_PEER
    host = (_header(scope, b"host") or "").lower()
    if host not in allowed_hosts(port):
        return REFUSED_HOST
    if scope.get("method", "GET") not in SAFE_METHODS:
        origin = (_header(scope, b"origin") or "").lower()
        fetch_site = _header(scope, b"sec-fetch-site")
        if origin not in allowed_origins(port) or fetch_site not in (None, "same-origin"):
            return REFUSED_ORIGIN
    path = str(scope.get("path", ""))
    if path.startswith(LAUNCH_PATH) and scope.get("method") in SAFE_METHODS:
        return None  # the route itself decides about the secret
    if not gate.admits(_cookie(scope, cookie_name(port))):
        return REFUSED_COOKIE
    return None


def _refusal_page(message_id: str) -> bytes:
    """The refusal as a small page; no template, no asset (it may be an attacker's request)."""
    title = html.escape(msg("web.refused.title"))
    text = html.escape(msg(message_id))
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1><p>{text}</p></body></html>"
    ).encode()


class LocalGuard:
    """ASGI middleware: refuse what ``refusal_of`` refuses; add the security headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        port: int,
        gate: LaunchGate,
        language: Callable[[], Language],
        check_peer: bool = True,
    ) -> None:
        self.app = app
        self.port = port
        self.gate = gate
        self.language = language
        self.check_peer = check_peer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            return
        with use_language(self.language()):
            reason = refusal_of(scope, port=self.port, gate=self.gate, check_peer=self.check_peer)
            if reason is not None:
                await self._refuse(send, reason)
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    names = {name for name, _ in SECURITY_HEADERS}
                    headers = [(k, v) for k, v in message.get("headers", []) if k not in names]
                    message = {**message, "headers": [*headers, *SECURITY_HEADERS]}
                await send(message)

            await self.app(scope, receive, send_with_headers)

    async def _refuse(self, send: Send, reason: str) -> None:
        body = _refusal_page(reason)
        status = 400 if reason == REFUSED_HOST else 403
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            *SECURITY_HEADERS,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
