"""Fixtures of the partner tests: the kit's example service with fast webhook settings, writers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kit_example.contracts import SERVICE, NoteSaved
from kit_example.main import create_app

from shulian_common.auth import Role
from shulian_common.settings import Settings
from shulian_common.testing.node import ServiceNode, node_settings, run_node

NODE = "510100"
FAST_WEBHOOKS: dict[str, Any] = {
    "webhook_timeout_s": 1.0,
    "webhook_retry_base_s": 0.3,
    "webhook_retry_factor": 2.0,
    "webhook_jitter": 0.1,
    "webhook_max_attempts": 4,
    "webhook_poll_interval_s": 0.05,
    "relay_poll_interval": 0.05,
}


def example_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings of the example service as the partner tests run it (fast webhooks)."""
    values: dict[str, Any] = {"public_url": "http://kitexample", **FAST_WEBHOOKS, **overrides}
    return node_settings(
        Settings,
        database_url=database_url,
        tmp_path=tmp_path,
        node=NODE,
        service=SERVICE,
        **values,
    )


@pytest.fixture
async def node(database_url: str, tmp_path: Path) -> AsyncIterator[ServiceNode[Settings]]:
    """The example service (it creates the partner tables), its relay and dispatcher running."""
    async with run_node(create_app, example_settings(database_url, tmp_path)) as running:
        yield running


def partner(node: ServiceNode[Settings], name: str = "county-platform") -> dict[str, str]:
    """Bearer header of a partner platform."""
    return node.auth(Role.PARTNER, sub=f"partner:{name}")


async def write_notes(node: ServiceNode[Settings], count: int, *, per_commit: int = 1) -> list[str]:
    """``count`` NoteSaved events, ``per_commit`` to a transaction; their event ids in order."""
    ids: list[str] = []
    for start in range(0, count, per_commit):
        async with node.runtime.uow_factory() as uow:
            for n in range(start, min(count, start + per_commit)):
                note_id = uuid.uuid4().hex
                event = uow.record(
                    NoteSaved(
                        id=note_id,
                        owner_node=NODE,
                        version=1,
                        title=f"第{n}条",
                        seats=0,
                        updated_at=datetime.now(UTC),
                    ),
                    key=note_id,
                )
                ids.append(event.id)
            await uow.commit()
    return ids
