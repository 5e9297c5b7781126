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


def read_secret(label: str) -> str:
    """One secret: hidden input on a terminal, else the next line of standard input."""
    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        try:
            return getpass.getpass(f"{label}: ")
        except EOFError:
            raise NoInput(f"No {label.lower()} was typed.") from None
    line = stdin.readline() if stdin is not None else ""
    if not line:
        raise NoInput(f"The {label.lower()} is needed, and standard input has no more lines.")
    return line.rstrip("\r\n")
