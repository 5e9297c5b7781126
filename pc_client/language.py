"""Which language ``pc-client`` speaks in this run, decided before click parses anything.

``--help`` is printed while click parses, so the choice cannot wait for the options: a plain
look at the arguments finds ``--lang`` (and ``--home``, for the language the store remembers),
then ``sync_client.i18n.choose_language`` applies the order ``--lang``, ``PC_CLIENT_LANG``,
the store's remembered choice, the OS locale, English. ``--json`` output is for programs and
stays English, whatever is chosen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from sync_client.cli_text import flag_value
from sync_client.i18n import Language, choose_language

VARIABLE = "PC_CLIENT_LANG"


def remembered_language(home: Path) -> str | None:
    """The language ``settings.json`` remembers, if it can be read; never an error here."""
    try:
        data = json.loads((home / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # the store reports a damaged file itself
        return None
    value = data.get("language") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def language_for_run(args: Sequence[str], environ: Mapping[str, str]) -> Language:
    """The language of this run of ``pc-client args``."""
    if "--json" in args:
        return "en"
    raw_home = flag_value(args, "--home") or environ.get("PC_CLIENT_HOME", "").strip()
    home = Path(raw_home).expanduser() if raw_home else Path.home() / "BTS"
    return choose_language(
        flag=flag_value(args, "--lang"),
        environ=environ,
        variable=VARIABLE,
        remembered=remembered_language(home),
    )
