"""The reader-contract check: each field a reader reads exists in the producer, compatibly."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from shulian_common.catalogue import Catalogue, EventModel
from shulian_common.consumer import Subscription
from shulian_common.contracts import Mismatch, check_reader, check_subscriptions
from shulian_common.envelope import CloudEvent
from shulian_common.readers import ReaderModel, Reads
from shulian_common.uow import UnitOfWork

TYPE = "cn.sichuan.shulian.shop.widget.created.v1"
TOPIC = "shulian.shop.widgets.v1"


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Decision(EventModel):
    """Who let the widget out, and why."""

    reason: str | None
    decided_at: datetime


class WidgetCreated(EventModel):
    """A widget was created."""

    widget_id: str
    size: int = Field(ge=0)
    weight: float
    colour: Colour
    note: str | None = None
    tags: list[str]
    decision: Decision
    made_on: date
    labels: dict[str, int]


def _document() -> dict[str, Any]:
    """The producer's published contract, as read back from its committed file."""
    producer = Catalogue()
    producer.register(WidgetCreated, type=TYPE, topic=TOPIC)
    document: dict[str, Any] = json.loads(json.dumps(producer.asyncapi()))
    return document


def _check(reader: type[BaseModel], **where: str) -> list[Mismatch]:
    return check_reader(
        reader,
        event_type=where.get("type", TYPE),
        topic=where.get("topic", TOPIC),
        document=_document(),
    )


def _found(mismatches: list[Mismatch]) -> list[tuple[str, str]]:
    return [(m.path, m.problem) for m in mismatches]


class DecisionRead(ReaderModel):
    reason: str | None
    decided_at: datetime


class Fitting(ReaderModel):
    """Reads a subset, widened where the reader may: number for integer, a superset enum."""

    widget_id: str
    size: float
    colour: Literal["red", "blue", "green"]
    note: str | None = None
    tags: list[str]
    decision: DecisionRead
    made_on: date
    labels: dict[str, float]


def test_a_reader_of_a_subset_with_compatible_types_fits() -> None:
    assert _check(Fitting) == []


def test_a_reader_of_nothing_but_the_id_fits() -> None:
    class JustTheId(ReaderModel):
        widget_id: str

    assert _check(JustTheId) == []


class Renamed(ReaderModel):
    widget_ident: str


class Retyped(ReaderModel):
    size: str


class Narrowed(ReaderModel):
    weight: int


class RequiresOptional(ReaderModel):
    note: str | None


class RefusesNull(ReaderModel):
    decision: NullFreeDecision


class NullFreeDecision(ReaderModel):
    reason: str


class NestedRenamed(ReaderModel):
    decision: RenamedDecision


class RenamedDecision(ReaderModel):
    decided: datetime


class FewerColours(ReaderModel):
    colour: Literal["red"]


class OnlyOneId(ReaderModel):
    widget_id: Literal["w1"]


class WrongFormat(ReaderModel):
    made_on: datetime


class WrongItems(ReaderModel):
    tags: list[int]


class Bounded(ReaderModel):
    weight: float = Field(ge=0)


class WrongValues(ReaderModel):
    labels: dict[str, str]


RefusesNull.model_rebuild()
NestedRenamed.model_rebuild()


@pytest.mark.parametrize(
    ("reader", "expected"),
    [
        (Renamed, ("widget_ident", "not in the producer's schema (renamed or removed?)")),
        (Retyped, ("size", "the producer sends integer, the reader wants string")),
        (Narrowed, ("weight", "the producer sends number, the reader wants integer")),
        (RequiresOptional, ("note", "the reader requires it, the producer's schema may omit it")),
        (
            RefusesNull,
            ("decision.reason", "the producer may send null; the reader does not accept it"),
        ),
        (NestedRenamed, ("decision.decided", "not in the producer's schema (renamed or removed?)")),
        (
            FewerColours,
            ("colour", "the producer may send ['blue'], which the reader does not accept"),
        ),
        (OnlyOneId, ("widget_id", "the reader accepts only ['w1'], the producer any value")),
        (WrongFormat, ("made_on", "the reader wants format date-time, the producer date")),
        (WrongItems, ("tags[]", "the producer sends string, the reader wants integer")),
        (Bounded, ("weight", "the reader requires minimum 0, the producer promises None")),
        (WrongValues, ("labels{*}", "the producer sends integer, the reader wants string")),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_each_misfit_is_reported_at_its_field(
    reader: type[BaseModel], expected: tuple[str, str]
) -> None:
    assert _found(_check(reader)) == [expected]


def test_a_report_names_the_reader_the_type_the_field_and_the_problem() -> None:
    [mismatch] = _check(Renamed)

    assert str(mismatch) == (
        f"{__name__}.Renamed reading {TYPE}: widget_ident: "
        "not in the producer's schema (renamed or removed?)"
    )


def test_an_event_type_the_producer_does_not_publish_is_reported() -> None:
    gone = TYPE.replace("created", "made")

    assert _found(_check(Fitting, type=gone)) == [
        ("", f"the producer's contract has no event type {gone} (renamed or removed?)")
    ]


def test_a_type_read_from_the_wrong_topic_is_reported() -> None:
    assert _found(_check(Fitting, topic="shulian.shop.gadgets.v1")) == [
        ("", f"the producer does not publish {TYPE} on shulian.shop.gadgets.v1")
    ]


def test_a_producer_renaming_a_field_a_reader_uses_breaks_the_check() -> None:
    document = _document()
    payload = document["components"]["schemas"]["shop_widget_created_v1"]
    payload["properties"]["widget_key"] = payload["properties"].pop("widget_id")
    payload["required"] = ["widget_key" if f == "widget_id" else f for f in payload["required"]]

    mismatches = check_reader(Fitting, event_type=TYPE, topic=TOPIC, document=document)

    assert _found(mismatches) == [
        ("widget_id", "not in the producer's schema (renamed or removed?)")
    ]


async def _ignore(uow: UnitOfWork, event: CloudEvent, data: Any) -> None:
    """A handler these tests never call."""


def test_subscriptions_are_checked_against_the_contract_of_the_topics_service() -> None:
    asked: list[str] = []

    def contracts(service: str) -> dict[str, Any] | str:
        asked.append(service)
        return _document() if service == "shop" else f"no contract for {service}"

    subscriptions = [
        Subscription(TOPIC, {TYPE: Reads(Retyped, _ignore)}),
        Subscription(
            "shulian.depot.crates.v1",
            {"cn.sichuan.shulian.depot.crate.packed.v1": Reads(Fitting, _ignore)},
        ),
    ]

    mismatches = check_subscriptions(subscriptions, contracts=contracts)

    assert asked == ["shop", "depot"]
    assert [(m.event_type, m.path, m.problem) for m in mismatches] == [
        (TYPE, "size", "the producer sends integer, the reader wants string"),
        ("cn.sichuan.shulian.depot.crate.packed.v1", "", "no contract for depot"),
    ]
