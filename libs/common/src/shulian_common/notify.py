"""Notifications between processes: ``LISTEN`` on a dedicated asyncpg connection on PostgreSQL,
wake-up sockets beside the database file on SQLite; either calls back on each notification.

Two channels, both sent inside the transaction whose commit they announce, so a notification
arrives when the commit is visible, in whichever process listens:

- ``shulian_outbox`` (``uow.NOTIFY_CHANNEL``): a unit of work appended outbox rows; relays wake and
  publish them.
- ``shulian_feed`` (``FEED_CHANNEL``): a relay gave rows their ``position``; the partner feed's long
  polls and live tails in every process wake and read them.

On SQLite (``WakeListener``) a channel is a wake directory beside the database file
(``<dir>/.wake/<file>.<channel>/``, see ``shulian_common.wake``): each listening process binds a
Unix datagram socket there, and ``notify`` sends a datagram to every one, once the commit it
announces is done. Every process serving one SQLite service database (``shulian serve`` with
several workers, a CLI command) shares it.

Either listener is best effort: polling remains the fallback, so a listener that cannot connect (or
whose connection drops) only makes its waiters slower until ``ensure`` reconnects it, at most once
per ``RECONNECT_INTERVAL``; on (re)connecting it calls every callback, since commits may have
happened while nobody listened.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.wake import Waker, WakeSocket, wake_dir

logger = logging.getLogger(__name__)

FEED_CHANNEL = "shulian_feed"  # relays NOTIFY here in the transaction that assigns positions
RECONNECT_INTERVAL = 5.0  # seconds between attempts to (re)open the LISTEN connection
CONNECT_TIMEOUT = 5.0


class NotifyListener:
    """Calls ``callbacks[channel]`` whenever a ``NOTIFY`` on ``channel`` reaches the database."""

    def __init__(self, engine: AsyncEngine, callbacks: Mapping[str, Callable[[], None]]) -> None:
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._callbacks = dict(callbacks)
        self._connection: Any = None
        self._tried_at: float | None = None

    @property
    def listening(self) -> bool:
        """Whether the ``LISTEN`` connection is open."""
        return self._connection is not None and not self._connection.is_closed()

    async def ensure(self) -> None:
        """Open the ``LISTEN`` connection unless it is open or was tried a moment ago."""
        if self.listening:
            return
        now = time.monotonic()
        if self._tried_at is not None and now - self._tried_at < RECONNECT_INTERVAL:
            return
        self._tried_at = now
        import asyncpg  # type: ignore[import-untyped]

        try:
            connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT)
            for channel in self._callbacks:
                await connection.add_listener(channel, self._notified)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            logger.warning("LISTEN unavailable, polling: %s: %s", type(exc).__name__, exc)
            return
        self._connection = connection
        for callback in self._callbacks.values():
            callback()  # commits may have happened while nobody listened

    async def close(self) -> None:
        """Close the ``LISTEN`` connection."""
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            await connection.close(timeout=CONNECT_TIMEOUT)

    def _notified(self, _connection: object, _pid: int, channel: str, _payload: str) -> None:
        callback = self._callbacks.get(channel)
        if callback is not None:
            callback()


class WakeListener:
    """Calls ``callbacks[channel]`` whenever another process ``notify``-s ``channel`` of the same
    SQLite file (the SQLite counterpart of ``NotifyListener``, on wake-up sockets)."""

    def __init__(self, database: Path, callbacks: Mapping[str, Callable[[], None]]) -> None:
        self._sockets = {
            channel: WakeSocket(wake_dir(database, channel), callback)
            for channel, callback in callbacks.items()
        }
        self._wakers: dict[str, Waker] = {}
        self._database = database
        self._callbacks = dict(callbacks)
        self._tried_at: float | None = None
        # A process that exits without ``close`` leaves no socket file behind either.
        weakref.finalize(self, _close_all, list(self._sockets.values()))

    @property
    def listening(self) -> bool:
        """Whether every channel's socket is bound."""
        return all(wake.listening for wake in self._sockets.values())

    async def ensure(self) -> None:
        """Bind the sockets (again, if their files vanished) unless tried a moment ago."""
        unbound = [(channel, wake) for channel, wake in self._sockets.items() if not wake.bound]
        if not unbound:
            return
        now = time.monotonic()
        if self._tried_at is not None and now - self._tried_at < RECONNECT_INTERVAL:
            return
        self._tried_at = now
        for channel, wake in unbound:
            if wake.open():
                self._callbacks[channel]()  # commits may have happened while nobody listened

    def notify(self, channel: str) -> int:
        """Wake every other process listening on ``channel``; how many sockets took it."""
        waker = self._wakers.get(channel)
        if waker is None:
            own = self._sockets.get(channel)
            waker = self._wakers[channel] = Waker(
                wake_dir(self._database, channel), skip=lambda: own.name if own else None
            )
        return waker.wake()

    async def close(self) -> None:
        """Close the sockets and remove their files."""
        _close_all(list(self._sockets.values()))
        for waker in self._wakers.values():
            waker.close()


def _close_all(sockets: list[WakeSocket]) -> None:
    for wake in sockets:
        wake.close()
