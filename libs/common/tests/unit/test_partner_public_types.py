"""A partner reads the same events over HTTP as over Kafka: the feed's public types of each
installed service are exactly the types of the event topics its partners' KafkaUser may read."""

from __future__ import annotations

from pathlib import Path

from shulian_common.catalogue import catalogue
from shulian_common.deploy.network import TopicKind, load_network
from shulian_common.feed import public_types
from shulian_common.service import installed_services

ROOT = Path(__file__).resolve().parents[4]


def test_the_feeds_public_types_are_those_of_the_partners_kafka_topics() -> None:
    network = load_network(ROOT)  # loads every installed service's catalogue
    readable = {t.name for t in network.topics if t.kind is TopicKind.EVENT}

    for service in installed_services():
        published = [spec for spec in catalogue if spec.service == service]
        on_kafka = {spec.type for spec in published if spec.topic in readable}
        assert public_types(service) == on_kafka, service


def test_matching_keeps_its_applications_and_grabs_from_partners() -> None:
    installed_services()
    public = public_types("matching")

    assert "cn.sichuan.shulian.matching.order.placed.v1" in public
    assert not {t for t in public if ".application." in t or ".grab." in t}
