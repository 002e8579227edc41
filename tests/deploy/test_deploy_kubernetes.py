"""Every overlay and the backbone, built by kubectl, against the Kubernetes and the CRD schemas.

Core kinds are validated by kubernetes-validate (strict: an unknown field fails); the Strimzi,
KEDA and CloudNativePG resources by the operators' own CRD schemas, vendored in
``schemas/crds`` with their source and release (no package ships them), strict as well
(``crd_schemas``).
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.protocols
import kubernetes_validate
import pytest
from kubernetes_validate.utils import schema_contents
from referencing import Registry, Resource

from shulian_common.db import CONNECTIONS_PER_PROCESS
from shulian_common.deploy.kubernetes import max_replicas, namespace_of
from shulian_common.deploy.network import Network, TopicKind
from shulian_common.deploy.settings_env import env_name
from shulian_common.service import installed_services
from shulian_common.settings import Settings
from shulian_common.testing.node import node_settings, run_node

from .crd_schemas import cel_rules, crd_problems, vendored

KUBERNETES_VERSION = "1.32.0"  # the oldest release still supported when this was written


def _key(resource: dict[str, Any]) -> str:
    return f"{resource['apiVersion']}/{resource['kind']}"


@cache
def _validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    """kubernetes-validate's strict validator of a core kind.

    This is what ``kubernetes_validate.validate(..., strict=True)`` builds on each call (the
    schema and the definitions it refers to), built once: the definitions file is large, and 22
    overlays hold hundreds of resources.
    """
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    directory = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict"
    try:
        schema = schema_contents(f"{directory}/{kind.lower()}-{group}.json", KUBERNETES_VERSION)
    except FileNotFoundError:
        pytest.fail(f"no schema for {api_version} {kind}: vendor its CRD (schemas/README.md)")
    definitions = schema_contents(f"{directory}/_definitions.json", KUBERNETES_VERSION)
    registry: Registry[Any] = Resource.from_contents(definitions) @ (
        Resource.from_contents(schema) @ Registry()
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _invalid(resource: dict[str, Any]) -> list[str]:
    problems = crd_problems(resource)
    if problems is not None:
        return problems
    validator = _validator(resource["apiVersion"], resource["kind"])
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(resource)]


def test_the_cached_validators_agree_with_kubernetes_validate(
    built: dict[str, list[dict[str, Any]]],
) -> None:
    deployment = next(r for r in built["510100"] if r["kind"] == "Deployment")
    assert kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    assert _invalid(deployment) == []
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    assert _invalid(broken)


def test_every_resource_of_every_overlay_and_the_backbone_is_valid(
    built: dict[str, list[dict[str, Any]]],
) -> None:
    checked: Counter[str] = Counter()
    for build, resources in built.items():
        for resource in resources:
            problems = _invalid(resource)
            assert problems == [], f"{build} {resource['kind']}/{resource['metadata']['name']}"
            checked[_key(resource)] += 1
    assert len(built) == 23
    # Each kind reached a validator (a kind without a schema fails in _validator).
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "ConfigMap"):
        assert any(key.endswith(f"/{kind}") for key in checked), kind
    for key in vendored():
        assert checked[key] > 0, f"nothing rendered is a {key}: drop its vendored CRD"


def _rendered(built: dict[str, list[dict[str, Any]]], build: str, kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(r for r in built[build] if r["kind"] == kind))


def test_the_crd_schemas_refuse_what_the_operators_would(
    built: dict[str, list[dict[str, Any]]],
) -> None:
    topic = _rendered(built, "backbone", "KafkaTopic")
    assert _invalid(topic) == []
    topic["spec"]["partitions"] = 0
    assert any("partitions" in p for p in _invalid(topic))
    del topic["metadata"]["labels"]["strimzi.io/cluster"]  # the operator would ignore it
    topic["spec"]["partitions"] = 6
    assert _invalid(topic)

    user = _rendered(built, "backbone", "KafkaUser")
    user["spec"]["authorization"]["acls"][0]["operations"] = ["Wrte"]
    assert _invalid(user)

    cluster = _rendered(built, "backbone", "Kafka")
    cluster["spec"]["kafka"]["listeners"][0]["type"] = "intenal"
    assert _invalid(cluster)
    cluster = _rendered(built, "backbone", "Kafka")
    cluster["spec"]["kafka"]["replicas"] = 3  # v1beta2's field: v1 moved it to KafkaNodePool
    assert _invalid(cluster)

    scaled = _rendered(built, "510100", "ScaledObject")
    assert _invalid(scaled) == []
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 100  # KEDA wants a string
    assert _invalid(scaled)
    scaled = _rendered(built, "510100", "ScaledObject")
    scaled["spec"]["triggers"][0]["metadata"]["lagTreshold"] = "100"  # KEDA would ignore it
    assert _invalid(scaled)
    scaled = _rendered(built, "510100", "ScaledObject")
    scaled["spec"]["minReplicaCount"] = scaled["spec"]["maxReplicaCount"] + 1  # a CEL rule
    assert _invalid(scaled) == ["CEL rule refused: " + next(iter(_cel_rules_of(scaled)))]

    database = _rendered(built, "510100", "Cluster")
    database["spec"]["storge"] = database["spec"].pop("storage")
    assert _invalid(database)
    database = _rendered(built, "510100", "Cluster")
    database["spec"]["imageCatalogRef"] = {
        "apiGroup": "postgresql.cnpg.io",
        "kind": "ImageCatalog",
        "name": "postgresql",
        "major": 16,
    }
    assert any(
        p.startswith("CEL rule refused: !(has(self.imageCatalogRef)") for p in _invalid(database)
    )


def _cel_rules_of(resource: dict[str, Any]) -> list[str]:
    key = f"{resource['apiVersion']}/{resource['kind']}"
    return [rule for rule, _ in cel_rules(vendored()[key]["openAPIV3Schema"], resource)]


def test_the_vendored_crds_are_the_operators_releases_deploy_names(network: Network) -> None:
    releases = {key.split("/")[0]: d["release"] for key, d in vendored().items()}
    assert releases == {
        "kafka.strimzi.io": "strimzi-1.2.0",
        "keda.sh": "keda-2.20.2",
        "postgresql.cnpg.io": "cloudnative-pg-1.30.0",
    }
    for document in vendored().values():
        assert document["source"].startswith("https://github.com/"), document["source"]
    # Strimzi 1.2.0 runs the Kafka versions of its kafka-versions.yaml: 4.2.x and 4.3.x.
    assert re.fullmatch(r"4\.[23]\.\d+", network.config.kafka.version)
    assert network.config.compose.kafka_image == f"apache/kafka:{network.config.kafka.version}"


def _by_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def test_each_node_runs_every_service_in_its_namespace_with_every_setting(
    network: Network, built: dict[str, list[dict[str, Any]]]
) -> None:
    for node in network.nodes:
        resources = built[node.code]
        namespace = namespace_of(network, node)
        assert {r["metadata"].get("namespace", namespace) for r in resources} == {namespace}
        config_maps = _by_kind(resources, "ConfigMap")
        deployments = _by_kind(resources, "Deployment")
        for service in network.services:
            container = deployments[service.name]["spec"]["template"]["spec"]["containers"][0]
            env = {e["name"]: e for e in container["env"]}
            for source in container["envFrom"]:
                data = config_maps[source["configMapRef"]["name"]]["data"]
                env |= {name: {"value": value} for name, value in data.items()}
            wanted = {env_name(field) for field in service.settings.model_fields}
            assert wanted - set(env) == set(), f"{node.code} {service.name} lacks settings"
            assert env["SHULIAN_NODE_ID"]["value"] == node.code
            assert env["SHULIAN_SERVICE"]["value"] == service.name
            assert env["SHULIAN_JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "shulian-jwt"
            assert f"@{service.name}-db-rw:5432/" in env["SHULIAN_DATABASE_URL"]["value"]
            _assert_references_defined_before(container["env"])
            _assert_accepted(service.settings, env)
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://otel-collector:4318"
            # The init step migrates with the app's own settings, database URL included.
            (migrate,) = deployments[service.name]["spec"]["template"]["spec"]["initContainers"]
            assert migrate["command"] == ["shulian", "migrate", service.name]
            assert (migrate["image"], migrate["env"], migrate["envFrom"]) == (
                container["image"],
                container["env"],
                container["envFrom"],
            )
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["resources"]["limits"]


def test_each_service_logs_in_to_kafka_as_its_nodes_own_user_over_tls(
    network: Network, built: dict[str, list[dict[str, Any]]]
) -> None:
    users = _by_kind(built["backbone"], "KafkaUser")
    (cluster,) = _by_kind(built["backbone"], "Kafka").values()
    listeners = {listener["port"]: listener for listener in cluster["spec"]["kafka"]["listeners"]}
    for node in (network.node("510000"), network.node("511500")):
        config_maps = _by_kind(built[node.code], "ConfigMap")
        deployments = _by_kind(built[node.code], "Deployment")
        for service in network.services:
            pod = deployments[service.name]["spec"]["template"]["spec"]
            (container,) = pod["containers"]
            env = {e["name"]: e for e in container["env"]}
            for source in container["envFrom"]:
                data = config_maps[source["configMapRef"]["name"]]["data"]
                env |= {name: {"value": value} for name, value in data.items()}
            user = env["SHULIAN_KAFKA_SASL_USERNAME"]["value"]
            assert user == f"node-{node.code}-{service.name}"
            assert user in users
            assert users[user]["spec"]["authentication"] == {"type": "scram-sha-512"}
            password = env["SHULIAN_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert password == {"name": f"kafka-{service.name}", "key": "password"}
            assert env["SHULIAN_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
            assert env["SHULIAN_KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
            port = int(env["SHULIAN_BUS_URL"]["value"].rsplit(":", 1)[1])
            assert listeners[port]["tls"] is True
            assert listeners[port]["authentication"] == {"type": "scram-sha-512"}
            cafile = Path(env["SHULIAN_KAFKA_SSL_CAFILE"]["value"])
            mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
            volumes = {v["name"]: v for v in pod["volumes"]}
            assert mounts["kafka-ca"] == cafile.parent.as_posix()
            assert volumes["kafka-ca"]["secret"]["items"] == [
                {"key": "ca.crt", "path": cafile.name}
            ]
    # Every listener asks for a login: no principal is anonymous, none is a super user.
    assert all(
        listener["authentication"] == {"type": "scram-sha-512"} for listener in listeners.values()
    )
    assert "superUsers" not in cluster["spec"]["kafka"]["authorization"]


def test_keda_reads_the_lag_as_its_own_user_that_reads_no_record(
    network: Network, built: dict[str, list[dict[str, Any]]]
) -> None:
    users = _by_kind(built["backbone"], "KafkaUser")
    (cluster,) = _by_kind(built["backbone"], "Kafka").values()
    listeners = {listener["port"]: listener for listener in cluster["spec"]["kafka"]["listeners"]}
    acls = _acls(users["keda"])
    assert {ops for _, _, _, ops in acls} == {frozenset({"Describe"})}
    groups = {(name, pattern) for kind, name, pattern, _ in acls if kind == "group"}
    assert groups == {(f"{s.name}-", "prefix") for s in network.services}
    for node in (network.node("510000"), network.node("513400")):
        (auth,) = _by_kind(built[node.code], "TriggerAuthentication").values()
        secrets = {ref["parameter"]: ref for ref in auth["spec"]["secretTargetRef"]}
        assert set(secrets) == {"username", "password", "ca"}
        for scaled in _by_kind(built[node.code], "ScaledObject").values():
            (trigger,) = scaled["spec"]["triggers"]
            assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
            metadata = trigger["metadata"]
            assert (metadata["tls"], metadata["sasl"]) == ("enable", "scram_sha512")
            port = int(metadata["bootstrapServers"].rsplit(":", 1)[1])
            assert listeners[port]["tls"] is True
            group = metadata["consumerGroup"]
            assert any(group.startswith(prefix) for prefix, _ in groups)


def _assert_accepted(settings_type: type[Settings], env: dict[str, dict[str, Any]]) -> None:
    """The service's settings parse what the pod's environment holds (Secrets stand in)."""
    values = {name: entry.get("value", "secret-" + "x" * 40) for name, entry in env.items()}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        settings = settings_type()
    assert settings.env == "production"
    assert settings.kafka_replication_factor == 3


def _assert_references_defined_before(env: list[dict[str, Any]]) -> None:
    """Kubernetes expands ``$(VAR)`` only for a variable defined earlier in the list."""
    seen: set[str] = set()
    for entry in env:
        for name in re.findall(r"\$\(([A-Z_][A-Z0-9_]*)\)", entry.get("value", "")):
            assert name in seen, f"{entry['name']} refers to $({name}) before it is defined"
        seen.add(entry["name"])


def test_each_consumer_scales_on_its_own_groups_lag_within_its_partitions(
    network: Network, built: dict[str, list[dict[str, Any]]]
) -> None:
    for node in network.nodes:
        scaled = _by_kind(built[node.code], "ScaledObject")
        assert set(scaled) == {s.name for s in network.services if s.consumes}
        for service in network.services:
            if not service.consumes:
                continue
            spec = scaled[service.name]["spec"]
            assert spec["scaleTargetRef"]["name"] == service.name
            trigger = spec["triggers"][0]["metadata"]
            assert trigger["consumerGroup"] == f"{service.name}-{node.code}"
            assert spec["maxReplicaCount"] <= network.partitions_read(service)
            assert spec["maxReplicaCount"] == max_replicas(network, service)


def test_each_database_admits_every_process_of_its_most_pods_and_each_pod_a_core_a_worker(
    network: Network, built: dict[str, list[dict[str, Any]]]
) -> None:
    for node in (network.node("510000"), network.node("510700")):
        resources = built[node.code]
        scaled = _by_kind(resources, "ScaledObject")
        common = next(
            c["data"] for c in resources if c["metadata"]["name"].startswith("shulian-common-")
        )
        workers = int(common["SHULIAN_WORKERS"])
        for service in network.services:
            deployment = _by_kind(resources, "Deployment")[service.name]
            most = scaled[service.name]["spec"]["maxReplicaCount"]
            surge = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
            database = _by_kind(resources, "Cluster")[f"{service.name}-db"]
            allowed = int(database["spec"]["postgresql"]["parameters"]["max_connections"])
            assert allowed >= (most + surge) * workers * CONNECTIONS_PER_PROCESS, service.name
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            assert float(container["resources"]["limits"]["cpu"]) >= workers


def test_a_service_may_reach_its_database_the_brokers_and_the_collector_only(
    network: Network, built: dict[str, list[dict[str, Any]]]
) -> None:
    policies = _by_kind(built["510100"], "NetworkPolicy")
    for service in network.services:
        egress = policies[service.name]["spec"]["egress"]
        peers = [peer for rule in egress for peer in rule["to"]]
        selectors = [p.get("podSelector", {}).get("matchLabels", {}) for p in peers]
        assert {"cnpg.io/cluster": f"{service.name}-db"} in selectors
        assert {"app.kubernetes.io/name": "otel-collector"} in selectors
        assert {"strimzi.io/cluster": "shulian", "strimzi.io/kind": "Kafka"} in selectors
        # The only other way out: DNS, and https to public addresses (partners' webhooks).
        blocks = [p["ipBlock"] for p in peers if "ipBlock" in p]
        assert all("10.0.0.0/8" in b["except"] for b in blocks)
        assert len(peers) == 5


def _acls(user: dict[str, Any]) -> list[tuple[str, str, str, frozenset[str]]]:
    return [
        (
            acl["resource"]["type"],
            acl["resource"].get("name", ""),
            acl["resource"].get("patternType", "literal"),
            frozenset(acl["operations"]),
        )
        for acl in user["spec"]["authorization"]["acls"]
    ]


def test_a_node_writes_only_its_own_services_topics(
    network: Network, built: dict[str, list[dict[str, Any]]]
) -> None:
    users = _by_kind(built["backbone"], "KafkaUser")
    for node in network.nodes:
        for service in network.services:
            acls = _acls(users[f"node-{node.code}-{service.name}"])
            written = {name for kind, name, _, ops in acls if kind == "topic" and "Write" in ops}
            own = {t.name for t in network.topics if t.service == service.name}
            dlts = {f"{t}.DLT" for t in service.consumes}
            assert written <= own | dlts
            assert {t for t in written if not t.endswith(".DLT")} == set(service.publishes)
            # A node asks another node's owner by writing the command topic (a grab, a
            # registration, a summary decision): every node may write its services' ones.
            commands = {t.name for t in network.topics if t.kind is TopicKind.COMMAND}
            assert {t for t in service.publishes if t in commands} <= written
            groups = {name for kind, name, _, _ in acls if kind == "group"}
            assert groups == {f"{service.name}-{node.code}"}
            assert all(pattern == "literal" for _, _, pattern, _ in acls)


@pytest.mark.parametrize("partner", ["chengdu-online-park"])
def test_a_partner_reads_the_public_event_topics_only(
    network: Network, built: dict[str, list[dict[str, Any]]], partner: str
) -> None:
    acls = _acls(_by_kind(built["backbone"], "KafkaUser")[f"partner-{partner}"])
    public = {t.name for t in network.topics if t.kind is TopicKind.EVENT}

    topics = {name for kind, name, _, _ in acls if kind == "topic"}
    assert topics == public
    assert "shulian.matching.grabs.v1" not in topics
    assert all(ops <= {"Read", "Describe"} for _, _, _, ops in acls)
    assert [(k, n, p) for k, n, p, _ in acls if k == "group"] == [
        ("group", f"partner.{partner}.", "prefix")
    ]


def test_every_topic_has_its_kafka_topic_with_the_backbones_replication(
    network: Network, built: dict[str, list[dict[str, Any]]]
) -> None:
    topics = {
        r["spec"]["topicName"]: r["spec"] for r in built["backbone"] if r["kind"] == "KafkaTopic"
    }
    assert set(topics) == {t.name for t in network.topics}
    assert {spec["replicas"] for spec in topics.values()} == {network.config.kafka.replicas}


async def test_the_group_keda_and_the_acls_name_is_the_one_a_running_service_joins(
    network: Network, tmp_path: Path
) -> None:
    service = next(s for s in network.services if s.name == "registry" and s.consumes)
    definition = installed_services()["registry"]
    settings = node_settings(
        Settings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}",
        tmp_path=tmp_path,
        node="510100",
        service="registry",
    )

    async with run_node(definition.create_app, settings) as running:
        consumers = running.runtime.consumers
        assert consumers is not None
        assert consumers.name == service.consumer_group("510100")
