"""What every ``sync-server admin`` command is given, and the small helpers they share.

``Context`` opens the host lazily with ``create=False`` (a data folder with no CertSync
database is refused, never made anew) and prints a command's result: its JSON object with
``--json``, else its text.
"""

from __future__ import annotations

import json
import secrets
import sys
from datetime import datetime
from typing import Any

import click

from sync_client.prompts import Prompter
from sync_client.protocol import format_time
from sync_server.errors import ConfigCode, ConfigError
from sync_server.settings import Settings


class Context:
    """One run of ``sync-server admin``: its flags, and the host once a command needs it."""

    def __init__(self, *, debug: bool, as_json: bool, staff: str, verbose: bool) -> None:
        self.debug = debug
        self.as_json = as_json
        self.staff = staff
        self.verbose = verbose
        self._host: Any = None

    @property
    def host(self) -> Any:
        if self._host is None:
            from sync_server.host import open_host

            settings = Settings.from_env()
            host = open_host(settings, create=False)
            self._host = host
            if self.verbose:
                click.echo(
                    f"Database: {host.db.description} (data folder {settings.data_dir}; "
                    f"CA {host.ca.fingerprint_sha256[:16]}…)",
                    err=True,
                )
        return self._host

    def close(self) -> None:
        if self._host is not None:
            self._host.db.dispose()

    def emit(self, data: dict[str, Any], text: str) -> None:
        click.echo(json.dumps(data, ensure_ascii=False) if self.as_json else text)


def generate_password() -> str:
    """A new random login password, for staff to hand over once."""
    return secrets.token_urlsafe(12)


def when(moment: datetime | None, none: str = "-") -> str:
    return format_time(moment) if moment is not None else none


def json_time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None


def actor(ctx: Context) -> str:
    """Who acts, as the audit trail names them."""
    return f"staff:{ctx.staff}"[:100]


def generate_password_if(generate: bool, prompt: str) -> str:
    """A new random login password, or the one staff type at the prompt (twice on a terminal;
    one line of standard input otherwise).

    A script may also pipe the confirmation as a second line: then the two must be equal, or
    nothing is done (``password_confirmation_differs``), as the terminal's prompt would refuse.
    Taking the first of two different lines would create the customer with a password that
    staff may not have meant.
    """
    if generate:
        return generate_password()
    prompter = Prompter(sys.stdin)
    password = prompter.secret(prompt, twice=True)
    if not prompter.interactive:
        confirmation = sys.stdin.readline()
        if confirmation and confirmation.rstrip("\r\n") != password:
            raise ConfigError(
                f"The two lines given for {prompt!r} differ; nothing was changed. Give the "
                "password once, or twice the same.",
                code=ConfigCode.PASSWORD_CONFIRMATION_DIFFERS,
            )
    return password


def parse_customer_id(raw: str) -> str:
    """A customer ID as typed, normalised, or the service's ``invalid_national_id``."""
    from sync_server import customers

    return customers.parse_customer_id(raw)
