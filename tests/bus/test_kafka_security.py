"""Clients log in to brokers that ask for it: SASL/SCRAM and TLS from the settings.

A broker that requires authentication (Tansu with ``--authentication``) refuses a client whose
login fails; the kit reports that as ``BusError`` while connecting, as it does a broker that is
down, so the relay retries and ``/readyz`` reports the bus instead of a crash.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from shulian_common.bus import BusError, OutgoingMessage, bus_from_url
from shulian_common.bus import kafka as kafka_module
from shulian_common.bus.kafka import KafkaBus, client_security
from shulian_common.settings import Settings
from shulian_common.testing.kafka import start_tansu

MESSAGE = OutgoingMessage("shulian.test.security.v1", "k", b"{}")
SCRAM = {
    "kafka_security_protocol": "SASL_PLAINTEXT",
    "kafka_sasl_username": "node-510100-registry",
    "kafka_sasl_password": "not-a-user-here",
}


def test_plaintext_is_the_default_and_adds_no_credentials() -> None:
    assert client_security(Settings()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_without_credentials_is_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="SHULIAN_KAFKA_SASL_USERNAME"):
        Settings(kafka_security_protocol="SASL_SSL")
    with pytest.raises(ValidationError, match="SHULIAN_KAFKA_SASL_PASSWORD"):
        Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u")


def test_sasl_ssl_gives_aiokafka_the_login_and_a_tls_context() -> None:
    settings = Settings(**{**SCRAM, "kafka_security_protocol": "SASL_SSL"})
    options = client_security(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "node-510100-registry"
    assert options["sasl_plain_password"] == "not-a-user-here"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_the_password_never_shows_in_the_settings_repr() -> None:
    assert "not-a-user-here" not in repr(Settings(**SCRAM))


async def test_every_client_of_the_bus_carries_the_login(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def recording(kind: str) -> Any:
        class Client:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                seen.append((kind, kwargs))

            async def start(self) -> None:
                raise OSError("recorded, not connected")

            async def stop(self) -> None:
                return None

            async def close(self) -> None:
                return None

        return Client

    for kind in ("AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"):
        monkeypatch.setattr(kafka_module, kind, recording(kind))
    bus = bus_from_url("kafka://127.0.0.1:9", Settings(**SCRAM))
    with pytest.raises(BusError):
        await bus.publisher().start()
    with pytest.raises(BusError):
        await bus.subscriber(topics=["t"], group_id="g").start()
    with pytest.raises(BusError):
        await bus.ensure_topics(["t"])

    assert {kind for kind, _ in seen} == {
        "AIOKafkaProducer",
        "AIOKafkaConsumer",
        "AIOKafkaAdminClient",
    }
    for _, kwargs in seen:
        assert kwargs["security_protocol"] == "SASL_PLAINTEXT"
        assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
        assert kwargs["sasl_plain_username"] == "node-510100-registry"


@pytest.fixture(scope="module")
def authenticating_broker() -> Iterator[str]:
    with start_tansu(authentication=True) as bootstrap:
        yield bootstrap


async def test_a_refused_login_is_a_bus_error_and_stays_retryable(
    authenticating_broker: str,
) -> None:
    bus = bus_from_url(
        f"kafka://{authenticating_broker}",
        Settings(**SCRAM, kafka_enable_idempotence=False),
    )
    assert isinstance(bus, KafkaBus)
    publisher = bus.publisher()
    started = time.monotonic()
    for _ in range(2):  # the second publish connects afresh and is refused afresh
        with pytest.raises(BusError):
            await publisher.publish([MESSAGE])
    with pytest.raises(BusError):
        await bus.ensure_topics([MESSAGE.topic])
    assert time.monotonic() - started < 30
    await publisher.stop()


async def test_a_client_that_does_not_log_in_is_refused_too(authenticating_broker: str) -> None:
    bus = bus_from_url(f"kafka://{authenticating_broker}", Settings(kafka_enable_idempotence=False))
    publisher = bus.publisher()
    with pytest.raises(BusError):
        await publisher.publish([MESSAGE])
    await publisher.stop()
