"""Asking the user, the same way in every command line: hidden input on a terminal, one line per
prompt otherwise.

The command-line contract: when standard input is not a terminal, each prompt reads exactly one
line from it, in the order the command's ``--help`` lists, so a script can pipe the answers in.
Nothing is echoed in that mode (the prompt labels would only clutter a script's output), and a
missing line is an error naming the prompt (``input_missing``, or the program's own error),
never a silent empty answer. On a terminal, click asks on standard error, so that standard
output stays the command's answer (one JSON object with ``--json``).

Tests inject the stream (``Prompter(io.StringIO("answer\\n"))``); nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

import click

from sync_client.errors import ClientError, InputMissing
from sync_client.i18n import msg


def input_missing(label: str) -> ClientError:
    """The default error for a prompt that found standard input at its end."""
    return InputMissing(msg("prompt.missing", label=label))


class Prompter:
    """Reads answers from ``stream``; interactive (click prompts on stderr) if it is a TTY.

    ``missing`` makes the error raised when ``stream`` has no line left for a prompt (given the
    prompt's label); a program whose documented code differs passes its own.
    """

    def __init__(
        self, stream: TextIO, *, missing: Callable[[str], ClientError] = input_missing
    ) -> None:
        self.stream = stream
        self.missing = missing
        try:
            self.interactive = stream.isatty()
        except (AttributeError, ValueError):
            self.interactive = False

    def __repr__(self) -> str:
        return f"Prompter(interactive={self.interactive})"

    def _line(self, label: str) -> str:
        line = self.stream.readline()
        if not line:
            raise self.missing(label)
        return line.rstrip("\r\n")

    def secret(self, label: str, *, twice: bool = False) -> str:
        """A password or code, never echoed; ``twice``: typed again to confirm, on a terminal
        (a script gives it once)."""
        if self.interactive:
            return str(click.prompt(label, hide_input=True, confirmation_prompt=twice, err=True))
        return self._line(label)

    def text(self, label: str, *, default: str | None = None) -> str:
        """A visible answer; an empty answer means ``default`` when there is one."""
        if self.interactive:
            return str(
                click.prompt(label, default=default, show_default=default is not None, err=True)
            )
        answer = self._line(label).strip()
        return answer if answer or default is None else default

    def confirm(self, label: str) -> bool:
        """A yes/no question whose default is no."""
        if self.interactive:
            return bool(click.confirm(label, default=False, err=True))
        return self._line(label).strip().lower() in ("y", "yes")

    def say(self, text: str) -> None:
        """Show something the user should read before answering (a terminal only)."""
        if self.interactive:
            click.echo(text, err=True)
