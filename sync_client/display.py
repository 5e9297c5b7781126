"""How times and tables look to people, in one place (messages are ``sync_client.i18n``).

Times a customer reads are in the language's way (``--json``, the API and logs keep
``sync_client.protocol.format_time``, UTC RFC 3339):

- zh-TW: Asia/Taipei, with the ROC (民國) year, as the original system's 現在時間 —
  ``115/12/02 16:29:38``. Its certificate tables printed Gregorian dates
  (``2013/04/11 16:29:01``, still Taipei time); ``certificate_time`` keeps that.
- en: the PC's own time zone, with its offset — ``2026-12-02 16:29:38 +08:00``.

Time zones come from ``zoneinfo`` (with the ``tzdata`` package where the OS has no database,
as on Windows), never from offset arithmetic. Terminal columns are measured in display cells:
CJK characters take two.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

from sync_client.i18n import Language, current_language

TAIPEI = "Asia/Taipei"
ROC_EPOCH_YEAR = 1911  # ROC year 1 is 1912


@cache
def taipei() -> ZoneInfo:
    return ZoneInfo(TAIPEI)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def roc_year(year: int) -> int:
    """The ROC (民國) year of a Gregorian year: 2026 → 115."""
    return year - ROC_EPOCH_YEAR


def show_time(
    moment: datetime | None, *, language: Language | None = None, zone: tzinfo | None = None
) -> str:
    """A moment as a person reads it; ``-`` for none. ``zone`` overrides the English one
    (the PC's local zone) — tests pass it."""
    if moment is None:
        return "-"
    moment = _aware(moment)
    if (language or current_language()) == "zh-TW":
        local = moment.astimezone(taipei())
        return f"{roc_year(local.year)}/{local:%m/%d %H:%M:%S}"
    local = moment.astimezone(zone) if zone is not None else moment.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S %:z")


def show_date(
    moment: datetime | None, *, language: Language | None = None, zone: tzinfo | None = None
) -> str:
    """A day as a person reads it: ``115/12/02`` or ``2026-12-02``."""
    if moment is None:
        return "-"
    moment = _aware(moment)
    if (language or current_language()) == "zh-TW":
        local = moment.astimezone(taipei())
        return f"{roc_year(local.year)}/{local:%m/%d}"
    local = moment.astimezone(zone) if zone is not None else moment.astimezone()
    return local.strftime("%Y-%m-%d")


def certificate_time(
    moment: datetime | None, *, language: Language | None = None, zone: tzinfo | None = None
) -> str:
    """A certificate's validity date in its info table: Gregorian in Taipei time for zh-TW,
    as the original printed it (``2013/04/11 16:29:01``); ``show_time`` in English."""
    if moment is None:
        return "-"
    if (language or current_language()) == "zh-TW":
        return f"{_aware(moment).astimezone(taipei()):%Y/%m/%d %H:%M:%S}"
    return show_time(moment, language="en", zone=zone)


# -- terminal layout ----------------------------------------------------------------------


def display_width(text: str) -> int:
    """Terminal cells ``text`` takes: wide and full-width characters count two, combining
    marks none (what ``wcwidth`` measures, for the characters our messages use)."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` cells."""
    return text + " " * max(0, width - display_width(text))


def wrap(text: str, width: int) -> list[str]:
    """``text`` broken into lines of at most ``width`` cells: at spaces for Latin text, between
    any two characters for CJK (which has no spaces between words)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _tokens(paragraph):
            if display_width(line + token) <= width or not line:
                line += token
                continue
            lines.append(line.rstrip())
            line = token.lstrip()
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Words with their trailing space for Latin text; single characters for wide ones."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(char)
        elif char == " ":
            tokens.append(word + char)
            word = ""
        else:
            word += char
    if word:
        tokens.append(word)
    return tokens


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, max_width: int = 80
) -> list[str]:
    """Left-aligned columns two cells apart; the last column is wrapped to fit ``max_width``
    (continuation lines indented under it) and never padded."""
    widths = [display_width(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], display_width(cell))
    indent = sum(widths[:-1]) + 2 * (len(widths) - 1)
    last_width = max(12, max_width - indent)

    def _lines(cells: Sequence[str]) -> list[str]:
        head = "  ".join(pad(cell, widths[i]) for i, cell in enumerate(cells[:-1]))
        parts = wrap(cells[-1], last_width) or [""]
        first = (head + "  " + parts[0]).rstrip() if cells[:-1] else parts[0]
        return [first, *(" " * indent + part for part in parts[1:])]

    last_rule = max(6, min(last_width, max((display_width(r[-1]) for r in rows), default=6)))
    rule = "  ".join("-" * w for w in widths[:-1]) + "  " + "-" * last_rule
    out = [*_lines(header), rule.rstrip()]
    for row in rows:
        out.extend(_lines(row))
    return out
