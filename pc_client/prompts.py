"""Asking the user: hidden input on a terminal, one line per prompt otherwise.

The command-line contract: when standard input is not a terminal, each prompt reads exactly one
line from it, in the order the command's ``--help`` lists, so a script can pipe the answers in.
Nothing is echoed in that mode (the prompt labels would only clutter a script's output), and a
missing line is an error naming the prompt, never a silent empty answer.
"""

from __future__ import annotations

from typing import TextIO

import click

from pc_client.errors import InputMissing
from pc_client.messages import msg


class Prompter:
    """Reads answers from ``stream``; interactive (click prompts on stderr) if it is a TTY."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        try:
            self.interactive = stream.isatty()
        except (AttributeError, ValueError):
            self.interactive = False

    def __repr__(self) -> str:
        return f"Prompter(interactive={self.interactive})"

    def _line(self, label: str) -> str:
        line = self.stream.readline()
        if not line:
            raise InputMissing(msg("prompt.missing", label=label))
        return line.rstrip("\r\n")

    def secret(self, label: str) -> str:
        """A password or code, never echoed."""
        if self.interactive:
            return str(click.prompt(label, hide_input=True, err=True))
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
