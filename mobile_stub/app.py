"""What every ``mobile-stub`` command is given: the phone's home, the server, the prompts.

``App`` is one run of the command line, made by the click group from the flags and what
``main`` was handed (``Launch``: the injected ``httpx2.Client`` and standard input of a test,
the environment). A command reads its answers through ``app.prompter`` and returns an
``Answer`` (``app.answer(render_…(…))``); the runner prints it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from mobile_stub.messages import msg
from mobile_stub.render import Rendered
from mobile_stub.store import PhoneHome
from sync_client.cli_runner import Answer
from sync_client.errors import WrongServer
from sync_client.prompts import Prompter

# The heavy modules (httpx2 and the SDK's client) are imported inside the methods that use
# them, so that `mobile-stub --help` starts fast.
if TYPE_CHECKING:
    import httpx2

    from mobile_stub.session import PhoneSession
    from sync_client.api import SyncClient

SERVER_ENV = "MOBILE_STUB_SERVER"
LANG_ENV = "MOBILE_STUB_LANG"
DEFAULT_SERVER = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class App:
    """What every command needs: the phone's home, how to reach the server, the prompts."""

    home: PhoneHome
    server_flag: str | None
    as_json: bool
    http: httpx2.Client | None  # injected by tests (Starlette's TestClient); else per command
    environ: Mapping[str, str]
    prompter: Prompter
    insecure_http: bool = False  # --insecure-http: plain http:// to another computer allowed

    def login_server(self) -> str:
        """``--server`` (checked by the group), else ``$MOBILE_STUB_SERVER`` (checked here),
        else the default; ``ServerUrlInvalid`` for an address that cannot be used."""
        from sync_client.server_url import check_server_url

        if self.http is not None:
            return str(self.http.base_url).rstrip("/")
        chosen = self.server_flag or self.environ.get(SERVER_ENV, "") or DEFAULT_SERVER
        return check_server_url(chosen, insecure_http=self.insecure_http)

    @property
    def ca_pin_path(self) -> Path:
        """Where the phone keeps the CA fingerprints it trusts (``sync_client.pinning``)."""
        from sync_client.pinning import PIN_FILE_NAME

        return self.home.root / PIN_FILE_NAME

    @contextmanager
    def connect(
        self, server_url: str, token: str | None = None, *, verify_ca: bool = True
    ) -> Iterator[SyncClient]:
        """A client for ``server_url``; an injected ``httpx2.Client`` is used and left open.

        A server the phone has pinned must still show the pinned CA (``CaChanged``) before
        anything else is sent; ``verify_ca=False`` only for login, which checks it itself.
        """
        from sync_client.api import SyncClient
        from sync_client.pinning import verify_pinned_ca

        if self.http is not None:
            client = SyncClient(self.http, token=token)
            if verify_ca:
                verify_pinned_ca(client, self.ca_pin_path, server_url)
            yield client
            return
        with SyncClient.connect(server_url, token=token) as client:
            if verify_ca:
                verify_pinned_ca(client, self.ca_pin_path, server_url)
            yield client

    @contextmanager
    def session_client(self) -> Iterator[tuple[PhoneSession, SyncClient]]:
        """The phone's session and a client on *its* server (the token goes nowhere else)."""
        from mobile_stub.session import require_session
        from sync_client.pairing import same_server

        session = require_session(self.home)
        if self.server_flag is not None and not same_server(self.server_flag, session.server_url):
            raise WrongServer(
                msg(
                    "phone.error.wrong_server",
                    session_server=session.server_url,
                    server=self.server_flag,
                )
            )
        with self.connect(session.server_url, session.token) as client:
            yield session, client

    def secret(self, label: str) -> str:
        """The answer to the prompt ``label`` (``msg("phone.prompt.…")``), hidden on a
        terminal."""
        return self.prompter.secret(label)

    @staticmethod
    def answer(rendered: Rendered) -> Answer:
        """A command's result as the runner prints it: its JSON object, or its text."""
        data, text = rendered
        return Answer(data, [text])


@dataclass
class Launch:
    """What ``main`` hands to the click group, and what it learns back from it."""

    http: httpx2.Client | None
    environ: Mapping[str, str]
    stdin: TextIO | None = None
    app: App | None = None
    language: str | None = None  # --lang, once click has parsed it


pass_app = click.make_pass_decorator(App)
