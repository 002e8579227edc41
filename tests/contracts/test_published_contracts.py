"""Each installed service's published contract is committed, fresh, and what the CLI writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shulian_common import contracts
from shulian_common.catalogue import Catalogue, EventModel, catalogue
from shulian_common.cli import main
from shulian_common.contracts import (
    contract_path,
    published_contract,
    refresh_command,
    stale_contracts,
)
from shulian_common.service import installed_services

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(installed_services())


def test_every_installed_service_commits_a_fresh_contract() -> None:
    assert "registry" in SERVICES
    stale = stale_contracts(ROOT)
    assert stale == [], "\n".join(stale)


def test_a_stale_contract_is_reported_with_the_command_that_refreshes_it(tmp_path: Path) -> None:
    path = contract_path(tmp_path, "registry")
    path.parent.mkdir(parents=True)
    renamed = published_contract("registry").replace('"uscc_region_code"', '"uscc_region"')
    path.write_text(renamed, encoding="utf-8")

    stale = stale_contracts(tmp_path)

    command = "uv run shulian asyncapi --service registry --output services/registry/asyncapi.json"
    assert refresh_command("registry") == command
    assert f"{path} is stale: refresh it with `{command}`" in stale


def test_a_missing_contract_is_reported(tmp_path: Path) -> None:
    # Reported in start-up order; compared as sets, so a second service does not break the test.
    assert sorted(stale_contracts(tmp_path)) == [
        f"{contract_path(tmp_path, s)} is missing: refresh it with `{refresh_command(s)}`"
        for s in SERVICES
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_the_cli_prints_and_writes_the_committed_contract(
    service: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = contract_path(ROOT, service).read_text(encoding="utf-8")

    assert main(["asyncapi", "--service", service]) == 0
    printed = capsys.readouterr().out
    assert main(["asyncapi", "--service", service, "--output", str(tmp_path / "a.json")]) == 0

    assert printed == committed
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == committed
    assert committed.endswith("}\n")


class GadgetMade(EventModel):
    """Another service's event, loaded in the same process."""

    gadget_id: str


def test_another_services_events_in_the_process_stay_out_of_the_contract(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The CLI and the whole test suite load several services' events into one catalogue.
    shared = Catalogue()
    for spec in catalogue:
        shared.register(spec.model, type=spec.type, topic=spec.topic)
    other = "cn.sichuan.shulian.othersvc.gadget.made.v1"
    shared.register(GadgetMade, type=other, topic="shulian.othersvc.gadgets.v1")
    monkeypatch.setattr(contracts, "catalogue", shared)

    document = published_contract("registry")

    assert document == contract_path(ROOT, "registry").read_text(encoding="utf-8")
    assert '"name": "cn.sichuan.shulian.registry.supplier.registered.v1"' in document
    assert other not in document
    assert other in json.dumps(shared.asyncapi())


def test_the_cli_refuses_an_unknown_service(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asyncapi", "--service", "nosuch"]) == 2
    assert capsys.readouterr().err == (
        "shulian asyncapi: unknown service 'nosuch'; installed: "
        f"{', '.join(installed_services())}\n"
    )
