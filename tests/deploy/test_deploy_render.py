"""One source: the generated files are fresh, and every topic and setting reaches deploy."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from shulian_common.catalogue import catalogue
from shulian_common.db import CONNECTIONS_PER_PROCESS
from shulian_common.deploy import compose, kubernetes
from shulian_common.deploy.cli import main_check
from shulian_common.deploy.network import Network, NetworkError, TopicKind, load_network
from shulian_common.deploy.render import render_all, stale_files, write_files
from shulian_common.deploy.settings_env import all_setting_names
from shulian_common.reference import cities
from shulian_common.service import installed_services
from shulian_common.settings import Settings

from .conftest import ROOT


def test_generated_files_are_fresh(network: Network) -> None:
    assert stale_files(ROOT, render_all(network)) == []


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of what the renderer reads and writes, to change without touching the repository."""
    for part in ("deploy", "services", "docker-compose.yml"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, tmp_path / part, ignore=shutil.ignore_patterns("src", "tests"))
        else:
            shutil.copy(source, tmp_path / part)
    return tmp_path


def test_a_hand_edit_an_extra_file_and_a_missing_file_are_each_reported(
    network: Network, copy: Path
) -> None:
    files = render_all(network)
    overlay = copy / kubernetes.OVERLAYS / "511500" / "kustomization.yaml"
    overlay.write_text(overlay.read_text() + "# tweak\n")
    (copy / kubernetes.OVERLAYS / "519900").mkdir()
    (copy / kubernetes.OVERLAYS / "519900" / "kustomization.yaml").write_text("{}\n")
    (copy / compose.TOPICS_SCRIPT).unlink()

    problems = stale_files(copy, files)

    assert problems == [
        f"{compose.TOPICS_SCRIPT} is missing",
        f"{kubernetes.OVERLAYS / '511500' / 'kustomization.yaml'} is stale or was edited by hand",
        f"{kubernetes.OVERLAYS / '519900' / 'kustomization.yaml'} is not generated: remove it",
    ]
    write_files(copy, files)
    assert stale_files(copy, files) == []
    assert not (copy / kubernetes.OVERLAYS / "519900").exists()


def test_a_change_of_the_source_makes_the_files_stale(copy: Path) -> None:
    source = copy / "deploy" / "network.toml"
    source.write_text(source.read_text().replace("partitions = 6", "partitions = 12", 1))

    problems = stale_files(copy, render_all(load_network(copy)))

    stale = {line.split(" ")[0] for line in problems}
    assert str(kubernetes.BACKBONE / "topics.yaml") in stale
    assert str(compose.TOPICS_SCRIPT) in stale


def test_the_worker_count_sizes_the_pods_and_the_databases(network: Network, copy: Path) -> None:
    source = copy / "deploy" / "network.toml"
    source.write_text(source.read_text().replace("demo = false", "demo = false\nworkers = 3", 1))

    changed = load_network(copy)
    files = render_all(changed)

    for target in ("compose", "kubernetes"):
        assert changed.workers(target) == 3
        assert network.workers(target) == 1
    registry = next(s for s in changed.services if s.name == "registry")
    assert (
        kubernetes.max_connections(changed, registry)
        == 3 * (kubernetes.max_connections(network, registry) - kubernetes.RESERVED_CONNECTIONS)
        + kubernetes.RESERVED_CONNECTIONS
    )
    deployment = next(yaml.safe_load_all(files[kubernetes.BASE / "registry.yaml"]))
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["cpu"] == "3"
    assert "SHULIAN_WORKERS=3" in files[kubernetes.BASE / "settings" / "common.env"]
    postgres = yaml.safe_load(files[compose.COMPOSE_FILE])["services"]["postgres"]
    assert postgres["command"][-1] == f"max_connections={compose.max_connections(changed)}"
    services = len(changed.config.compose.nodes) * len(changed.services)
    assert compose.max_connections(changed) >= services * 3 * CONNECTIONS_PER_PROCESS


def test_a_contract_that_disagrees_with_the_catalogue_is_refused(copy: Path) -> None:
    contract = copy / "services" / "registry" / "asyncapi.json"
    contract.write_text(
        contract.read_text().replace("shulian.registry.network.v1", "shulian.x.y.v1")
    )

    with pytest.raises(NetworkError, match="disagree"):
        load_network(copy)


