"""The province's network as deployment sees it: nodes, services, topics, settings.

Three sources and no other: ``deploy/network.toml`` (what only ops decide: partitions, retention,
replication, images, partners, setting values), the reference data (the province and its 21
cities, ``shulian_common.reference``) and the event catalogue of the installed services, which
must agree with their committed ``asyncapi.json`` (a topic in one and not the other is an error,
not a guess). Everything under ``deploy/`` that ops apply is rendered from a ``Network``.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shulian_common.bus.base import dlt_topic
from shulian_common.catalogue import catalogue
from shulian_common.commands import CommandModel
from shulian_common.contracts import contract_path
from shulian_common.reference import cities, province
from shulian_common.service import installed_services
from shulian_common.settings import PartnerGrant, Settings

NETWORK_FILE = Path("deploy", "network.toml")


class TopicKind(StrEnum):
    """What a topic carries, which decides its defaults and who may read it."""

    EVENT = "event"
    COMMAND = "command"
    DLT = "dlt"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicPolicy(_Strict):
    """Partitions and retention of a kind of topic (or of one topic)."""

    partitions: int = Field(ge=1)
    retention_ms: int = Field(ge=-1)


class TopicOverride(_Strict):
    """What one topic changes of its kind's policy."""

    partitions: int | None = Field(default=None, ge=1)
    retention_ms: int | None = Field(default=None, ge=-1)


class KafkaConfig(_Strict):
    """The backbone's Strimzi cluster."""

    cluster: str
    namespace: str
    brokers: int = Field(ge=1)
    replicas: int = Field(ge=1)
    min_insync_replicas: int = Field(ge=1)
    storage: str
    version: str
    partner_consumer_byte_rate: int = Field(ge=0)
    partner_request_percentage: int = Field(ge=0, le=100)

    @property
    def tls_bootstrap(self) -> str:
        """The in-cluster bootstrap address of the TLS + SCRAM listener (services and KEDA)."""
        return f"{self.cluster}-kafka-bootstrap.{self.namespace}.svc.cluster.local:9093"


class ComposeConfig(_Strict):
    """The nodes and images of docker-compose.yml."""

    nodes: list[str] = Field(min_length=1)
    kafka_image: str
    postgres_image: str
    collector_image: str
    jaeger_image: str


class KubernetesConfig(_Strict):
    """What every node's overlay shares."""

    image_tag: str
    namespace_prefix: str
    min_replicas: int = Field(ge=1)
    max_replicas: int = Field(ge=1)
    lag_threshold: int = Field(ge=1)
    postgres_instances: int = Field(ge=1)
    postgres_storage: str
    postgres_image: str
    webhook_egress_port: int
    public_url: str


class Partner(_Strict):
    """A partner platform: a read-only Kafka principal, and what its token reads over HTTP."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$")
    description: str
    # Its HTTP grant (feed, live tail, webhooks), as ``SHULIAN_PARTNER_GRANTS`` holds it; empty
    # grants every public event. Kafka ACLs are per topic: they cannot narrow by city.
    grant: PartnerGrant = Field(default_factory=PartnerGrant)

    @property
    def subject(self) -> str:
        """The ``sub`` of the partner's tokens."""
        return f"partner:{self.name}"


class SettingValues(_Strict):
    """Setting values (by field name) for every deployment, then per target."""

    all: dict[str, Any] = Field(default_factory=dict)
    compose: dict[str, Any] = Field(default_factory=dict)
    kubernetes: dict[str, Any] = Field(default_factory=dict)


class Topics(_Strict):
    """The topic policies of ``network.toml``."""

    event: TopicPolicy
    command: TopicPolicy
    dlt: TopicPolicy
    override: dict[str, TopicOverride] = Field(default_factory=dict)


class NetworkFile(_Strict):
    """``deploy/network.toml``, validated."""

    kafka: KafkaConfig
    topics: Topics
    compose: ComposeConfig
    kubernetes: KubernetesConfig
    partners: list[Partner] = Field(default_factory=list)
    telemetry: dict[str, str] = Field(default_factory=dict)
    settings: SettingValues = Field(default_factory=SettingValues)


@dataclass(frozen=True, slots=True)
class Node:
    """One node: a GB/T 2260 code with its Chinese and English names."""

    code: str
    name: str
    name_en: str

    @property
    def is_province(self) -> bool:
        """Whether this is the provincial node."""
        return self.code == province().code


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic of the backbone, with its policy."""

    name: str
    service: str
    kind: TopicKind
    partitions: int
    retention_ms: int


@dataclass(frozen=True, slots=True)
class Service:
    """One installed service: its port offset, what it publishes and what it reads."""

    name: str
    port_offset: int
    publishes: tuple[str, ...]
    consumes: tuple[str, ...]
    settings: type[Settings]

    def consumer_group(self, node: str) -> str:
        """The consumer group of the service on ``node``, as its runtime names it."""
        return f"{self.name}-{node}"


@dataclass(frozen=True, slots=True)
class Network:
    """Everything the renderers need, from the three sources."""

    config: NetworkFile
    nodes: tuple[Node, ...]
    services: tuple[Service, ...]
    topics: tuple[Topic, ...]

    def topic(self, name: str) -> Topic:
        """The topic named ``name``."""
        return next(t for t in self.topics if t.name == name)

    def node(self, code: str) -> Node:
        """The node of ``code`` (one of the 22)."""
        for node in self.nodes:
            if node.code == code:
                return node
        raise LookupError(f"{code} is not a node of the network")

    def partitions_read(self, service: Service) -> int:
        """Partitions the service's consumer group reads: the most members that get any."""
        return sum(self.topic(name).partitions for name in service.consumes)

    def workers(self, target: str) -> int:
        """Processes ``shulian serve`` runs per container on ``target`` (``SHULIAN_WORKERS``)."""
        default = Settings.model_fields["workers"].default
        return int(self.setting_values(target).get("workers", default))

    def setting_values(self, target: str) -> dict[str, Any]:
        """Setting values for ``target`` (``compose`` or ``kubernetes``) on top of the code's."""
        values = dict(self.config.settings.all)
        values.update(getattr(self.config.settings, target))
        values["bus_partitions"] = self.config.topics.event.partitions
        values.setdefault("partner_grants", {p.subject: p.grant for p in self.config.partners})
        return values


