"""The embedded bus: a durable local log in one SQLite file, shared by every process on the machine.

Each service runs in its own process and all of them open the same ``bus.db``: SQLite in WAL mode
lets readers run beside one writer, and every write is a short ``BEGIN IMMEDIATE`` transaction so
writers queue on the busy timeout instead of failing on a lock upgrade. Records are never deleted
(no retention): the log is the durable history that new consumer groups replay from the start.
A publish wakes the waiting group members of every process through Unix datagram sockets in
``<dir>/.wake/`` (``shulian_common.wake``); they poll only as a fallback, every second.

``store`` holds the log's SQL, ``groups`` the consumer-group leases, ``client`` the async API.
"""

from __future__ import annotations

from shulian_common.bus.local.client import LocalBus, LocalPublisher, LocalReader, LocalSubscriber

__all__ = ["LocalBus", "LocalPublisher", "LocalReader", "LocalSubscriber"]