def test_the_check_command_fails_on_a_stale_file(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_check(copy) == 0
    (copy / "docker-compose.yml").write_text("name: edited\n")

    assert main_check(copy) == 1
    assert "docker-compose.yml is stale" in capsys.readouterr().err


def test_the_nodes_are_the_province_and_its_21_cities(network: Network) -> None:
    overlays = sorted(p.name for p in (ROOT / kubernetes.OVERLAYS).iterdir())

    assert overlays == sorted(["510000", *(city.code for city in cities())])
    assert len(overlays) == 22
    chengdu = (ROOT / kubernetes.OVERLAYS / "510100" / "namespace.yaml").read_text()
    assert "成都市" in chengdu


def _catalogue_topics() -> set[str]:
    installed = installed_services()
    return {spec.topic for spec in catalogue if spec.service in installed}


def test_every_catalogue_topic_and_its_dlt_is_in_the_kafka_topics(network: Network) -> None:
    documents = yaml.safe_load_all((ROOT / kubernetes.BACKBONE / "topics.yaml").read_text())
    declared = {doc["spec"]["topicName"]: doc["spec"] for doc in documents}

    wanted = _catalogue_topics()
    assert wanted, "no service installed"
    assert wanted | {f"{t}.DLT" for t in wanted} == set(declared)
    for topic in network.topics:
        assert declared[topic.name]["partitions"] == topic.partitions
        assert declared[topic.name]["config"]["retention.ms"] == topic.retention_ms


def test_every_catalogue_topic_and_its_dlt_is_in_the_compose_topic_step(network: Network) -> None:
    script = (ROOT / compose.TOPICS_SCRIPT).read_text()
    created = {
        name: (int(partitions), int(retention))
        for name, partitions, retention in re.findall(r"^create (\S+) (\d+) (-?\d+)$", script, re.M)
    }

    wanted = _catalogue_topics()
    assert wanted | {f"{t}.DLT" for t in wanted} == set(created)
    for topic in network.topics:
        assert created[topic.name] == (topic.partitions, topic.retention_ms)


# Topics each service's catalogue must bring to deploy: a service not installed, or a stream its
# catalogue stopped registering, would otherwise shrink both sides of the comparisons above.
EXPECTED = {
    "registry": ["suppliers", "network", "enterprises"],
    "events": ["activities", "registrations", "registration_requests"],
    "matching": ["orders", "talents", "grabs", "applications"],
    "reporting": ["warnings", "catalogues", "summaries", "summary_decisions"],
}


def test_every_services_topics_reach_the_kafka_topics_and_the_topic_step() -> None:
    declared = {
        doc["spec"]["topicName"]
        for doc in yaml.safe_load_all((ROOT / kubernetes.BACKBONE / "topics.yaml").read_text())
    }
    script = (ROOT / compose.TOPICS_SCRIPT).read_text()
    created = set(re.findall(r"^create (\S+) ", script, re.M))

    assert set(installed_services()) == set(EXPECTED)
    for service, streams in EXPECTED.items():
        for stream in streams:
            topic = f"shulian.{service}.{stream}.v1"
            assert {topic, f"{topic}.DLT"} <= declared, topic
            assert {topic, f"{topic}.DLT"} <= created, topic


def test_command_topics_are_known_as_such(network: Network) -> None:
    assert network.topic("shulian.matching.grabs.v1").kind is TopicKind.COMMAND
    assert network.topic("shulian.events.registration_requests.v1").kind is TopicKind.COMMAND
    assert network.topic("shulian.matching.applications.v1").kind is TopicKind.COMMAND
    assert network.topic("shulian.reporting.summary_decisions.v1").kind is TopicKind.COMMAND
    assert network.topic("shulian.reporting.summaries.v1").kind is TopicKind.EVENT
    assert network.topic("shulian.registry.suppliers.v1").kind is TopicKind.EVENT
    assert network.topic("shulian.registry.suppliers.v1.DLT").kind is TopicKind.DLT


def _env_file(path: Path) -> dict[str, str]:
    pairs = [line.split("=", 1) for line in path.read_text().splitlines() if "=" in line]
    return {name: value for name, value in pairs if not name.startswith("#")}


def test_every_setting_a_service_reads_is_set_in_compose(network: Network) -> None:
    document = yaml.safe_load((ROOT / compose.COMPOSE_FILE).read_text())
    every = all_setting_names(network)
    for service in network.services:
        for code in network.config.compose.nodes:
            block = document["services"][f"{service.name}-{code}"]
            env = dict(block["environment"])
            for env_file in block["env_file"]:
                env |= _env_file(ROOT / env_file)
            read = {name for name in every if name in _fields_env(service.settings)}
            assert read - set(env) == set(), f"{service.name}-{code} lacks settings"
            assert env["SHULIAN_NODE_ID"] == code
            assert env["SHULIAN_KAFKA_ENABLE_IDEMPOTENCE"] == "true"
            assert env["SHULIAN_KAFKA_ACKS"] == "all"
            assert env["SHULIAN_ENV"] == "production"
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"


def _fields_env(settings: type) -> set[str]:
    return {f"SHULIAN_{name.upper()}" for name in settings.model_fields}  # type: ignore[attr-defined]


def test_compose_runs_every_service_for_the_province_and_a_city(network: Network) -> None:
    document = yaml.safe_load((ROOT / compose.COMPOSE_FILE).read_text())
    codes = network.config.compose.nodes

    assert codes[0] == "510000"
    assert any(not network.node(c).is_province for c in codes)
    for service in installed_services():
        for code in codes:
            block = document["services"][f"{service}-{code}"]
            assert "profiles" not in block
            assert block["depends_on"] == {
                "postgres": {"condition": "service_healthy"},
                "kafka-topics": {"condition": "service_completed_successfully"},
                "otel-collector": {"condition": "service_started"},
            }
            assert f"/{service}_{code}" in block["environment"]["SHULIAN_DATABASE_URL"]
    databases = (ROOT / compose.POSTGRES_INIT).read_text()
    for service in installed_services():
        for code in codes:
            assert f"CREATE DATABASE {service}_{code};" in databases


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("demo = false", "demo = false\nno_such_setting = 1"), "no service reads"),
        (('nodes = ["510000", "510100"]', 'nodes = ["510000", "519999"]'), "not the province"),
        (
            ("[topics.dlt]", '[topics.override."shulian.x.y.v1"]\npartitions = 2\n[topics.dlt]'),
            "unknown topics",
        ),
    ],
)
def test_a_network_file_naming_what_does_not_exist_is_refused(
    copy: Path, change: tuple[str, str], message: str
) -> None:
    source = copy / "deploy" / "network.toml"
    text = source.read_text()
    assert change[0] in text
    source.write_text(text.replace(change[0], change[1], 1))

    with pytest.raises(NetworkError, match=message):
        load_network(copy)


