"""Reader models: a consumer's own tolerant view of an event, used instead of the producer's."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from shulian_common.catalogue import EventDataError
from shulian_common.consumer import Subscription
from shulian_common.envelope import CloudEvent
from shulian_common.readers import IntolerantReaderError, ReaderModel, Reads
from shulian_common.uow import UnitOfWork

TYPE = "cn.sichuan.shulian.testsvc.widget.created.v1"
TOPIC = "shulian.testsvc.widgets.v1"


class Widget(ReaderModel):
    """All a consumer reads of a created widget."""

    widget_id: str
    size: int


async def ignore(uow: UnitOfWork, event: CloudEvent, data: Any) -> None:
    """A handler these tests never call."""


def _event(data: dict[str, object]) -> CloudEvent:
    return CloudEvent(source="/nodes/510000/testsvc", type=TYPE, partitionkey="w1", data=data)


def test_a_reader_ignores_fields_it_does_not_declare() -> None:
    data = {"widget_id": "w1", "size": 2, "colour": "red", "added_in_v1_1": {"x": 1}}

    parsed = Reads(Widget, ignore).parse(_event(data))

    assert parsed == Widget(widget_id="w1", size=2)


def test_data_that_does_not_fit_the_reader_is_an_event_data_error() -> None:
    with pytest.raises(EventDataError, match="size"):
        Reads(Widget, ignore).parse(_event({"widget_id": "w1", "size": "big"}))


class Forbidding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    widget_id: str


class Keeping(BaseModel):
    model_config = ConfigDict(extra="allow")

    widget_id: str


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str


class ForbiddingInside(ReaderModel):
    parts: list[Part]


@pytest.mark.parametrize(
    ("model", "named"),
    [(Forbidding, "Forbidding"), (Keeping, "Keeping"), (ForbiddingInside, "Part")],
)
def test_a_reader_that_refuses_or_keeps_unknown_fields_is_refused(
    model: type[BaseModel], named: str
) -> None:
    with pytest.raises(IntolerantReaderError, match=f"{named} must ignore unknown fields"):
        Reads(model, ignore)


def test_a_plain_pydantic_model_ignores_extras_and_may_read() -> None:
    class Plain(BaseModel):
        widget_id: str

    assert Reads(Plain, ignore).parse(_event({"widget_id": "w", "size": 1})) == Plain(widget_id="w")


@pytest.mark.parametrize(
    ("topic", "event_type"),
    [("widgets", TYPE), (TOPIC, "widget.created"), (TOPIC, f"{TYPE}.extra")],
)
def test_a_subscription_with_a_malformed_topic_or_type_is_refused(
    topic: str, event_type: str
) -> None:
    with pytest.raises(ValueError, match="must read"):
        Subscription(topic, {event_type: Reads(Widget, ignore)})
