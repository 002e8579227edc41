"""Which failures are the platform's (wait and retry) and which are a record's own (retry, DLT)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from shulian_common.bus.base import BusError
from shulian_common.infrastructure import is_infrastructure_error


class DriverError(Exception):
    """A DBAPI exception as SQLAlchemy's asyncpg adapter raises it: with its SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate
        self.pgcode = sqlstate


def dbapi(cls: type[DBAPIError], sqlstate: str = "", *, invalidated: bool = False) -> DBAPIError:
    return cls("SELECT 1", {}, DriverError(sqlstate), connection_invalidated=invalidated)


def raised_from(outer: Exception, cause: BaseException) -> Exception:
    try:
        raise outer from cause
    except Exception as exc:
        return exc


INFRASTRUCTURE = {
    "pool checkout timeout": PoolTimeoutError("QueuePool limit of size 1 overflow 0 reached"),
    "operational error": dbapi(OperationalError),
    "interface error": dbapi(InterfaceError),
    "invalidated connection": dbapi(DBAPIError, invalidated=True),
    "disconnection": DisconnectionError("connection closed"),
    "admin shutdown (57P01)": dbapi(DBAPIError, "57P01"),
    "too many connections (53300)": dbapi(DBAPIError, "53300"),
    "serialization failure (40001)": dbapi(DBAPIError, "40001"),
    "deadlock (40P01)": dbapi(DBAPIError, "40P01"),
    "connection failure (08006)": dbapi(DBAPIError, "08006"),
    "OSError": OSError("network unreachable"),
    "ConnectionRefusedError": ConnectionRefusedError(111, "refused"),
    "TimeoutError (asyncio.TimeoutError is it)": TimeoutError(),
    "BusError": BusError("broker down"),
    "raised from a pool timeout": raised_from(RuntimeError("could not load"), PoolTimeoutError()),
    "statement error around OSError": StatementError("x", "SELECT 1", {}, OSError("reset")),
}

RECORD_ERRORS = {
    "handler bug": RuntimeError("boom"),
    "bad value": ValueError("n must be positive"),
    "integrity error (23505)": dbapi(IntegrityError, "23505"),
    "syntax error (42601)": dbapi(ProgrammingError, "42601"),
    "validation error": ValidationError.from_exception_data("M", []),
    "statement error around a bad value": StatementError("x", "SELECT 1", {}, ValueError("n")),
    "key error": KeyError("missing"),
}


@pytest.mark.parametrize("error", INFRASTRUCTURE.values(), ids=INFRASTRUCTURE.keys())
def test_platform_failures_are_infrastructure_errors(error: BaseException) -> None:
    assert is_infrastructure_error(error)


@pytest.mark.parametrize("error", RECORD_ERRORS.values(), ids=RECORD_ERRORS.keys())
def test_a_records_own_failures_are_not(error: BaseException) -> None:
    assert not is_infrastructure_error(error)


def test_a_cause_chain_with_a_cycle_ends() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert not is_infrastructure_error(first)
