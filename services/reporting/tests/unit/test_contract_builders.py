"""The test builders write registry events with exactly the fields of the committed contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shulian_common.envelope import CloudEvent
from shulian_reporting import testing as t

CONTRACT = Path(__file__).resolve().parents[3] / "registry" / "asyncapi.json"
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
]


def _schema(document: dict[str, Any], event_type: str) -> dict[str, Any]:
    for message in document["components"]["messages"].values():
        if message["name"] == event_type:
            name = message["payload"]["$ref"].rsplit("/", 1)[1]
            schema: dict[str, Any] = document["components"]["schemas"][name]
            return schema
    raise AssertionError(f"{event_type} is not in the registry's contract")


@pytest.mark.parametrize(
    ("topic", "event"),
    BUILT,
    ids=[e.type.split(".")[-3] + "." + e.type.split(".")[-2] for _, e in BUILT],
)
def test_builder_matches_the_contract(topic: str, event: CloudEvent) -> None:
    document = json.loads(CONTRACT.read_text(encoding="utf-8"))
    schema = _schema(document, event.type)
    assert set(event.data) == set(schema["properties"])
    assert set(schema.get("required", [])) <= set(event.data)
    assert topic in {channel["address"] for channel in document["channels"].values()}
