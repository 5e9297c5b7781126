"""Plain-text layout for people: times, tables. No message text lives here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sync_client.protocol import format_time


def show_time(moment: datetime | None) -> str:
    """RFC 3339 UTC, as the server and the audit trail write it; ``-`` for none."""
    return "-" if moment is None else format_time(moment)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))

    def _line(cells: Sequence[str]) -> str:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(cells[:-1])]
        return "  ".join([*padded, cells[-1]]).rstrip()

    rule = "  ".join("-" * w for w in widths[:-1]) + "  " + "-" * max(widths[-1], 6)
    return [_line(header), rule, *(_line(r) for r in rows)]