def test_each_service_accepts_the_settings_compose_gives_it(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = yaml.safe_load((ROOT / compose.COMPOSE_FILE).read_text())
    for service in network.services:
        block = document["services"][f"{service.name}-510100"]
        env: dict[str, str] = {}
        for env_file in block["env_file"]:
            env |= _env_file(ROOT / env_file)
        env |= block["environment"]
        env["SHULIAN_JWT_SECRET"] = "x" * 40  # compose takes it from the operator's shell
        with monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, str(value))
            settings = service.settings()

        assert settings.node_id == "510100"
        assert settings.service == service.name
        assert settings.resolved_bus_url == "kafka://kafka:9092"
        assert settings.kafka_enable_idempotence is True
        assert settings.kafka_acks == "all"


def test_each_partners_http_grant_comes_from_network_toml(network: Network) -> None:
    env = _env_file(ROOT / "deploy" / "k8s" / "base" / "settings" / "common.env")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHULIAN_PARTNER_GRANTS", env["SHULIAN_PARTNER_GRANTS"])
        grants = Settings().partner_grants
    assert grants is not None
    assert set(grants) == {p.subject for p in network.config.partners}
    for partner in network.config.partners:
        assert grants[partner.subject] == partner.grant
    assert grants["partner:chengdu-online-park"].cities == frozenset({"510100"})
    assert (
        _env_file(ROOT / "deploy" / "compose" / "settings" / "common.env")["SHULIAN_PARTNER_GRANTS"]
        == env["SHULIAN_PARTNER_GRANTS"]
    )
