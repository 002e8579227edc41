"""Targets: seeded from the notice, edited by the province (If-Match on the version read)."""

from __future__ import annotations

import uuid

from shulian_common.errors import ConflictError, NotFoundError
from shulian_common.records import Versions, add, check_version, flush_update, utc_now
from shulian_common.uow import UnitOfWorkFactory
from shulian_reporting import orm, repository
from shulian_reporting.domain.targets import policy_targets
from shulian_reporting.handlers.seeding import seed


async def seed_targets(uow_factory: UnitOfWorkFactory, *, node_id: str) -> int:
    """Insert the notice's targets that are not there yet; how many were inserted."""
    values = [
        {
            "indicator": target.indicator,
            "scope_code": target.scope_code,
            "value": target.value,
            "note": target.note,
        }
        for target in policy_targets()
    ]
    return await seed(
        uow_factory, node_id=node_id, insert=repository.insert_missing_targets, values=values
    )


class TargetExists(ConflictError):
    """A target for this indicator and scope exists already: change it instead."""

    code = "target_exists"
    title = "该指标在此范围已有目标值"


async def create_target(
    uow_factory: UnitOfWorkFactory,
    *,
    node_id: str,
    indicator: str,
    scope_code: str,
    value: float,
    note: str | None,
) -> orm.Target:
    """Set a target where none is (a region's or a city's, usually)."""
    async with uow_factory() as uow:
        if await repository.target_for(uow.session, indicator, scope_code) is not None:
            raise TargetExists(f"指标 {indicator} 在 {scope_code} 已有目标值，请修改它")
        now = utc_now()
        target = orm.Target(
            id=uuid.uuid4().hex,
            owner_node=node_id,
            created_at=now,
            updated_at=now,
            indicator=indicator,
            scope_code=scope_code,
            value=value,
            note=note,
        )
        await add(uow.session, target)
        await uow.commit()
    return target


async def update_target(
    uow_factory: UnitOfWorkFactory,
    *,
    indicator: str,
    scope_code: str,
    value: float,
    note: str | None,
    expected_version: Versions,
) -> orm.Target:
    """Change a target, if it is still at the version the caller read (else 412)."""
    async with uow_factory() as uow:
        target = await repository.target_for(uow.session, indicator, scope_code)
        if target is None:
            raise NotFoundError(f"指标 {indicator} 在 {scope_code} 没有目标值")
        check_version(target, expected_version)
        target.value = value
        target.note = note
        await flush_update(uow.session, target)
        await uow.commit()
    return target
