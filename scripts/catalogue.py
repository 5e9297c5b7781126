"""Keep the message catalogue in step with the code: ``python3 dev.py i18n`` runs this.

1. ``pybabel extract`` (keywords ``msg`` and ``N_``, inputs in ``babel.cfg``) writes the
   template ``sync_client/locale/certsync.pot``, and the command lines' ``--help`` texts and
   click's own phrases (``cli_texts``, by their English text) are added to it;
2. each language's ``.po`` gains the new ids (empty, to translate); ids nothing asks for any
   more are reported (and kept until removed by hand); the Traditional Chinese file shows each
   id's English text as a translator's comment;
3. ``pybabel compile`` writes the ``.mo`` files the programs read.

Then ``python3 dev.py test -k catalogue`` says what is still untranslated. ``--prune`` removes
the ids no code asks for any more (after checking that none is an id built at run time).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "sync_client" / "locale"
POT = LOCALE / "certsync.pot"
LANGUAGES = ("en", "zh_TW")
BIN = Path(sys.executable).parent


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "certsync.po"


def read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=language)


def write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False, include_previous=False)


def cli_texts() -> list[str]:
    """Every ``--help`` text of both command lines, and click's phrases, in English."""
    sys.path.insert(0, str(ROOT))
    from mobile_stub.cli import cli as mobile_cli
    from pc_client.cli import COMMANDS
    from pc_client.cli import cli as pc_cli
    from sync_client.cli_text import CLICK_TEXTS, help_texts

    texts = [*CLICK_TEXTS, *(summary for _, _, summary in COMMANDS.values())]
    texts += [*help_texts(pc_cli), *help_texts(mobile_cli)]
    return sorted(set(texts))


def extract() -> Catalog:
    subprocess.run(
        [
            str(BIN / "pybabel"), "-q", "extract", "-F", "babel.cfg",
            "-k", "msg", "-k", "N_", "--no-default-keywords", "--no-location",
            "--sort-output", "--project", "CertSync", "--copyright-holder", "CertSync",
            "-o", str(POT), ".",
        ],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    template = read(POT)
    for text in cli_texts():
        template.add(text, auto_comments=["--help or click"])
    write(POT, template)
    return template


def update(template: Catalog, *, prune: bool = False) -> None:
    english = read(po_path("en"), "en")
    for language in LANGUAGES:
        path = po_path(language)
        old = read(path, language)
        new = Catalog(locale=language, domain="certsync", project="CertSync", fuzzy=False)
        new.mime_headers  # noqa: B018  (builds the header from the fields above)
        for message in template:
            if not message.id:
                continue
            before = old.get(message.id)
            text = before.string if before is not None else ""
            if language == "en" and not text and "--help or click" in message.auto_comments:
                text = message.id  # these ids are their English text
            comments = []
            if language != "en":
                source = english.get(message.id)
                if source is not None and source.string:
                    comments = [str(source.string)]
            new.add(message.id, text, flags=message.flags, auto_comments=comments)
        # Kept, not dropped: an id built at run time that nobody marked with N_ would lose its
        # translation. tests/test_catalogue.py fails until it is marked or removed by hand.
        for message in old:
            if message.id and message.id not in template:
                if prune:
                    print(f"{language}: removed {message.id!r} (no code asks for it)")
                    continue
                print(f"{language}: no code asks for {message.id!r} (mark it with N_, or --prune)")
                new.add(message.id, message.string, flags=message.flags,
                        auto_comments=message.auto_comments)  # fmt: skip
        write(path, new)


def compile_all() -> None:
    subprocess.run(
        [str(BIN / "pybabel"), "-q", "compile", "-D", "certsync", "-d", str(LOCALE)],
        cwd=ROOT,
        check=True,
    )  # fmt: skip


def main(argv: list[str]) -> int:
    if argv[:1] == ["compile"]:
        compile_all()
        return 0
    update(extract(), prune="--prune" in argv)
    compile_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
