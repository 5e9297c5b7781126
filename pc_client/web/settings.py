"""What one launch of the page is given, read once: ``WebSettings``.

``pc-client ui`` builds it after binding its socket (the port is known only then); tests build
it directly, with an injected ``http`` client (Starlette's ``TestClient`` of the real server)
and an ``on_close`` that records the call instead of stopping uvicorn.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx2

from pc_client.app import Options
from sync_client.i18n import Language


def new_launch_secret() -> str:
    """A fresh secret for the launch URL: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _nothing() -> None:
    return None


@dataclass(frozen=True, repr=False)
class WebSettings:
    """One launch: the CLI's options (store, server), where the page listens, its secret.

    ``port`` is the port the socket is bound to on 127.0.0.1; the ``Host`` and ``Origin``
    checks accept exactly that port. ``language`` is the page's language at launch (the
    switch on the page changes it afterwards). ``on_close`` stops the service (關閉視窗).
    """

    options: Options
    port: int
    language: Language
    launch_secret: str = field(default_factory=new_launch_secret)
    http: httpx2.Client | None = None  # tests only: the server in process
    on_close: Callable[[], None] = _nothing

    def __repr__(self) -> str:
        return f"WebSettings(home={str(self.options.home)!r}, port={self.port}, secret=***)"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the address the browser is sent to."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def launch_url(self) -> str:
        """The one-time URL that opens the page (it holds the launch secret)."""
        return f"{self.base_url}/launch/{self.launch_secret}"
