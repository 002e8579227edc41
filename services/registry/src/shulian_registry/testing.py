"""Test helpers of the registry: the generic test node bound to it, and valid suppliers.

Used by the service's integration tests (and available to cross-service tests). Everything that
is not about the registry (client, tokens, drain, event capture) is ``shulian_common.testing.node``.
"""

from __future__ import annotations

import random
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from shulian_common.testing.node import NodeFactory as AnyNodeFactory
from shulian_common.testing.node import ServiceNode, node_settings, run_node
from shulian_registry.demo.province import UsccMaker
from shulian_registry.main import create_app
from shulian_registry.settings import RegistrySettings

PREFIX = "cn.sichuan.shulian.registry."

Registry = ServiceNode[RegistrySettings]
NodeFactory = AnyNodeFactory[RegistrySettings]


def registry_settings_for(database_url: str, tmp_path: Path, node: str) -> RegistrySettings:
    """Settings of a test node: its database, the local bus of ``tmp_path``, no telemetry."""
    return node_settings(RegistrySettings, database_url=database_url, tmp_path=tmp_path, node=node)


def running(settings: RegistrySettings) -> AbstractAsyncContextManager[Registry]:
    """The registry app with its lifespan started (migrations, relay, consumer) and a client."""
    return run_node(create_app, settings)


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
