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


def test_stored_json_text_is_sent_as_it_is() -> None:
    stored = '{"name":"宜宾人力资源有限公司","count":3}'
    assert _value_of(stored) == stored.encode()


def test_escaped_surrogates_go_through_the_encoder() -> None:
    pair = '{"emoji":"\\ud83d\\ude00"}'  # a valid pair, escaped: sent as UTF-8
    assert _value_of(pair) == '{"emoji":"😀"}'.encode()
    lone = '{"x":"\\uD800"}'  # valid JSON, not UTF-8: refused, so the relay parks the row
    with pytest.raises(UnicodeEncodeError):
        _value_of(lone)


def _value_of(stored: str) -> bytes:
    return outgoing_message(_Row({**_ROW, "data": stored})).value  # type: ignore[arg-type]


_ROW = {
    "seq": 1,
    "event_id": "e-1",
    "topic": "shulian.registry.suppliers.v1",
    "key": "s-1",
    "type": "cn.sichuan.shulian.registry.supplier.created.v1",
    "source": "/nodes/510100/registry",
    "subject": None,
    "time": datetime(2026, 12, 1, tzinfo=UTC),
    "traceparent": None,
}
