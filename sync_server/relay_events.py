"""Wake-ups for PCs long-polling their relay slot, within one server process.

A claim or cancel handled by this process wakes its waiters at once; one handled by another
instance (scale-out on PostgreSQL) arrives by ``NOTIFY`` (``Database.listen``), and the
waiter's periodic re-read every ``poll_seconds`` is the safety net.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class SlotNotifier:
    def __init__(self, *, poll_seconds: float = 1.0) -> None:
        self.poll_seconds = poll_seconds
        self._events: dict[str, asyncio.Event] = {}
        self._waiters: dict[str, int] = {}

    @contextmanager
    def subscribe(self, slot_id: str) -> Iterator[asyncio.Event]:
        event = self._events.setdefault(slot_id, asyncio.Event())
        self._waiters[slot_id] = self._waiters.get(slot_id, 0) + 1
        try:
            yield event
        finally:
            self._waiters[slot_id] -= 1
            if self._waiters[slot_id] == 0:
                del self._waiters[slot_id]
                self._events.pop(slot_id, None)

    def notify(self, slot_id: str) -> None:
        event = self._events.pop(slot_id, None)
        if event is not None:
            event.set()
