"""The test builders write registry, events and matching events with exactly the fields of the
producers' committed contracts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shulian_common.envelope import CloudEvent
from shulian_reporting import testing as t
from shulian_reporting.testing import streams as s

SERVICES = Path(__file__).resolve().parents[3]
BUILT: list[tuple[str, CloudEvent]] = [
    t.supplier("a", city="510100"),
    t.supplier("a", city="510100", version=2, verb="listing_changed", status="listed"),
    t.supplier("a", city="510100", version=3, verb="updated", status="listed"),
    t.park("p", city="510100", level="national", linked=2, objects=1),
    t.park("p", city="510100", level="national", version=2),
    t.market("m", city="510100", kind="professional_market", level="national", linked=1),
    t.station("s", city="510100", kind="workstation"),
    t.scenario("c", city="510100", supplier_id="a"),
    t.pairing("r", city="513300", supplier_id="a"),
    t.platform("l", city=None),
    t.enterprise("e", city="510100"),
    s.activity("a", kind="province_fair", starts_at=t.T0),
    s.activity("a", kind="city_fair", city="510100", starts_at=t.T0, verb="completed",
               version=2, outcome=s.outcome(positions=3)),
    s.registration("g", activity_id="a", checked_in_at=t.T0),
    s.registration("g", activity_id="a", status="confirmed"),
    s.order("o", city="510100", head_count=3),
    s.order("o", city="510100", head_count=3, version=2, fulfilled_at=t.T0, placements=3),
    s.talent("x", city="510100"),
]  # fmt: skip


def _schema(document: dict[str, Any], event_type: str) -> dict[str, Any]:
    for message in document["components"]["messages"].values():
        if message["name"] == event_type:
            name = message["payload"]["$ref"].rsplit("/", 1)[1]
            schema: dict[str, Any] = document["components"]["schemas"][name]
            return schema
    raise AssertionError(f"{event_type} is not in its producer's contract")


@pytest.mark.parametrize(
    ("topic", "event"),
    BUILT,
    ids=[e.type.split(".")[-3] + "." + e.type.split(".")[-2] for _, e in BUILT],
)
def test_builder_matches_the_contract(topic: str, event: CloudEvent) -> None:
    service = event.type.split(".")[3]
    document = json.loads((SERVICES / service / "asyncapi.json").read_text(encoding="utf-8"))
    schema = _schema(document, event.type)
    assert set(event.data) == set(schema["properties"])
    assert set(schema.get("required", [])) <= set(event.data)
    assert topic in {channel["address"] for channel in document["channels"].values()}
