"""Which failures are the platform's rather than a record's (or a request's) own.

An infrastructure failure says nothing about the data being handled: the database or the bus is
unreachable, a pool checkout timed out, the server is shutting down or shed the transaction. The
cure is to wait and try again, never to dead-letter or park what was being handled.
"""

from __future__ import annotations

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from shulian_common.bus.base import BusError

# Always the platform's: the bus, sockets and timeouts (OSError covers ConnectionError and
# TimeoutError, hence asyncio.TimeoutError), SQLAlchemy's pool checkout timeout and disconnects,
# and the DBAPI's operational and interface errors (server gone, database locked, …).
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    BusError,
    OSError,
    PoolTimeoutError,
    DisconnectionError,
    OperationalError,
    InterfaceError,
)

# PostgreSQL SQLSTATE classes that describe the server, not the statement: 08 connection
# exception, 40 transaction rollback (serialization failure, deadlock), 53 insufficient
# resources, 57 operator intervention (admin shutdown, cannot connect now), 58 system error.
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})


def is_infrastructure_error(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, is a failure of the platform."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_infrastructure(current):
            return True
        # A handler that re-raises a database failure as its own error (``raise X from exc``)
        # keeps it as the cause; a statement error keeps the driver's exception as ``orig``.
        orig = current.orig if isinstance(current, StatementError) else None
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


def _is_infrastructure(exc: BaseException) -> bool:
    if isinstance(exc, INFRASTRUCTURE_ERRORS):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return _sqlstate(exc)[:2] in TRANSIENT_SQLSTATE_CLASSES


def _sqlstate(exc: BaseException) -> str:
    """The SQLSTATE a driver exception carries (asyncpg ``sqlstate``, psycopg ``pgcode``)."""
    for attribute in ("sqlstate", "pgcode"):
        value = getattr(exc, attribute, None)
        if isinstance(value, str):
            return value
    return ""