class NetworkError(ValueError):
    """The sources disagree (a stale contract, an unknown node or setting)."""


def load_network(root: Path) -> Network:
    """The network of the repository at ``root``."""
    with (root / NETWORK_FILE).open("rb") as f:
        config = NetworkFile.model_validate(tomllib.load(f))
    services = _services()
    network = Network(
        config=config,
        nodes=tuple(_nodes()),
        services=tuple(services),
        topics=tuple(_topics(root, config.topics, services)),
    )
    _check(network)
    return network


def _nodes() -> list[Node]:
    return [Node(d.code, d.name, d.name_en or d.name) for d in [province(), *cities()]]


def _services() -> list[Service]:
    found = []
    settings_classes = _service_settings()
    for name, definition in installed_services().items():
        # The consumers of a node read the same topics on every node; the province stands for all.
        consumes = sorted({s.topic for s in definition.subscriptions(province().code)})
        found.append(
            Service(
                name=name,
                port_offset=definition.port_offset,
                publishes=tuple(catalogue.topics(name)),
                consumes=tuple(consumes),
                settings=settings_classes.get(name, Settings),
            )
        )
    return found


def _service_settings() -> dict[str, type[Settings]]:
    """Each installed service's settings class, found as the ``Settings`` subclass it loaded.

    The kit never imports a service: loading the entry points (``installed_services``) defines
    the subclasses, and a subclass names its service in the default of its ``service`` field.
    """
    installed = installed_services()
    found: dict[str, type[Settings]] = {}
    pending: list[type[Settings]] = list(Settings.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        name = cls.model_fields["service"].default
        if name in installed and cls.__module__.startswith(f"shulian_{name}."):
            found[name] = cls
    return found


def _topics(root: Path, policies: Topics, services: list[Service]) -> list[Topic]:
    kinds = _catalogue_topics()
    committed = _committed_topics(root, [s.name for s in services])
    if set(kinds) != set(committed):
        only_code = sorted(set(kinds) - set(committed))
        only_file = sorted(set(committed) - set(kinds))
        raise NetworkError(
            "the catalogue and the committed asyncapi.json files disagree "
            f"(catalogue only: {only_code}, committed only: {only_file}): refresh the contracts"
        )
    consumed = {topic for s in services for topic in s.consumes}
    unknown = sorted(consumed - set(kinds))
    if unknown:
        raise NetworkError(f"services consume topics nobody publishes: {unknown}")
    topics = []
    for name in sorted(kinds):
        topics.append(_topic(name, kinds[name], policies))
        # Every consumer creates and writes the DLT of what it reads; give every topic its DLT so
        # a new subscription never depends on a topic ops forgot.
        topics.append(_topic(dlt_topic(name), TopicKind.DLT, policies, service=committed[name]))
    return topics


def _catalogue_topics() -> dict[str, TopicKind]:
    """Each deployed topic: a command topic if it carries a command (decisions may share it)."""
    kinds: dict[str, TopicKind] = {}
    for spec in catalogue:
        if spec.service not in installed_services():
            continue  # models a test or an example registered: not deployed
        if issubclass(spec.model, CommandModel):
            kinds[spec.topic] = TopicKind.COMMAND
        else:
            kinds.setdefault(spec.topic, TopicKind.EVENT)
    return kinds


def _committed_topics(root: Path, services: list[str]) -> dict[str, str]:
    """Each topic of the committed contracts, with the service that publishes it."""
    topics: dict[str, str] = {}
    for service in services:
        path = contract_path(root, service)
        if not path.exists():
            raise NetworkError(f"{path} is missing: refresh the contracts")
        document = json.loads(path.read_text(encoding="utf-8"))
        for channel in document.get("channels", {}).values():
            topics[channel["address"]] = service
    return topics


def _topic(name: str, kind: TopicKind, policies: Topics, *, service: str | None = None) -> Topic:
    policy: TopicPolicy = getattr(policies, kind.value)
    override = policies.override.get(name, TopicOverride())
    return Topic(
        name=name,
        service=service or name.split(".")[1],
        kind=kind,
        partitions=override.partitions or policy.partitions,
        retention_ms=policy.retention_ms
        if override.retention_ms is None
        else override.retention_ms,
    )


def _check(network: Network) -> None:
    codes = {node.code for node in network.nodes}
    for code in network.config.compose.nodes:
        if code not in codes:
            raise NetworkError(f"compose node {code} is not the province or one of its cities")
    not_otel = sorted(name for name in network.config.telemetry if not name.startswith("OTEL_"))
    if not_otel:
        raise NetworkError(f"[telemetry] holds OTEL_* variables only, not {not_otel}")
    unknown_overrides = set(network.config.topics.override) - {t.name for t in network.topics}
    if unknown_overrides:
        raise NetworkError(f"overrides for unknown topics: {sorted(unknown_overrides)}")
    fields = set(Settings.model_fields)
    for service in network.services:
        fields |= set(service.settings.model_fields)
    for target in ("all", "compose", "kubernetes"):
        values: Mapping[str, Any] = getattr(network.config.settings, target)
        unknown = sorted(set(values) - fields)
        if unknown:
            raise NetworkError(f"[settings.{target}] names settings no service reads: {unknown}")
