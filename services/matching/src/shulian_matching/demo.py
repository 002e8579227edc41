"""Demo data: a year of orders over the 21 cities, placed through the handlers (so each one
publishes its events), then traded: grabbed, confirmed, started and fulfilled.

Every node seeds only the divisions no more specific node of the demo network governs
(``SHULIAN_DEMO_NODES``, which ``shulian up`` sets to the nodes it starts; the registry's demo
splits its suppliers the same way): beside Yibin's node, the province node seeds no Yibin orders.

Seeding runs before the services start, when this node knows no supplier yet (they arrive on the
registry's stream), so ``seed_demo`` only places the orders (deadlines over a year; those past
are expired at once). ``demo_trade`` runs with each sweep of a ``dev`` node: it moves a batch of
the demo's open service orders one step on — a grab by the best-ranked eligible supplier, its
confirmation, the start of service, fulfilment with a contract value — through the same
handlers and commands a user's requests take, so the owner node decides every grab."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import exists, select

from shulian_common.auth import Principal, Role
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.reference import PROVINCE_CODE, cities, counties, in_scope
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWorkFactory
from shulian_matching import repository
from shulian_matching.domain.grabs import GrabStatus
from shulian_matching.domain.orders import OrderAction
from shulian_matching.handlers import grabs as grab_handlers
from shulian_matching.handlers import orders as handlers
from shulian_matching.handlers.ranking import candidates
from shulian_matching.orm import MIGRATIONS, Order
from shulian_matching.settings import MatchingSettings, matching_settings

DEMO_BATCH = 25  # orders moved one step on per sweep

DEMO_SEED = 2024
# Service lines and industries as the registry codes them (its published taxonomy).
SERVICE_LINES = (
    ("recruitment", "招聘服务"),
    ("labour_dispatch", "劳务派遣"),
    ("outsourcing", "人力资源服务外包"),
    ("training", "技能培训"),
    ("headhunting", "高级人才寻访"),
    ("flexible_employment", "灵活用工"),
)
CITY_INDUSTRIES = {
    "510100": "electronic_information",
    "510300": "lantern_making",
    "510400": "vanadium_titanium",
    "510500": "liquor_food",
    "510600": "major_equipment",
    "510700": "electronic_information",
    "510800": "green_aluminium",
    "510900": "lithium_materials",
    "511000": "modern_services",
    "511100": "culture_tourism",
    "511300": "modern_agriculture",
    "511400": "modern_services",
    "511500": "power_batteries",
    "511600": "modern_services",
    "511700": "energy_chemicals",
    "511800": "sichuan_tibet_railway",
    "511900": "modern_agriculture",
    "512000": "autos_parts",
    "513200": "culture_tourism",
    "513300": "culture_tourism",
    "513400": "modern_agriculture",
}


def demo_owner(nodes: Sequence[str], division_code: str) -> str | None:
    """The node of ``nodes`` that seeds orders of ``division_code``: the most specific one
    governing it (a county node before its city's, a city node before the province's)."""
    governing = [node for node in nodes if in_scope(node, division_code)]
    # A GB/T 2260 code without its trailing zeros is longer the deeper its division lies.
    return max(governing, key=lambda node: len(node.rstrip("0")), default=None)


def demo_orders(
    node_id: str, count: int, *, today: date, nodes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """``count`` orders spread over the counties ``node_id`` seeds among the network's ``nodes``
    (default: this node alone) — those no more specific node governs — deadlines across a year."""
    rng = random.Random(DEMO_SEED)
    network = sorted({node_id, *nodes})
    mine = {
        c.code: [k for k in counties(c.code) if demo_owner(network, k.code) == node_id]
        for c in cities()
    }
    own = [c for c in cities() if mine[c.code]]
    result: list[dict[str, Any]] = []
    if not own:
        return result
    for i in range(count):
        city = own[i % len(own)]
        county = rng.choice(mine[city.code])
        industry = CITY_INDUSTRIES[city.code]
        deadline = today + timedelta(days=rng.randint(-200, 165))
        if i % 4 == 3:
            head = rng.randint(2, 40)
            result.append(
                {
                    "kind": "job",
                    "title": f"{city.name}{county.name}岗位招聘（{i + 1}）",
                    "county_code": county.code,
                    "industry": industry,
                    "occupation_code": rng.choice(["4", "6"]),
                    "skills": rng.sample(["焊接", "电工", "数控", "叉车", "质检", "客服"], 2),
                    "head_count": head,
                    "slots": head,
                    "monthly_pay_yuan": rng.randrange(4000, 12000, 500),
                    "deadline": deadline,
                    "visibility": "own_city",
                    "visible_cities": [],
                }
            )
            continue
        line, label = rng.choice(SERVICE_LINES)
        visibility = rng.choice(["own_city", "province", "province"])
        result.append(
            {
                "kind": "service",
                "title": f"{city.name}{county.name}{label}服务采购（{i + 1}）",
                "county_code": county.code,
                "service_line": line,
                "industry": industry,
                "skills": [],
                "head_count": rng.randint(5, 200),
                "slots": rng.choice([1, 1, 2]),
                "budget_yuan": rng.randrange(50_000, 2_000_000, 10_000),
                "deadline": deadline,
                "visibility": visibility,
                "visible_cities": [],
            }
        )
    return result


async def seed_demo(settings: Settings) -> int:
    """Migrate the node's matching database and place the demo year's orders (once)."""
    settings = matching_settings(settings)
    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate(engine, MIGRATIONS)
        uow_factory = UnitOfWorkFactory(create_session_factory(engine), source=settings.source)
        async with uow_factory() as uow:
            if await uow.session.scalar(select(exists().where(Order.id.isnot(None)))):
                return 0
        operator = demo_operator(settings.node_id)
        today = date.today()
        orders = demo_orders(
            settings.node_id, settings.demo_orders, today=today, nodes=settings.demo_network
        )
        for fields in orders:
            await handlers.place_order(
                uow_factory,
                node_id=settings.node_id,
                principal=operator,
                fields=fields,
                idempotency=None,
            )
        await handlers.expire_due_orders(uow_factory, node_id=settings.node_id, today=today)
        return len(orders)
    finally:
        await engine.dispose()


def demo_operator(node_id: str) -> Principal:
    """The operator the demo acts as on ``node_id``."""
    return Principal(
        sub="demo@matching",
        role=Role.PROVINCE_ADMIN if node_id == PROVINCE_CODE else Role.CITY_OPERATOR,
        node=node_id,
        division=node_id,
    )


async def demo_trade(uow_factory: UnitOfWorkFactory, settings: MatchingSettings) -> int:
    """Move a batch of the demo's orders one step on; how many moved."""
    node = settings.node_id
    to_grab, to_confirm, to_start, to_fulfil = await _next_steps(uow_factory, settings)
    operator = demo_operator(node)
    for order_id, supplier_id in to_grab:
        await grab_handlers.request_grab(
            uow_factory,
            node_id=node,
            principal=_supplier(node, supplier_id),
            order_id=order_id,
            idempotency=None,
        )
    for grab_id, supplier_id in to_confirm:
        await grab_handlers.request_confirmation(
            uow_factory, node_id=node, principal=_supplier(node, supplier_id), grab_id=grab_id
        )
    for order_id in to_start:
        await handlers.move_order(
            uow_factory,
            node_id=node,
            principal=operator,
            order_id=order_id,
            expected_version=None,
            action=OrderAction.START_SERVICE,
        )
    for order_id, placements, value in to_fulfil:
        await handlers.fulfil_order(
            uow_factory,
            node_id=node,
            principal=operator,
            order_id=order_id,
            expected_version=None,
            placements=placements,
            contract_value_yuan=value,
        )
    return len(to_grab) + len(to_confirm) + len(to_start) + len(to_fulfil)


