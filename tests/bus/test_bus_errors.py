"""Failures surface as ``BusError``, quickly, and leave the client retryable."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from shulian_common.bus import BusError, OutgoingMessage
from shulian_common.bus.kafka import KafkaBus
from shulian_common.bus.local import LocalBus

MESSAGE = OutgoingMessage("shulian.test.errors.v1", "k", b"{}")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_kafka_down_fails_fast_and_stays_retryable() -> None:
    bus = KafkaBus(f"127.0.0.1:{closed_port()}", enable_idempotence=False, acks="all", linger_ms=5)
    publisher = bus.publisher()
    started = time.monotonic()

    with pytest.raises(BusError):
        await publisher.ping()
    with pytest.raises(BusError):
        await publisher.publish([MESSAGE])  # tries to connect again, fails again
    with pytest.raises(BusError):
        await bus.ensure_topics(["shulian.test.errors.v1"])
    with pytest.raises(BusError):
        await bus.subscriber(topics=["shulian.test.errors.v1"], group_id="g").start()

    assert time.monotonic() - started < 10
    await publisher.stop()


async def test_local_log_on_an_unusable_path_raises_bus_error(tmp_path: Path) -> None:
    bus = LocalBus(tmp_path, partitions=3)  # a directory, not a database file
    publisher = bus.publisher()

    with pytest.raises(BusError):
        await publisher.publish([MESSAGE])
    with pytest.raises(BusError):
        await publisher.ping()
    await publisher.stop()
