"""Which language ``mobile-stub`` speaks in this run, decided before click parses anything.

``--help`` is printed while click parses, so the choice cannot wait for the options: a plain
look at the arguments finds ``--lang`` (and ``--home``, for the language the phone remembers),
then ``sync_client.i18n.choose_language`` applies the order ``--lang``, ``MOBILE_STUB_LANG``,
the phone's remembered choice (``settings.json``), the OS locale (``LC_ALL``, ``LC_MESSAGES``,
``LANG``), English. A ``--json`` run is for programs and speaks English, whatever is chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from mobile_stub.store import PhoneHome, default_home, saved_language
from sync_client.i18n import Language, choose_language

VARIABLE = "MOBILE_STUB_LANG"


def flag_value(args: Sequence[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` among ``args`` (up to ``--``)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1 :]
    return None


def language_for_run(args: Sequence[str], environ: Mapping[str, str]) -> Language:
    """The language of this run of ``mobile-stub args``."""
    if "--json" in args:
        return "en"
    raw_home = flag_value(args, "--home")
    home = Path(raw_home).expanduser() if raw_home else default_home(environ)
    return choose_language(
        flag=flag_value(args, "--lang"),
        environ=environ,
        variable=VARIABLE,
        remembered=saved_language(PhoneHome(home)),
    )
