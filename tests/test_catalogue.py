"""The one message catalogue (``sync_client/locale``): complete, consistent, compiled.

- every id the code asks for (what ``pybabel extract`` finds with ``msg`` and ``N_``) is in
  both languages, translated, with the same placeholders;
- the compiled ``.mo`` files say what the ``.po`` files say (someone ran ``dev.py i18n``);
- every error code of docs/PROTOCOL.md has a sentence in both languages;
- the original system's own phrases are kept word for word.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from scripts.catalogue import cli_texts
from sync_client.i18n import (
    DOMAIN,
    LOCALE_DIR,
    Language,
    has_message,
    msg,
    placeholders,
    use_language,
)

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "zh_TW")


def _catalog(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        return read_po(f, locale=language)


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    """What ``pybabel extract -F babel.cfg -k msg -k N_`` finds (run through Babel's API)."""
    ids: set[str] = set()
    method_map: list[tuple[str, str]] = []
    for line in (ROOT / "babel.cfg").read_text().splitlines():
        if m := re.fullmatch(r"\[(\w+): (.+)\]", line.strip()):
            method_map.append((m.group(2), m.group(1)))
    found = extract_from_dir(
        str(ROOT), method_map, keywords={"msg": None, "N_": None}, comment_tags=()
    )
    for _filename, _lineno, message, _comments, _context in found:
        ids.add(message if isinstance(message, str) else message[0])
    ids |= set(cli_texts())
    assert len(ids) > 100, "extraction found almost nothing: is babel.cfg right?"
    return ids


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_id_the_code_asks_for_is_translated(extracted: set[str], language: str) -> None:
    catalog = _catalog(language)
    missing = sorted(i for i in extracted if not ((m := catalog.get(i)) and m.string))
    assert missing == [], f"{language}: untranslated ids (run python3 dev.py i18n): {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_holds_nothing_the_code_does_not_ask_for(
    extracted: set[str], language: str
) -> None:
    stale = sorted(str(m.id) for m in _catalog(language) if m.id and m.id not in extracted)
    assert stale == [], f"{language}: ids no code asks for: {stale}"


def test_both_languages_use_the_same_placeholders() -> None:
    english = _catalog("en")
    for message in _catalog("zh_TW"):
        if not message.id or not message.string:
            continue
        source = english.get(message.id)
        assert source is not None, message.id
        assert placeholders(str(message.string)) == placeholders(str(source.string)), message.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_up_to_date(language: str) -> None:
    compiled = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])
    for message in _catalog(language):
        if message.id and message.string:
            assert compiled.gettext(str(message.id)) == message.string, (
                f"{language}: {message.id} differs in the .mo: run python3 dev.py i18n"
            )


def _protocol_error_codes() -> list[str]:
    text = (ROOT / "docs" / "PROTOCOL.md").read_text()
    codes = re.findall(r"^\| `([a-z_]+)` \| \d{3} \|", text, flags=re.MULTILINE)
    assert len(codes) > 30
    return codes


@pytest.mark.parametrize("language", ["en", "zh-TW"])
def test_every_protocol_error_code_has_a_sentence(language: Language) -> None:
    missing = [
        code for code in _protocol_error_codes() if not has_message(f"error.{code}", language)
    ]
    assert missing == []


def test_the_originals_phrases_are_kept() -> None:
    with use_language("zh-TW"):
        assert msg("verdict.no_local_match") == "您的電腦中沒有與主機相同之憑證"
        assert msg("verdict.mismatch") == "憑證不相符"
        assert msg("status.label.valid") == "有效憑證"
        assert msg("status.label.expiring") == "即將到期"
    with use_language("en"):
        assert msg("verdict.no_local_match") == (
            "No certificate on this computer matches the host."
        )
        assert msg("verdict.mismatch") == "Certificate mismatch."


def test_msg_fills_values_in_the_current_language() -> None:
    with use_language("en"):
        assert msg("password.too_short", min_length=6) == (
            "The new PFX password needs at least 6 characters."
        )
