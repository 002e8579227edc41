"""Exceptions as they may be logged: without the input values validation errors quote."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.exceptions import ValidationException
from pydantic import ValidationError


class RedactedError(Exception):
    """Stands in, in logs, for an exception whose message would carry input values."""


def _is_validation_error(exc: BaseException) -> bool:
    return isinstance(exc, ValidationError | ValidationException)


def _error_chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _summary(exc: BaseException) -> str:
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if not _is_validation_error(exc):
        return f"{name}: {exc}"
    errors: list[Any] = exc.errors()  # type: ignore[attr-defined]
    where = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('type')}"
        for error in errors
    )
    return f"{name}: {len(errors)} invalid value(s), input withheld: {where}"


def _stand_in(exc: BaseException) -> BaseException:
    copy = RedactedError(_summary(exc)).with_traceback(exc.__traceback__)
    if exc.__cause__ is not None:
        copy.__cause__ = _stand_in(exc.__cause__)
    elif exc.__context__ is not None and not exc.__suppress_context__:
        copy.__context__ = _stand_in(exc.__context__)
    copy.__suppress_context__ = exc.__suppress_context__
    return copy


def loggable(exc: BaseException) -> BaseException:
    """``exc`` as it may be logged: validation errors (which quote their input, personal data
    as often as not) anywhere in its chain become stand-ins naming only fields and error types."""
    if not any(_is_validation_error(e) for e in _error_chain(exc)):
        return exc
    return _stand_in(exc)
