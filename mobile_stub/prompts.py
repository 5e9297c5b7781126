"""Reading secrets the way PRODUCT.md promises: hidden on a terminal, one line each otherwise.

The reader is the one every command line shares (``sync_client.prompts.Prompter``): when
standard input is not a terminal (a tester's script, a pipe), each prompt takes the next line
of it, in the order the command's ``--help`` lists; nothing is echoed, so the prompts do not mix
with the command's output. A prompt that finds no line left is the phone's documented error
(``input_missing``, as in every CertSync program, in the phone's words) rather than an empty
password.
"""

from __future__ import annotations

import sys
from typing import TextIO

from sync_client.errors import ClientError, InputMissing
from sync_client.i18n import msg
from sync_client.prompts import Prompter


def input_ended(label: str) -> ClientError:
    """The phone's error for a prompt that found standard input at its end."""
    return InputMissing(msg("phone.prompt.input_ended", label=label))


def phone_prompter(stream: TextIO | None = None) -> Prompter:
    """The prompts of one run: ``stream`` (tests inject one), else standard input."""
    return Prompter(stream if stream is not None else sys.stdin, missing=input_ended)


def read_secret(label: str) -> str:
    """One secret: hidden input on a terminal, else the next line of standard input.

    ``label`` is the prompt's name in the customer's language (``msg("phone.prompt.…")``).
    """
    return phone_prompter().secret(label)
