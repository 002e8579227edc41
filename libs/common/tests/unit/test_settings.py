from pathlib import Path

import pytest
from pydantic import ValidationError

from shulian_common.settings import Settings


def test_defaults_follow_the_design(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHULIAN_DATABASE_URL", raising=False)
    monkeypatch.delenv("SHULIAN_BUS_URL", raising=False)
    settings = Settings(data_dir=tmp_path, node_id="510100", service="registry")
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path}/510100/registry.db"
    assert settings.resolved_bus_url == f"local://{tmp_path}/bus.db"
    assert settings.source == "/nodes/510100/registry"


def test_environment_variables_use_the_shulian_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHULIAN_NODE_ID", "511500")
    monkeypatch.setenv("SHULIAN_BUS_URL", "kafka://k1:9092,k2:9092")
    settings = Settings()
    assert settings.node_id == "511500"
    assert settings.resolved_bus_url == "kafka://k1:9092,k2:9092"


@pytest.mark.parametrize("node", ["110000", "5101", "519999", "abcdef"])
def test_node_must_be_a_sichuan_division(node: str) -> None:
    with pytest.raises(ValidationError, match="node_id"):
        Settings(node_id=node)


def test_default_secret_is_refused_outside_dev() -> None:
    with pytest.raises(ValidationError, match="SHULIAN_JWT_SECRET"):
        Settings(env="production")
    assert Settings(env="production", jwt_secret="a-real-secret-from-the-vault").env == "production"


def test_consumer_batch_size_is_read_from_the_environment_and_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().consumer_batch_size == 100
    monkeypatch.setenv("SHULIAN_CONSUMER_BATCH_SIZE", "200")
    assert Settings().consumer_batch_size == 200
    monkeypatch.setenv("SHULIAN_CONSUMER_BATCH_SIZE", "0")
    with pytest.raises(ValidationError, match="consumer_batch_size"):
        Settings()


async def test_kafka_fetch_max_wait_reaches_the_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    from shulian_common.bus import bus_from_url
    from shulian_common.bus.kafka import KafkaBus

    assert Settings().kafka_fetch_max_wait_ms == 20
    monkeypatch.setenv("SHULIAN_KAFKA_FETCH_MAX_WAIT_MS", "35")
    bus = bus_from_url("kafka://127.0.0.1:9", Settings())
    assert isinstance(bus, KafkaBus)
    subscriber = bus.subscriber(topics=["t"], group_id="g")
    consumer = subscriber._new_consumer()  # not started: nothing connects
    try:
        assert consumer._fetch_max_wait_ms == 35
    finally:
        await consumer.stop()


def test_the_demo_network_setting_names_known_divisions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHULIAN_DEMO_NODES", " 510000, 510100 ,511500")
    assert Settings().demo_network == ["510000", "510100", "511500"]
    assert Settings(demo_nodes="").demo_network == []
    with pytest.raises(ValidationError, match="519999"):
        Settings(demo_nodes="510000,519999")
