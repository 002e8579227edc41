"""``shulian <service> ...``: a service's own subcommands, hooked in through its definition."""

from __future__ import annotations

import argparse

import pytest
from fastapi import FastAPI

from shulian_common import service as service_module
from shulian_common.cli import main
from shulian_common.service import ServiceDefinition
from shulian_common.settings import Settings


def _app(_settings: Settings) -> FastAPI:
    return FastAPI()


def _definition(name: str, calls: list[str]) -> ServiceDefinition:
    def add_commands(parser: argparse.ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="service_command", required=True)
        greet = commands.add_parser("greet")
        greet.add_argument("--times", type=int, default=1)

        def run(args: argparse.Namespace) -> int:
            calls.extend(["greet"] * args.times)
            return 7

        greet.set_defaults(func=run)

    return ServiceDefinition(name=name, create_app=_app, port_offset=9, add_commands=add_commands)


def test_a_services_subcommand_runs_with_its_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(
        service_module, "installed_services", lambda: {"widgets": _definition("widgets", calls)}
    )
    assert main(["widgets", "greet", "--times", "2"]) == 7
    assert calls == ["greet", "greet"]


def test_a_service_may_not_shadow_a_built_in_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        service_module, "installed_services", lambda: {"token": _definition("token", [])}
    )
    monkeypatch.setattr(service_module, "installed_service_names", lambda: {"token"})
    with pytest.raises(ValueError, match="shadow"):
        main(["token", "--role", "partner"])
