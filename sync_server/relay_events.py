"""Wake-ups for PCs long-polling their relay slot, within one server process.

A claim or cancel handled by this process wakes its waiters at once; one handled by another
instance (scale-out on PostgreSQL) arrives by ``NOTIFY`` (``Database.listen``), and the
waiter's periodic re-read every ``poll_seconds`` is the safety net. ``wait_for_change`` is
the events long-poll built on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sync_server import relay
from sync_server.customers import Principal
from sync_server.host import Host
from sync_server.relay import SlotView


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


Run = Callable[..., Awaitable[Any]]


async def wait_for_change(
    host: Host,
    notifier: SlotNotifier,
    principal: Principal,
    slot_id: str,
    *,
    after: str,
    wait: float,
    read: Run,
    write: Run,
) -> SlotView:
    """The long-poll: the slot's view once its state differs from ``after``, or after ``wait``
    seconds (or at once when it already differs).

    ``read`` and ``write`` are the app's ways to run a read and a write (``app.py``): on
    SQLite the slot's read runs on the event loop, and only a slot found past its lifetime
    is expired, on the writer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        # Subscribe before reading, so a claim between the read and the wait is not missed.
        with notifier.subscribe(slot_id) as woken:
            found: tuple[SlotView, bool] = await read(relay.read_slot, host, principal, slot_id)
            view, stale = found
            if stale:
                await write(relay.expire_slot, host, principal, slot_id)
            remaining = deadline - loop.time()
            if view.state != after or remaining <= 0:
                return view
            until_expiry = (view.expires_at - host.now()).total_seconds()
            # Claims on other instances wake us through PostgreSQL NOTIFY; the periodic
            # re-read is the safety net if a notification is lost.
            timeout = max(0.0, min(remaining, until_expiry + 0.01, notifier.poll_seconds))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout)
