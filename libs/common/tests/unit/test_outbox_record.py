"""The relay's hand-built bus record is byte for byte the envelope's binary-mode record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shulian_common.envelope import CloudEvent
from shulian_common.outbox import outgoing_message
from shulian_common.uow import outbox_row


@pytest.mark.parametrize(
    ("subject", "traceparent"),
    [(None, None), ("suppliers/s-1", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")],
)
def test_outgoing_message_matches_the_envelope(
    subject: str | None, traceparent: str | None
) -> None:
    event = CloudEvent(
        source="/nodes/510100/registry",
        type="cn.sichuan.shulian.registry.supplier.created.v1",
        time=datetime(2026, 12, 1, 12, 30, 5, 123456, tzinfo=UTC),
        subject=subject,
        partitionkey="s-1",
        traceparent=traceparent,
        data={"name": "宜宾人力资源有限公司", "count": 3, "tags": ["猎头"]},
    )
    row = {**outbox_row(event, "shulian.registry.suppliers.v1"), "seq": 1}
    # SQLite hands the time back naive (UTC): the record must not change.
    for time in (row["time"], row["time"].replace(tzinfo=None)):
        message = outgoing_message(_Row({**row, "time": time}))  # type: ignore[arg-type]
        assert message.value == event.to_value()
        assert list(message.headers) == event.to_headers()
        assert (message.topic, message.key) == ("shulian.registry.suppliers.v1", "s-1")


class _Row:
    """Attribute access over a dict, like a SQLAlchemy ``Row``."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
