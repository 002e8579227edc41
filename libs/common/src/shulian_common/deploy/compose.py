"""docker-compose.yml: every service for the compose nodes, on real Kafka, PostgreSQL and Jaeger.

Apache Kafka (KRaft, one broker) gets its topics from a one-shot ``kafka-topics`` step (the
catalogue's topics and their DLTs, with the partitions and retention of ``network.toml``) before
any service starts; PostgreSQL holds one database per node and service; the collector forwards
traces to Jaeger. Services start once their database is healthy and the topic step has
succeeded, run with ``SHULIAN_ENV=production``, idempotent producers and ``acks=all``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shulian_common.db import CONNECTIONS_PER_PROCESS
from shulian_common.deploy.network import Network, Node, Service
from shulian_common.deploy.settings_env import common_env, env_name, service_env
from shulian_common.deploy.yaml_out import env_file, header, yaml_text

COMPOSE_FILE = Path("docker-compose.yml")
TOPICS_SCRIPT = Path("deploy", "compose", "create-topics.sh")
POSTGRES_INIT = Path("deploy", "postgres-init.sql")
SETTINGS = Path("deploy", "compose", "settings")
TARGET = "compose"
BASE_PORT = 8000
PORTS_PER_NODE = 10
DB_PASSWORD = "${SHULIAN_DB_PASSWORD:-shulian}"
JWT = "${SHULIAN_JWT_SECRET:?set SHULIAN_JWT_SECRET to a random string of 32+ characters}"
KAFKA_BIN = "/opt/kafka/bin"
RESERVED_CONNECTIONS = 10  # ops' psql and PostgreSQL's superuser reserve


def render(network: Network) -> dict[Path, str]:
    """docker-compose.yml, its settings, its topic step and its database script."""
    files = {SETTINGS / "common.env": env_file(common_env(network, TARGET))}
    for service in network.services:
        files[SETTINGS / f"{service.name}.env"] = env_file(service_env(network, service, TARGET))
    return files | {
        COMPOSE_FILE: _compose(network),
        TOPICS_SCRIPT: _topics_script(network),
        POSTGRES_INIT: _postgres_init(network),
    }


def compose_nodes(network: Network) -> list[Node]:
    """The nodes compose runs, in port order."""
    return [network.node(code) for code in network.config.compose.nodes]


def container_name(service: Service, node: Node) -> str:
    """The compose service of one service on one node."""
    return f"{service.name}-{node.code}"


def host_port(index: int, service: Service) -> int:
    """The host port of a service of the ``index``-th compose node (as ``shulian up``)."""
    return BASE_PORT + index * PORTS_PER_NODE + service.port_offset


def _compose(network: Network) -> str:
    services: dict[str, Any] = {
        "kafka": _kafka(network),
        "kafka-topics": _topic_step(network),
        "postgres": _postgres(network),
        "jaeger": _jaeger(network),
        "otel-collector": _collector(network),
    }
    for index, node in enumerate(compose_nodes(network)):
        for service in network.services:
            services[container_name(service, node)] = _service(service, node, index)
    document = {
        "name": "shulian",
        "services": services,
        "networks": {"shulian": {}},
        "volumes": {"kafka-data": {}, "postgres-data": {}},
    }
    ports = ", ".join(
        f"{node.code} {host_port(i, network.services[0])}-{host_port(i, network.services[-1])}"
        for i, node in enumerate(compose_nodes(network))
    )
    comment = (
        "Shulian on Apache Kafka (KRaft), PostgreSQL, the OpenTelemetry Collector and Jaeger,\n"
        f"every service for the nodes {', '.join(network.config.compose.nodes)}:\n\n"
        '  export SHULIAN_JWT_SECRET="$(openssl rand -hex 32)"\n'
        "  docker compose up --build --wait\n\n"
        f"Host ports (127.0.0.1 only): {ports}; Jaeger UI 16686. See deploy/README.md."
    )
    return header(comment) + "\n" + yaml_text(document)


def _healthcheck(test: list[str], **timing: str | int) -> dict[str, Any]:
    defaults: dict[str, str | int] = {
        "interval": "10s",
        "timeout": "5s",
        "retries": 10,
        "start_period": "30s",
    }
    return {"test": test, **defaults, **timing}


def _long_running(image: str) -> dict[str, Any]:
    """What every container that keeps running shares: its image, restarts, the network."""
    return {"image": image, "restart": "unless-stopped", "networks": ["shulian"]}


def _kafka(network: Network) -> dict[str, Any]:
    return {
        **_long_running(network.config.compose.kafka_image),
        "ports": ["127.0.0.1:9094:9094"],
        "environment": {
            # A fixed KRaft cluster id (base64 of 16 bytes): the data volume survives re-creation.
            "CLUSTER_ID": "pdmJZNwKW4e2_qoykSe86Q",
            "KAFKA_NODE_ID": "1",
            "KAFKA_PROCESS_ROLES": "broker,controller",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@kafka:9093",
            "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
            # PLAINTEXT for containers (kafka:9092), EXTERNAL for the host (127.0.0.1:9094).
            "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093,EXTERNAL://:9094",
            "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://kafka:9092,EXTERNAL://127.0.0.1:9094",
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,EXTERNAL:PLAINTEXT"
            ),
            "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
            "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
            # One broker: nothing can have more than one replica.
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
            "KAFKA_MIN_INSYNC_REPLICAS": "1",
            "KAFKA_NUM_PARTITIONS": str(network.config.topics.event.partitions),
            # Topics come from the kafka-topics step, with their partitions and retention.
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
            "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
            "KAFKA_HEAP_OPTS": "-Xms512m -Xmx512m",
        },
        "volumes": ["kafka-data:/var/lib/kafka/data"],
        "healthcheck": _healthcheck(
            [
                "CMD-SHELL",
                f"{KAFKA_BIN}/kafka-broker-api-versions.sh --bootstrap-server localhost:9092"
                " >/dev/null 2>&1",
            ],
            timeout="15s",
        ),
    }


def _topic_step(network: Network) -> dict[str, Any]:
    return {
        "image": network.config.compose.kafka_image,
        "networks": ["shulian"],
        "restart": "no",
        "depends_on": {"kafka": {"condition": "service_healthy"}},
        "entrypoint": ["/bin/bash", f"/{TOPICS_SCRIPT.name}"],
        "environment": {"BOOTSTRAP": "kafka:9092"},
        "volumes": [f"./{TOPICS_SCRIPT.as_posix()}:/{TOPICS_SCRIPT.name}:ro"],
    }


def max_connections(network: Network) -> int:
    """``max_connections`` of compose's one PostgreSQL: every process of every service at once.

    Each compose service runs ``SHULIAN_WORKERS`` processes of at most ``CONNECTIONS_PER_PROCESS``
    connections; two nodes of four services are already past PostgreSQL's default of 100.
    """
    services = len(network.config.compose.nodes) * len(network.services)
    processes = services * network.workers(TARGET)
    return processes * CONNECTIONS_PER_PROCESS + RESERVED_CONNECTIONS


def _postgres(network: Network) -> dict[str, Any]:
    return {
        **_long_running(network.config.compose.postgres_image),
        "command": ["postgres", "-c", f"max_connections={max_connections(network)}"],
        "environment": {
            "POSTGRES_USER": "shulian",
            "POSTGRES_PASSWORD": DB_PASSWORD,
            "POSTGRES_DB": "shulian",
        },
        "volumes": [
            "postgres-data:/var/lib/postgresql/data",
            f"./{POSTGRES_INIT.as_posix()}:/docker-entrypoint-initdb.d/10-databases.sql:ro",
        ],
        # Over TCP: the init scripts run on a socket-only server, so this passes once they are done.
        "healthcheck": _healthcheck(
            ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U shulian -d shulian"],
            interval="5s",
            retries=20,
            start_period="10s",
        ),
    }


def _jaeger(network: Network) -> dict[str, Any]:
    return {
        **_long_running(network.config.compose.jaeger_image),
        # The trace viewer; it receives OTLP from the collector on jaeger:4317.
        "ports": ["127.0.0.1:16686:16686"],
    }


def _collector(network: Network) -> dict[str, Any]:
    return {
        **_long_running(network.config.compose.collector_image),
        # The image has no shell for a healthcheck: services wait for it to start, and their
        # exporters retry. Its health endpoint is published on 13133.
        "depends_on": {"jaeger": {"condition": "service_started"}},
        "ports": [
            "127.0.0.1:4317:4317",
            "127.0.0.1:4318:4318",
            "127.0.0.1:8889:8889",
            "127.0.0.1:13133:13133",
        ],
        "volumes": ["./deploy/otel-collector.yaml:/etc/otelcol-contrib/config.yaml:ro"],
    }


def _service(service: Service, node: Node, index: int) -> dict[str, Any]:
    port = host_port(index, service)
    database = f"{service.name}_{node.code}"
    environment = {
        env_name("node_id"): node.code,
        env_name("service"): service.name,
        env_name("database_url"): (
            f"postgresql+asyncpg://shulian:{DB_PASSWORD}@postgres:5432/{database}"
        ),
        env_name("jwt_secret"): JWT,
        env_name("public_url"): f"http://127.0.0.1:{port}",
        # compose's broker takes no login (PLAINTEXT); SASL_* would need this from a secret.
        env_name("kafka_sasl_password"): "",
    }
    definition: dict[str, Any] = {
        **_long_running(f"shulian-{service.name}:${{SHULIAN_IMAGE_TAG:-dev}}"),
        "build": {
            "context": ".",
            "dockerfile": "deploy/Dockerfile",
            "args": {"SERVICE": service.name},
        },
        "read_only": True,
        "tmpfs": ["/tmp"],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "ports": [f"127.0.0.1:{port}:8000"],
        "depends_on": {
            "postgres": {"condition": "service_healthy"},
            "kafka-topics": {"condition": "service_completed_successfully"},
            "otel-collector": {"condition": "service_started"},
        },
        # Every setting, at the values of network.toml or the code's defaults; then the node's.
        "env_file": [
            f"./{SETTINGS.as_posix()}/common.env",
            f"./{SETTINGS.as_posix()}/{service.name}.env",
        ],
        "environment": environment,
        # Ready (its database answers), so `docker compose up --wait` returns a usable platform.
        "healthcheck": _healthcheck(
            [
                "CMD",
                "python",
                "-c",
                "import urllib.request; "
                "urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3)",
            ],
            retries=6,
        ),
    }
    return definition


def _topics_script(network: Network) -> str:
    lines = [
        "#!/usr/bin/env bash",
        header(
            "The topic step of docker-compose.yml: every topic of the catalogue and its DLT,\n"
            "created once (existing topics are left as they are) before any service starts."
        ).rstrip("\n"),
        "set -euo pipefail",
        'BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"',
        "",
        "create() {  # topic partitions retention.ms",
        f'  {KAFKA_BIN}/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create \\',
        '    --if-not-exists --topic "$1" --partitions "$2" --replication-factor 1 \\',
        '    --config "retention.ms=$3"',
        "}",
        "",
    ]
    lines += [f"create {t.name} {t.partitions} {t.retention_ms}" for t in network.topics]
    lines += ["", f'{KAFKA_BIN}/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --list', ""]
    return "\n".join(lines)


def _postgres_init(network: Network) -> str:
    lines = [
        header(
            "The compose databases, one per node and service ({service}_{node}). The postgres\n"
            "image runs this once, on an empty data volume: after adding a node, run\n"
            "`docker compose down -v` (it deletes the data) or create its databases by hand.",
            mark="--",
        ).rstrip("\n")
    ]
    for node in compose_nodes(network):
        lines.append("")
        lines += [f"CREATE DATABASE {s.name}_{node.code};" for s in network.services]
    return "\n".join(lines) + "\n"
