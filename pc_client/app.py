"""What every operation and command is given: the options, the store, the server, the prompts.

``Options`` is read once from the flags and the environment (nothing else reads it).
``Context`` wires the store and a ``SyncClient`` from it: it is all that an operation
(``pc_client.operations``) is given, and it has no way to ask the user anything, so an
operation cannot prompt by mistake. ``App`` is a ``Context`` plus the ``Prompter``: one run of
the command line. The local web page builds a ``Context`` of its own. Commands return a
``Result``: a JSON-able dict for ``--json`` and the lines a person reads otherwise; the
command line prints one or the other.

Two environment variables exist for tests only (documented in ``pc-client --help``):

- ``PC_CLIENT_PFX_ITERATIONS``: PBKDF2 iterations of the PFX files and of the sealed pending
  keys written (default 600,000). It can raise the count, never lower it below the floor
  (``sync_client.kdf_floor``, 600,000): only the test suite's in-process hook lowers the floor;
- ``PC_CLIENT_TEST_PAUSE_AT=<step>``: at that named step the process says so on stderr and
  sleeps, so that a test can kill it there (steps: ``pending-written``, ``issued``,
  ``pfx-staged``, ``pfx-replaced``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx2

from pc_client.errors import NotLoggedIn, PcCode
from pc_client.messages import msg
from pc_client.records import Session
from pc_client.store import Store, default_home
from sync_client.api import SyncClient
from sync_client.cli_runner import Answer
from sync_client.display import terminal_is_light
from sync_client.errors import InvalidInput
from sync_client.kdf_floor import require_iterations
from sync_client.pfx import DEFAULT_PFX_ITERATIONS
from sync_client.pinning import (
    PIN_FILE_NAME,
    PinCheck,
    check_server_ca,
    record_pin,
    verify_pinned_ca,
)
from sync_client.prompts import Prompter
from sync_client.server_url import check_server_url

DEFAULT_SERVER_URL = "http://127.0.0.1:8000"
PAUSE_SECONDS = 120.0
CHECKPOINTS = ("pending-written", "issued", "pfx-staged", "pfx-replaced")


@dataclass(frozen=True)
class Options:
    """The run's options: flags first, then the environment, read once."""

    home: Path
    server_url: str | None  # from --server; None: the remembered one, or the default
    as_json: bool = False
    debug: bool = False
    pfx_iterations: int = DEFAULT_PFX_ITERATIONS
    pause_at: str | None = None
    light_terminal: bool | None = None  # from $COLORFGBG: the terminal's background is light
    insecure_http: bool = False  # --insecure-http: plain http:// to another computer allowed

    @classmethod
    def build(
        cls,
        *,
        home: str | None,
        server_url: str | None,
        as_json: bool,
        debug: bool,
        environ: Mapping[str, str],
        insecure_http: bool = False,
    ) -> Options:
        """Flags first, then ``PC_CLIENT_HOME``, then ``~/BTS``. A ``--server`` that is not
        a usable address is ``ServerUrlInvalid`` (``sync_client.server_url``)."""
        raw_home = home or environ.get("PC_CLIENT_HOME", "").strip() or None
        iterations = DEFAULT_PFX_ITERATIONS
        raw_iterations = environ.get("PC_CLIENT_PFX_ITERATIONS", "").strip()
        if raw_iterations:
            if not raw_iterations.isdigit() or int(raw_iterations) < 1:
                raise InvalidInput(
                    msg("options.iterations", value=raw_iterations[:20]),
                    code=PcCode.INVALID_ENVIRONMENT,
                )
            # Below the floor is refused here, before anything is written (exit status 2).
            iterations = require_iterations(int(raw_iterations), setting="PC_CLIENT_PFX_ITERATIONS")
        return cls(
            home=Path(raw_home).expanduser() if raw_home else default_home(),
            server_url=check_server_url(server_url, insecure_http=insecure_http)
            if server_url is not None
            else None,
            as_json=as_json,
            debug=debug,
            pfx_iterations=iterations,
            pause_at=environ.get("PC_CLIENT_TEST_PAUSE_AT", "").strip() or None,
            light_terminal=terminal_is_light(environ),
            insecure_http=insecure_http,
        )


# What a command answers: ``data`` for ``--json``, ``lines`` for a person, and an exit status
# (non-zero: the command ran but reports a problem, as ``doctor`` does). The runner prints it.
Result = Answer


