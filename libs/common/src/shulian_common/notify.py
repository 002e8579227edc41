"""``LISTEN shulian_outbox`` on a dedicated asyncpg connection, waking a relay on each notification.

Units of work send ``NOTIFY shulian_outbox`` in the transaction that appends outbox rows, so the
notification arrives when they commit, in whichever process. The listener is best effort: polling
remains the relay's fallback, so a listener that cannot connect (or whose connection drops) only
makes the relay slower until ``ensure`` reconnects it, at most once per ``RECONNECT_INTERVAL``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.uow import NOTIFY_CHANNEL

logger = logging.getLogger(__name__)

RECONNECT_INTERVAL = 5.0  # seconds between attempts to (re)open the LISTEN connection
CONNECT_TIMEOUT = 5.0


class NotifyListener:
    """Sets ``wake`` whenever a ``NOTIFY`` on ``NOTIFY_CHANNEL`` reaches ``engine``'s database."""

    def __init__(self, engine: AsyncEngine, wake: asyncio.Event) -> None:
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._wake = wake
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
            await connection.add_listener(NOTIFY_CHANNEL, self._notified)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            logger.warning("outbox LISTEN unavailable, polling: %s: %s", type(exc).__name__, exc)
            return
        self._connection = connection
        self._wake.set()  # rows may have committed while nobody listened

    async def close(self) -> None:
        """Close the ``LISTEN`` connection."""
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            await connection.close(timeout=CONNECT_TIMEOUT)

    def _notified(self, *_args: object) -> None:
        self._wake.set()
