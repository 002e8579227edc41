"""Seeding the demo province through the handlers, so every record publishes its events.

Every node generates the same province and seeds the records it owns: each record goes to the
most specific node of the network governing its division (``demo_owner``), so the network as a
whole holds each demo record once. A node alone seeds its jurisdiction (the province node, the
whole province); beside others (``SHULIAN_DEMO_NODES``, which ``shulian up`` sets to the nodes it
starts) the province node leaves the cities with a node of their own to them. Seeding is skipped
when the database already holds records, so restarts do not duplicate anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shulian_common.auth import Principal, Role
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.reference import DivisionLevel, get_division, in_scope
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWorkFactory
from shulian_registry import handlers, repository
from shulian_registry.demo.network import NetworkSeed, network
from shulian_registry.demo.suppliers import SupplierSeed, generate
from shulian_registry.domain import ListingAction
from shulian_registry.orm import MIGRATIONS
from shulian_registry.settings import registry_settings

DEMO_SUPPLIERS = 600
DEMO_SEED = 2023
_REASONS = {
    ListingAction.REJECT: "申报材料不完整，服务能力证明不足",
    ListingAction.SUSPEND: "年度核验发现经营异常，暂停入库资格",
    ListingAction.DELIST: "连续两年未报送业务数据，予以出库",
}
_KINDS: dict[str, handlers.RecordKind[Any]] = {
    "park": handlers.PARKS,
    "market": handlers.MARKETS,
    "station": handlers.STATIONS,
    "scenario": handlers.SCENARIOS,
    "pairing": handlers.PAIRINGS,
    "platform": handlers.PLATFORMS,
    "enterprise": handlers.ENTERPRISES,
}


async def seed_demo(settings: Settings) -> int:
    """Migrate the node's registry database and seed the demo province into it (once)."""
    settings = registry_settings(settings)
    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate(engine, MIGRATIONS)
        uow_factory = UnitOfWorkFactory(create_session_factory(engine), source=settings.source)
        return await seed(
            uow_factory,
            node_id=settings.node_id,
            nodes=settings.demo_network,
            suppliers=settings.demo_suppliers,
        )
    finally:
        await engine.dispose()


def seeder(node_id: str) -> Principal:
    """The operator the demo acts as on ``node_id``."""
    level = get_division(node_id).level
    role = {
        DivisionLevel.PROVINCE: Role.PROVINCE_ADMIN,
        DivisionLevel.CITY: Role.CITY_OPERATOR,
        DivisionLevel.COUNTY: Role.COUNTY_OPERATOR,
    }[level]
    return Principal(sub=f"demo-seed@{node_id}", role=role, node=node_id, division=node_id)


def demo_owner(nodes: Sequence[str], division_code: str) -> str | None:
    """The node of ``nodes`` that seeds records of ``division_code``: the most specific one
    governing it (a county node before its city's, a city node before the province's)."""
    governing = [node for node in nodes if in_scope(node, division_code)]
    # A GB/T 2260 code without its trailing zeros is longer the deeper its division lies.
    return max(governing, key=lambda node: len(node.rstrip("0")), default=None)


async def seed(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    nodes: Sequence[str] = (),
    suppliers: int = DEMO_SUPPLIERS,
    seed: int = DEMO_SEED,
) -> int:
    """Seed the suppliers (with their listing steps) and network records this node owns among
    ``nodes`` (the network's nodes; default: this node alone); returns how many records were
    created, 0 when the database already holds records (so a restart never seeds twice)."""
    async with uow_factory() as uow:
        if await repository.holds_any_record(uow.session):
            return 0
    network_nodes = {node_id, *nodes}

    def mine(division_code: str) -> bool:
        return demo_owner(sorted(network_nodes), division_code) == node_id

    actor = seeder(node_id)
    generated = list(generate(suppliers, seed))
    own = [s for s in generated if mine(s.county_code)]
    ids = _Ids()
    for supplier in own:
        ids.suppliers[supplier.index] = await _register(uow_factory, actor, supplier)
    for supplier in own:
        await _walk_listing(uow_factory, actor, ids.suppliers[supplier.index], supplier)
    created = len(own)
    for record in network(generated, seed):
        if mine(record.division_code) and ids.resolvable(record):
            record_id = await _create(uow_factory, actor, ids.resolve(record), record.kind)
            if record.key is not None:
                ids.enterprises[record.key] = record_id
            created += 1
    return created


@dataclass
class _Ids:
    """Ids of the generated suppliers and enterprises created so far, by generator index."""

    suppliers: dict[int, str] = field(default_factory=dict)
    enterprises: dict[int, str] = field(default_factory=dict)

    def resolvable(self, record: NetworkSeed) -> bool:
        """Whether every supplier/enterprise the record names exists on this node; records
        naming another node's supplier are that node's to seed."""
        return (record.supplier is None or record.supplier in self.suppliers) and (
            record.enterprise is None or record.enterprise in self.enterprises
        )

    def resolve(self, record: NetworkSeed) -> dict[str, Any]:
        """The record's fields with generator indexes replaced by ids."""
        fields = dict(record.fields)
        if record.supplier is not None:
            fields["supplier_id"] = self.suppliers[record.supplier]
        if record.enterprise is not None:
            fields["enterprise_id"] = self.enterprises[record.enterprise]
        return fields


async def _register(
    uow_factory: UnitOfWorkFactory, actor: Principal, supplier: SupplierSeed
) -> str:
    created = await handlers.register_supplier(
        uow_factory, principal=actor, node_id=actor.node, fields=supplier.fields()
    )
    return created.record.id


async def _walk_listing(
    uow_factory: UnitOfWorkFactory, actor: Principal, supplier_id: str, supplier: SupplierSeed
) -> None:
    for action in supplier.listing_path:
        if action is not ListingAction.APPLY and actor.role is Role.COUNTY_OPERATOR:
            return  # county operators apply but never decide
        change = handlers.ListingChange(
            action=action,
            reason=_REASONS.get(action),
            industries=supplier.listing_industries if action is ListingAction.APPLY else (),
            fields=supplier.listing_fields if action is ListingAction.APPLY else (),
        )
        await handlers.change_listing(
            uow_factory,
            principal=actor,
            node_id=actor.node,
            supplier_id=supplier_id,
            change=change,
        )


async def _create(
    uow_factory: UnitOfWorkFactory, actor: Principal, fields: dict[str, Any], kind: str
) -> str:
    created = await handlers.create_record(
        uow_factory,
        _KINDS[kind],
        principal=actor,
        node_id=actor.node,
        fields=fields,
    )
    return str(created.record.id)
