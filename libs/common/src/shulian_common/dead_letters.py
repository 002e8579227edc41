"""Dead letters: a poison record copied to ``{topic}.DLT`` with where it came from and why.

The copy keeps the original key, value and headers, so it can be inspected and replayed as it was,
and adds ``dlt_origin_topic``, ``dlt_origin_partition``, ``dlt_origin_offset``, ``dlt_error`` and
``dlt_consumer``. The error text never carries input values or SQL parameters (personal data).
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.exc import StatementError

from shulian_common.bus.base import OutgoingMessage, Record, dlt_topic

DLT_ERROR_LIMIT = 512  # characters of the error kept in the dlt_error header


def error_text(exc: BaseException) -> str:
    """``Type: message`` without input values or SQL parameters (personal data), truncated."""
    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in cause.errors(include_url=False, include_input=False)
        )
    elif isinstance(exc, StatementError):
        # The driver's first line names the problem; SQLAlchemy appends the SQL and parameters.
        details = str(exc.orig).splitlines()[0] if exc.orig is not None else ""
    else:
        details = str(exc)
    return f"{type(exc).__name__}: {details}"[:DLT_ERROR_LIMIT]


def dead_letter(record: Record, error: BaseException, *, consumer: str) -> OutgoingMessage:
    """The DLT copy of ``record``, which ``consumer`` could not use because of ``error``."""
    headers = [(k, v) for k, v in record.headers if not k.startswith("dlt_")]
    headers += [
        ("dlt_origin_topic", record.topic.encode()),
        ("dlt_origin_partition", str(record.partition).encode()),
        ("dlt_origin_offset", str(record.offset).encode()),
        ("dlt_error", error_text(error).encode()),
        ("dlt_consumer", consumer.encode()),
    ]
    key = record.key.decode("utf-8", "replace") if record.key else ""
    return OutgoingMessage(
        topic=dlt_topic(record.topic), key=key, value=record.value or b"", headers=headers
    )
