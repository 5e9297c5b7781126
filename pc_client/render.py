"""Plain-text layout for people: times, tables. No message text lives here.

The one place that decides how a time or a table looks is ``sync_client.display`` (shared with
``mobile-stub`` and the page); these names stay so that the commands need not change:

- ``show_time``: ROC year in Asia/Taipei for zh-TW (``115/12/02 16:29:38``), the PC's zone
  with its offset in English;
- ``certificate_time``: a certificate's validity in its info table, Gregorian in Taipei time
  for zh-TW as the original printed it (``2026/12/02 16:29:38``);
- ``table``: columns measured in terminal cells (CJK is two wide), fitting 80 columns.

``--json`` never comes here: it keeps ``sync_client.protocol.format_time`` (UTC RFC 3339).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sync_client import display
from sync_client.protocol import parse_time

__all__ = ["certificate_time", "show_date", "show_time", "show_time_text", "table"]


def show_time(moment: datetime | None) -> str:
    """A moment as a person reads it, in the current language; ``-`` for none."""
    return display.show_time(moment)


def show_date(moment: datetime | None) -> str:
    """A day as a person reads it: ``115/12/02`` or ``2026-12-02``."""
    return display.show_date(moment)


def certificate_time(moment: datetime | None) -> str:
    """A certificate's valid-from or valid-to date in the status table."""
    return display.certificate_time(moment)


def show_time_text(text: str | None) -> str:
    """A stored RFC 3339 time (a session's expiry, a pending record's start) as a person
    reads it; text that is not such a time is shown as it is."""
    if not text:
        return "-"
    try:
        return display.show_time(parse_time(text))
    except ValueError:
        return text


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two cells apart; the last column wraps to fit 80 columns."""
    return display.table(header, rows)
