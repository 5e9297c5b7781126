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
from sync_client.cli_text import flag_value
from sync_client.i18n import Language, choose_language

VARIABLE = "MOBILE_STUB_LANG"


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
