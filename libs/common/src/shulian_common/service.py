"""How a service plugs into the ``shulian`` CLI: an entry point in group ``shulian.services``."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from fastapi import FastAPI

from shulian_common.consumer import Subscription
from shulian_common.settings import Settings

ENTRY_POINT_GROUP = "shulian.services"


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    """One service: its name, app factory, start-up order, subscriptions and demo seeding."""

    name: str
    create_app: Callable[[Settings], FastAPI]
    # Port of the service within its node's block of ten (registry 0, events 1, matching 2,
    # reporting 3), the same layout as docker-compose.yml.
    port_offset: int
    seed_demo: Callable[[Settings], Awaitable[int]] | None = None
    # What it consumes on a node (by node id): the contract test checks each reader model.
    subscriptions: Callable[[str], Sequence[Subscription]] = lambda _node_id: ()
    # Its own ``shulian <name> ...`` subcommands: given the service's parser, it adds them, each
    # setting ``func`` (``args -> exit status``) as argparse's ``set_defaults`` does.
    add_commands: Callable[[argparse.ArgumentParser], None] | None = None


def installed_services() -> dict[str, ServiceDefinition]:
    """Every service installed in this environment, by name, in start-up order."""
    found = [_load(ep) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    return {d.name: d for d in sorted(found, key=lambda d: d.port_offset)}


def installed_service_names() -> set[str]:
    """The names of the installed services, without importing any of them."""
    return {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}


def installed_service(name: str) -> ServiceDefinition | None:
    """The installed service called ``name``, importing it alone (``None`` if there is none):
    a process serving one service need not import the others."""
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return _load(ep)
    return None


def _load(ep: EntryPoint) -> ServiceDefinition:
    definition = ep.load()
    if not isinstance(definition, ServiceDefinition):
        raise TypeError(f"entry point {ep.name} is not a ServiceDefinition")
    return definition
