"""Consumer-driven contracts: every reader model fits its producer's committed contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shulian_common.catalogue import topic_service
from shulian_common.consumer import Subscription
from shulian_common.contracts import check_installed, check_subscriptions, contract_path
from shulian_common.readers import Reads
from shulian_common.service import installed_services

ROOT = Path(__file__).resolve().parents[2]
NODE = "510000"


def test_every_reader_model_fits_its_producers_committed_contract() -> None:
    mismatches = check_installed(ROOT, node_id=NODE)
    assert mismatches == [], "\n".join(map(str, mismatches))


def _required_reads() -> list[tuple[str, str, Reads[Any], str]]:
    """(topic, event type, reader, field) for each field some installed reader requires."""
    return [
        (sub.topic, event_type, reads, field.alias or name)
        for definition in installed_services().values()
        for sub in definition.subscriptions(NODE)
        for event_type, reads in sub.handlers.items()
        for name, field in reads.model.model_fields.items()
        if field.is_required()
    ]


READS = _required_reads()


def test_the_installed_services_read_fields_of_each_others_events() -> None:
    # Guards the next test against passing on nothing: the registry's replica reads at least these.
    read = {(event_type.split(".")[-3], field) for _, event_type, _, field in READS}
    assert {("supplier", "name"), ("supplier", "owner_node"), ("supplier", "version")} <= read


@pytest.mark.parametrize(
    ("topic", "event_type", "reads", "field"),
    READS,
    ids=[f"{t.split('.')[-3]}.{t.split('.')[-2]}:{f}" for _, t, _, f in READS],
)
def test_renaming_a_producer_field_a_reader_uses_breaks_the_contract_test(
    topic: str, event_type: str, reads: Reads[Any], field: str
) -> None:
    path = contract_path(ROOT, topic_service(topic))
    document = json.loads(path.read_text(encoding="utf-8"))
    _rename_field(document, event_type, field, f"{field}_renamed")

    mismatches = check_subscriptions(
        [Subscription(topic, {event_type: reads})], contracts=lambda _service: document
    )

    assert [(m.event_type, m.path, m.problem) for m in mismatches] == [
        (event_type, field, "not in the producer's schema (renamed or removed?)")
    ]


def _rename_field(document: dict[str, Any], event_type: str, old: str, new: str) -> None:
    """Rename a top-level field of ``event_type``'s payload, as a careless producer would."""
    components = document["components"]
    [message] = [m for m in components["messages"].values() if m["name"] == event_type]
    payload = components["schemas"][message["payload"]["$ref"].rsplit("/", 1)[1]]
    payload["properties"][new] = payload["properties"].pop(old)
    payload["required"] = [new if name == old else name for name in payload["required"]]
