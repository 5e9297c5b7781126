"""Reading secrets the way PRODUCT.md promises: hidden on a terminal, one line each otherwise.

When standard input is not a terminal (a tester's script, a pipe), each prompt takes the next
line of it, in the order the command's ``--help`` lists; nothing is echoed, so the prompts do
not mix with the command's output. A prompt that finds no line left is an error (``no_input``)
rather than an empty password.
"""

from __future__ import annotations

import getpass
import sys

from mobile_stub.errors import NoInput
from sync_client.i18n import msg


def read_secret(label: str) -> str:
    """One secret: hidden input on a terminal, else the next line of standard input.

    ``label`` is the prompt's name in the customer's language (``msg("phone.prompt.…")``).
    """
    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        try:
            return getpass.getpass(msg("phone.prompt.ask", label=label))
        except EOFError:
            raise NoInput(msg("phone.prompt.not_typed", label=label)) from None
    line = stdin.readline() if stdin is not None else ""
    if not line:
        raise NoInput(msg("phone.prompt.input_ended", label=label))
    return line.rstrip("\r\n")
