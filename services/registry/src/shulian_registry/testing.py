"""Test helpers: a registry node running in-process with a client, tokens and outbox queries.

Used by the service's integration tests (and available to cross-service tests).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from shulian_common.app import runtime_of
from shulian_common.auth import Role, mint_token
from shulian_common.messaging import outbox
from shulian_common.reference import PROVINCE_CODE, DivisionLevel, city_of, get_division
from shulian_registry.demo.province import UsccMaker
from shulian_registry.main import create_app
from shulian_registry.settings import RegistrySettings

PREFIX = "cn.sichuan.shulian.registry."


class Registry:
    """One running registry node, a client talking to it in-process, and test helpers."""

    def __init__(self, app: Any, client: httpx.AsyncClient, settings: RegistrySettings) -> None:
        self.app = app
        self.client = client
        self.settings = settings

    def auth(
        self,
        role: Role | str,
        division: str | None = None,
        *,
        supplier_id: str | None = None,
        sub: str | None = None,
    ) -> dict[str, str]:
        """Bearer header for a principal; operators are issued by their city's node."""
        role = Role(role)
        node = _issuing_node(division) if division else self.settings.node_id
        token = mint_token(
            self.settings,
            role=role,
            node=node,
            division=division,
            supplier_id=supplier_id,
            sub=sub,
        )
        return {"Authorization": f"Bearer {token}"}

    @property
    def province(self) -> dict[str, str]:
        """A province admin."""
        return self.auth(Role.PROVINCE_ADMIN, PROVINCE_CODE)

    async def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Outbox rows in commit order (``kind`` like ``supplier.updated``), type without prefix."""
        engine = runtime_of(self.app).engine
        stmt = select(outbox.c.type, outbox.c.key, outbox.c.topic, outbox.c.data).order_by(
            outbox.c.seq
        )
        async with engine.connect() as connection:
            rows = (await connection.execute(stmt)).all()
        found = [
            {"type": r.type.removeprefix(PREFIX), "key": r.key, "topic": r.topic, "data": r.data}
            for r in rows
        ]
        return [e for e in found if kind is None or e["type"] == f"{kind}.v1"]

    async def count(self, table: str) -> int:
        """Rows in a table."""
        engine = runtime_of(self.app).engine
        async with engine.connect() as connection:
            stmt = select(func.count()).select_from(text(table))
            return int((await connection.execute(stmt)).scalar_one())


def _issuing_node(division: str) -> str:
    level = get_division(division).level
    return PROVINCE_CODE if level is DivisionLevel.PROVINCE else city_of(division).code


def registry_settings_for(database_url: str, tmp_path: Path, node: str) -> RegistrySettings:
    """Settings of a test node: its database, a local bus in ``tmp_path``, no telemetry."""
    return RegistrySettings(
        env="test",
        node_id=node,
        data_dir=tmp_path,
        database_url=database_url,
        bus_url=f"local://{tmp_path / 'bus.db'}",
        telemetry_enabled=False,
        log_json=False,
    )


@asynccontextmanager
async def running(settings: RegistrySettings) -> AsyncIterator[Registry]:
    """The registry app with its lifespan started (migrations, relay) and a client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            yield Registry(app, client, settings)


NodeFactory = Callable[[str], AbstractAsyncContextManager[Registry]]


_USCCS = UsccMaker(random.Random(20230920))


def new_uscc(county_code: str) -> str:
    """A valid USCC registered in ``county_code``, never handed out before in this process."""
    return _USCCS.make(county_code)


def supplier_body(
    county_code: str = "511502",
    *,
    name: str | None = None,
    service_lines: list[str] | None = None,
    industries: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid ``SupplierCreate`` body."""
    return {
        "name": name or f"测试{county_code}人力资源有限公司",
        "uscc": new_uscc(county_code),
        "county_code": county_code,
        "service_lines": service_lines or ["recruitment"],
        "industries": industries or [],
        "contact": {"name": "王小明", "phone": "13800001234", "email": "wang@example.cn"},
        **extra,
    }


async def register(
    node: Registry, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Register a supplier as the province (or ``headers``) and return it; fails loudly."""
    response = await node.client.post(
        "/v1/suppliers", json=body or supplier_body(), headers=headers or node.province
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
