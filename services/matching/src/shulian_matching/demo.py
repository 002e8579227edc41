"""Demo data: a year of orders over the 21 cities, placed through the handlers (so each one
publishes its events). Grabs and fulfilment need suppliers, which this node learns from the
registry's stream once the services run: see ``demo_trade``."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import exists, select

from shulian_common.auth import Principal, Role
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.reference import PROVINCE_CODE, cities, counties, in_scope
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWorkFactory
from shulian_matching.handlers import orders as handlers
from shulian_matching.orm import MIGRATIONS, Order
from shulian_matching.settings import matching_settings

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


def demo_orders(node_id: str, count: int, *, today: date) -> list[dict[str, Any]]:
    """``count`` orders spread over the cities ``node_id`` governs, deadlines across a year."""
    rng = random.Random(DEMO_SEED)
    own = [c for c in cities() if in_scope(node_id, c.code)]
    result = []
    for i in range(count):
        city = own[i % len(own)]
        county = rng.choice(counties(city.code))
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
        operator = Principal(
            sub="demo@matching",
            role=Role.PROVINCE_ADMIN if settings.node_id == PROVINCE_CODE else Role.CITY_OPERATOR,
            node=settings.node_id,
            division=settings.node_id,
        )
        today = date.today()
        orders = demo_orders(settings.node_id, settings.demo_orders, today=today)
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
