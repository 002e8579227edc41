"""docker-compose.yml against the Compose Specification's JSON Schema (vendored, see README)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from shulian_common.db import CONNECTIONS_PER_PROCESS
from shulian_common.deploy.compose import COMPOSE_FILE, TOPICS_SCRIPT

from .conftest import ROOT

SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"


def _errors(document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(document)]


def test_docker_compose_yml_follows_the_compose_specification() -> None:
    document = yaml.safe_load((ROOT / COMPOSE_FILE).read_text())

    assert _errors(document) == []


def test_the_schema_refuses_what_compose_would() -> None:
    document = yaml.safe_load((ROOT / COMPOSE_FILE).read_text())
    document["services"]["kafka"]["depends_on"] = {"postgres": {"condition": "healthy"}}
    document["services"]["postgres"]["helthcheck"] = {}

    errors = _errors(document)
    assert any(e.startswith("services.kafka.depends_on:") for e in errors)
    assert any("'helthcheck' was unexpected" in e for e in errors)


def test_every_service_has_a_healthcheck_or_is_a_step_waited_for() -> None:
    services = yaml.safe_load((ROOT / COMPOSE_FILE).read_text())["services"]
    waited = {
        name: condition["condition"]
        for block in services.values()
        for name, condition in block.get("depends_on", {}).items()
    }
    for name, condition in waited.items():
        if condition == "service_healthy":
            assert "healthcheck" in services[name], name
    assert waited["kafka-topics"] == "service_completed_successfully"
    assert services["otel-collector"]["depends_on"] == {"jaeger": {"condition": "service_started"}}


def test_the_topic_step_is_valid_bash_and_mounted_where_the_step_runs_it() -> None:
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run([bash, "-n", str(ROOT / TOPICS_SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

    step = yaml.safe_load((ROOT / COMPOSE_FILE).read_text())["services"]["kafka-topics"]
    mount = f"./{TOPICS_SCRIPT.as_posix()}:/{TOPICS_SCRIPT.name}:ro"
    assert step["volumes"] == [mount]
    assert step["entrypoint"][-1] == f"/{TOPICS_SCRIPT.name}"


def test_compose_postgres_admits_every_process_of_every_service() -> None:
    services = yaml.safe_load((ROOT / COMPOSE_FILE).read_text())["services"]
    env = dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / "compose" / "settings" / "common.env")
        .read_text()
        .splitlines()
        if "=" in line and not line.startswith("#")
    )
    processes = sum(1 for name in services if name.split("-")[-1].isdigit()) * int(
        env["SHULIAN_WORKERS"]
    )
    command = services["postgres"]["command"]
    allowed = int(command[command.index("-c") + 1].removeprefix("max_connections="))
    assert allowed >= processes * CONNECTIONS_PER_PROCESS
    assert processes == 8
