"""What the server tidies on a timer, and ``sync-server admin prune`` on demand.

Both are safe to run at any time and on any number of instances: each step deletes only rows
that no answer depends on any more (ended relay slots past an hour, login counters whose window
is over and that hold no wait), so pruning never changes what a request is answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sync_server import login_throttle, relay
from sync_server.host import Host

ENDED_SLOTS_KEPT = timedelta(hours=1)  # so that a late poll still learns how its slot ended


@dataclass(frozen=True)
class Pruned:
    relay_slots: int
    login_counters: int


def prune(host: Host, *, now: datetime) -> Pruned:
    """Wipe expired relay slots, delete ended ones and spent login counters; how many went."""
    slots = relay.prune(host, now=now, older_than=ENDED_SLOTS_KEPT)
    with host.db.write() as session:
        counters = login_throttle.prune(session, host.settings, now)
    return Pruned(relay_slots=slots, login_counters=counters)
