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
from collections.abc import Mapping, Sequence
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
    return f"{local:%Y-%m-%d %H:%M:%S} {_offset(local)}"


def _offset(local: datetime) -> str:
    """``+08:00``: the zone's offset as ``%:z`` writes it (which Python 3.11 lacks)."""
    raw = f"{local:%z}"  # +0800, or +053028 for an offset with seconds
    return f"{raw[:3]}:{raw[3:5]}" if len(raw) >= 5 else raw


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
    any two characters for CJK (which has no spaces between words); a word longer than a line
    (a path, a URL) is cut where the line ends."""
    width = max(1, width)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _tokens(paragraph):
            if display_width(line + token.rstrip()) <= width:
                line += token
                continue
            if line.strip():
                lines.append(line.rstrip())
            line = token.lstrip()
            while display_width(line.rstrip()) > width:
                head = _cut(line, width)
                lines.append(head)
                line = line[len(head) :]
        lines.append(line.rstrip())
    return lines


def _cut(text: str, width: int) -> str:
    """The longest start of ``text`` that fits ``width`` cells (at least one character),
    ending after a path or URL separator when there is one in its second half."""
    used = 0
    for i, char in enumerate(text):
        used += display_width(char)
        if used > width:
            head = text[: max(1, i)]
            at = max(head.rfind(sep) for sep in "/\\-_.:?&=")
            return head[: at + 1] if at + 1 > len(head) // 2 else head
    return text


# Characters that must not start a line in CJK text (a comma, a full stop, a closing bracket):
# they stay with the character before them.
_NO_LINE_START = set("，。、；：！？）」』】〉》,.;:!?)]}")
# …and characters that must not end one (an opening bracket): they go with the one after.
_NO_LINE_END = set("（「『【〈《([{")


def _tokens(text: str) -> list[str]:
    """Words with their trailing space for Latin text; single characters for wide ones (with
    the punctuation that may not begin a line kept on them)."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if char in _NO_LINE_START and (word or tokens) and not word.endswith(" "):
            if word:
                word += char
            else:
                tokens[-1] += char
            continue
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
    merged: list[str] = []
    for token in tokens:
        if merged and merged[-1][-1] in _NO_LINE_END:
            merged[-1] += token
        else:
            merged.append(token)
    return merged


def fit_widths(natural: Sequence[int], available: int, *, floor: int = 8) -> list[int]:
    """Column widths that fit ``available`` cells: each column keeps its natural width if it
    can; otherwise the widest ones are narrowed to one common cap (never below ``floor``, nor
    below what a column needs anyway), and what the cap leaves over goes back to them."""
    if sum(natural) <= available:
        return list(natural)
    low, high = 1, max(natural)
    while low < high:  # the largest cap with which everything fits
        cap = (low + high + 1) // 2
        if sum(min(n, cap) for n in natural) <= available:
            low = cap
        else:
            high = cap - 1
    cap = max(low, floor)
    widths = [min(n, cap) for n in natural]
    spare = available - sum(widths)
    for i in sorted(range(len(widths)), key=lambda i: natural[i] - widths[i], reverse=True):
        if spare <= 0:
            break
        extra = min(spare, natural[i] - widths[i])
        widths[i] += extra
        spare -= extra
    return widths


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, max_width: int = 80
) -> list[str]:
    """Left-aligned columns two cells apart, measured in terminal cells, fitting ``max_width``:
    when the natural widths do not fit, the widest columns are narrowed and their cells wrap
    onto more lines (each row then takes as many lines as its tallest cell). The last column
    is never padded."""
    gap = 2
    columns = len(header)
    natural = [display_width(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            natural[i] = max(natural[i], *(display_width(part) for part in cell.split("\n")))
    widths = fit_widths(natural, max_width - gap * (columns - 1))

    def _lines(cells: Sequence[str]) -> list[str]:
        wrapped = [wrap(cell, widths[i]) or [""] for i, cell in enumerate(cells)]
        height = max(len(parts) for parts in wrapped)
        out = []
        for n in range(height):
            parts = [w[n] if n < len(w) else "" for w in wrapped]
            padded = [pad(part, widths[i]) for i, part in enumerate(parts[:-1])]
            out.append((" " * gap).join([*padded, parts[-1]]).rstrip())
        return out

    longest_last = max((display_width(r[-1]) for r in rows), default=6)
    room = max_width - sum(widths[:-1]) - gap * (columns - 1)
    last_rule = max(widths[-1], min(6, room, longest_last), 1)
    rule = (" " * gap).join(["-" * w for w in widths[:-1]] + ["-" * last_rule])
    out = [*_lines(header), rule.rstrip()]
    for row in rows:
        out.extend(_lines(row))
    return out


def terminal_is_light(environ: Mapping[str, str]) -> bool | None:
    """Whether the terminal's background is light, from ``COLORFGBG`` (``"0;15"``: foreground
    0, background 15), which rxvt, Konsole, iTerm2 and others set; ``None`` when unknown.
    Background colours 7 (light grey) and 9–15 (the bright ones, but 8, dark grey) are light."""
    raw = environ.get("COLORFGBG", "").strip()
    background = raw.rsplit(";", 1)[-1] if raw else ""
    if not background.isdigit():
        return None
    return int(background) == 7 or 9 <= int(background) <= 15
