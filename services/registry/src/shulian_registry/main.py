"""The registry service: app factory and its entry in the ``shulian`` CLI."""

from __future__ import annotations

from fastapi import FastAPI

from shulian_common.app import create_service_app
from shulian_common.service import ServiceDefinition
from shulian_common.settings import Settings
from shulian_registry import contracts  # noqa: F401 - registers the events in the catalogue
from shulian_registry.api import routers
from shulian_registry.consumers import subscriptions
from shulian_registry.demo import seed_demo
from shulian_registry.orm import MIGRATIONS
from shulian_registry.settings import SERVICE, registry_settings

DESCRIPTION = """
蜀联·名录库 — the key HR service supplier directory (重点人力资源服务供应商名录库) and the
support network of Sichuan's "HR services empower industries" action: suppliers and their
listing workflow, industrial parks, HR markets, stations, application scenarios, pairings,
informatisation platforms and key enterprises.

Every change publishes a full snapshot event (without personal data) on
`shulian.registry.suppliers.v1`, `shulian.registry.network.v1` or
`shulian.registry.enterprises.v1`. Errors are RFC 9457 problem+json with a stable `code`.
"""

TAGS = [
    {"name": "suppliers", "description": "人力资源服务机构"},
    {"name": "listing", "description": "重点供应商名录库：申请、审核、入库、暂停、出库"},
    {"name": "park", "description": "人力资源服务产业园"},
    {"name": "market", "description": "人力资源市场与国有人力资源平台公司"},
    {"name": "station", "description": "联络点、工作站、服务网与共享站"},
    {"name": "scenario", "description": "深度协同典型应用场景"},
    {"name": "pairing", "description": "四类地区对口合作与行业协会结对"},
    {"name": "platform", "description": "人力资源信息化支撑平台"},
    {"name": "enterprise", "description": "重点企业（需求方）"},
    {"name": "reference", "description": "行政区划、产业与业态代码"},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The registry's FastAPI app; its lifespan migrates the database, runs relay and consumer."""
    registry = registry_settings(settings or Settings(service=SERVICE))
    return create_service_app(
        settings=registry,
        title="Shulian registry (蜀联·名录库)",
        description=DESCRIPTION,
        routers=routers(),
        migrations=MIGRATIONS,
        subscriptions=subscriptions(registry.node_id),
        openapi_tags=TAGS,
    )


service = ServiceDefinition(
    name=SERVICE,
    create_app=create_app,
    port_offset=0,
    seed_demo=seed_demo,
    subscriptions=subscriptions,
)