def _supplier(node: str, supplier_id: str) -> Principal:
    return Principal(
        sub=f"demo-supplier-{supplier_id}", role=Role.SUPPLIER, node=node, supplier_id=supplier_id
    )


async def _next_steps(
    uow_factory: UnitOfWorkFactory, settings: MatchingSettings
) -> tuple[
    list[tuple[str, str]], list[tuple[str, str]], list[str], list[tuple[str, int, int | None]]
]:
    """What to do next: grabs to make, awards to confirm, orders to start and to fulfil."""
    node = settings.node_id
    demo = {"owner_node": [node], "kind": ["service"], "placer_kind": ["node"]}
    to_grab, to_confirm, to_start = [], [], []
    async with uow_factory() as uow:
        session = uow.session

        async def orders(status: str) -> list[Order]:
            filters = {**demo, "status": [status]}
            return await repository.list_orders(
                session, filters=filters, after=None, limit=DEMO_BATCH
            )

        for order in await orders("open"):
            if await repository.grabs_of(session, order.id, list(GrabStatus)):
                continue
            _, _, top = await candidates(
                session, order=order, award_cap=settings.award_cap, limit=1
            )
            if top:
                to_grab.append((order.id, top[0][0].id))
        for order in await orders("awarded"):
            held = await repository.grabs_of(session, order.id, [GrabStatus.AWARDED])
            to_confirm += [(g.id, g.supplier_id) for g in held]
            if not held:
                to_start.append(order.id)
        to_fulfil = [
            (o.id, max(1, o.head_count * 4 // 5), o.budget_yuan) for o in await orders("in_service")
        ]
    return to_grab, to_confirm, to_start, to_fulfil