class Context:
    """What an operation needs: the options, the store folder, the server (and the test hook).

    ``http`` is injected by tests (Starlette's ``TestClient``) and by nothing else. There is no
    prompter here on purpose: operations take every answer as an argument.
    """

    def __init__(self, options: Options, *, http: httpx2.Client | None = None) -> None:
        self.options = options
        self.store = Store(
            options.home, pfx_iterations=options.pfx_iterations, checkpoint=self.checkpoint
        )
        self._http = http
        self._client: SyncClient | None = None
        self._ca_checked = False  # the pinned CA was checked in this run (sync_client.pinning)

    def __repr__(self) -> str:
        # --server only: the remembered URL is read (and checked) from disk, not in a repr.
        server = self.options.server_url
        return f"{type(self).__name__}(home={str(self.options.home)!r}, server={server!r})"

    # -- the test hook ----------------------------------------------------------------------

    def checkpoint(self, step: str) -> None:
        """Pause at ``step`` when ``PC_CLIENT_TEST_PAUSE_AT`` names it (tests kill us there)."""
        assert step in CHECKPOINTS, step  # the names the --help and the tests rely on
        if self.options.pause_at == step:
            print(f"pc-client: paused at {step}", file=sys.stderr, flush=True)
            time.sleep(PAUSE_SECONDS)

    # -- the server -------------------------------------------------------------------------

    @property
    def server_url(self) -> str:
        """``--server``, else the remembered URL (checked like ``--server``), else the
        default."""
        if self.options.server_url:
            return self.options.server_url
        remembered = self.store.load_settings().server_url
        if not remembered:
            return DEFAULT_SERVER_URL
        return check_server_url(remembered, insecure_http=self.options.insecure_http)

    @property
    def ca_pin_path(self) -> Path:
        """Where this computer keeps the CA fingerprints it trusts (``sync_client.pinning``)."""
        return self.store.home / PIN_FILE_NAME

    def _raw_client(self) -> SyncClient:
        if self._client is None:
            if self._http is not None:
                self._client = SyncClient(self._http)
            else:
                self._client = SyncClient.connect(self.server_url)
        return self._client

    def client(self) -> SyncClient:
        """The server, without a session (``session()`` adds one). A server this computer has
        pinned must still show the pinned CA (``CaChanged`` otherwise), checked once a run."""
        client = self._raw_client()
        if not self._ca_checked:
            verify_pinned_ca(client, self.ca_pin_path, self.server_url)
            self._ca_checked = True
        return client

    def pin_ca(self, *, accept_new: bool = False) -> PinCheck:
        """Check the server's CA against this computer's pin (``CaChanged`` for another CA
        unless ``accept_new``), before a login sends the password; ``record_pin`` writes a
        new pin once the login succeeded."""
        check = check_server_ca(
            self._raw_client(),
            self.ca_pin_path,
            self.server_url,
            accept_new=accept_new,
            record=False,
        )
        self._ca_checked = True
        return check

    def record_pin(self, check: PinCheck) -> None:
        """Keep the CA ``pin_ca`` found (first use, or accepted) in the store folder."""
        self.store.ensure_home()  # the pin lives in the store folder (0700)
        record_pin(self.ca_pin_path, check)

    def session(self) -> Session:
        """The login session for this server, or ``NotLoggedIn``; the client then uses it."""
        session = self.store.load_session()
        if session is None:
            raise NotLoggedIn(msg("session.none"))
        if session.server_url != self.server_url:
            raise NotLoggedIn(
                msg("session.other_server", session_url=session.server_url, url=self.server_url)
            )
        self._raw_client().token = session.token  # the CA is checked at the first request
        return session

    def customer_id(self) -> str:
        """The logged-in customer, else the last one who logged in on this PC."""
        session = self.store.load_session()
        if session is not None:
            return session.customer_id
        remembered = self.store.load_settings().customer_id
        if remembered is None:
            raise NotLoggedIn(msg("session.no_customer"))
        return remembered

    def remember_server(self) -> None:
        """After a command succeeded: remember ``--server`` for the next runs."""
        if self.options.server_url and self.store.home.is_dir():
            self.store.update_settings(server_url=self.options.server_url)

    def close(self) -> None:
        """Close the HTTP client this run opened (never an injected one)."""
        # An injected client belongs to the caller (a test); only ours is closed here.
        if self._client is not None and self._http is None:
            self._client.close()


class App(Context):
    """One run of ``pc-client``: a ``Context`` and the prompts (``stdin`` is injected by tests).

    Only the click commands touch ``prompter``; they pass the answers on to the operations.
    """

    def __init__(
        self, options: Options, *, http: httpx2.Client | None = None, stdin: TextIO | None = None
    ) -> None:
        super().__init__(options, http=http)
        self.prompter = Prompter(stdin if stdin is not None else sys.stdin)
