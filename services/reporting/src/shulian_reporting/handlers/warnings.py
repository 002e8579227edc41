"""Warnings: rules seeded as data; each evaluation raises new conditions and clears ended ones.

One unit of work per evaluation: the warnings' rows and their events commit together, so a
warning is raised once (its row is open while the condition holds) and cleared once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from shulian_common.records import add, flush_update, utc_now
from shulian_common.reference import PROVINCE_CODE, cities
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_reporting import orm, repository
from shulian_reporting.consumers import SOURCES
from shulian_reporting.contracts import WarningCleared, WarningRaised
from shulian_reporting.domain.summaries import SummaryStatus
from shulian_reporting.domain.warnings import SEED_RULES, Condition, Rule, RuleKind, evaluate
from shulian_reporting.handlers.reports import facts_at_position, indicators_by_scope
from shulian_reporting.handlers.seeding import seed


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one evaluation changed."""

    raised: list[orm.Warning]
    cleared: list[orm.Warning]


async def seed_rules(uow_factory: UnitOfWorkFactory, *, node_id: str) -> int:
    """Insert the default rules that are not there yet; how many were inserted."""
    values = [
        {
            "code": rule.code,
            "kind": rule.kind.value,
            "indicator": rule.indicator,
            "threshold": rule.threshold,
            "enabled": rule.enabled,
            "name": rule.name,
        }
        for rule in SEED_RULES
    ]
    return await seed(
        uow_factory, node_id=node_id, insert=repository.insert_missing_rules, values=values
    )


def as_rule(row: orm.WarningRule) -> Rule:
    """A stored rule as the domain evaluates it."""
    return Rule(row.code, RuleKind(row.kind), row.indicator, row.threshold, row.name, row.enabled)


async def evaluate_warnings(
    uow_factory: UnitOfWorkFactory, *, node_id: str, year: int, today: date
) -> Evaluation:
    """Evaluate every rule for the province and each city; raise and clear accordingly."""
    async with uow_factory() as uow:
        session = uow.session
        rules = [as_rule(row) for row in await repository.warning_rules(session)]
        scopes = [PROVINCE_CODE, *(city.code for city in cities())]
        facts = await facts_at_position(session)
        results = await indicators_by_scope(
            session, scope_codes=scopes, year=year, today=today, facts=facts
        )
        summaries = {
            row.city_code: SummaryStatus(row.status)
            for row in await repository.summaries_of(session, year)
        }
        conditions = evaluate(
            rules,
            year=year,
            today=today,
            results=results,
            summaries=summaries,
            sources=SOURCES,
            facts=facts,
        )
        evaluation = await _apply(uow, node_id=node_id, year=year, conditions=conditions)
        await uow.commit()
    return evaluation


async def _apply(
    uow: UnitOfWork, *, node_id: str, year: int, conditions: list[Condition]
) -> Evaluation:
    holding = {(c.rule_code, c.scope_code): c for c in conditions}
    open_rows = [w for w in await repository.open_warnings(uow.session) if w.year == year]
    open_keys = {(w.rule_code, w.scope_code) for w in open_rows}
    cleared = []
    for row in open_rows:
        if (row.rule_code, row.scope_code) not in holding:
            row.cleared_at = utc_now()
            await flush_update(uow.session, row)
            uow.record(_snapshot(WarningCleared, row), key=row.id, subject=row.id)
            cleared.append(row)
    raised = []
    for key, condition in sorted(holding.items()):
        if key in open_keys:
            continue
        now = utc_now()
        row = orm.Warning(
            id=uuid.uuid4().hex,
            owner_node=node_id,
            created_at=now,
            updated_at=now,
            rule_code=condition.rule_code,
            scope_code=condition.scope_code,
            year=year,
            message=condition.message,
            raised_at=now,
            cleared_at=None,
        )
        await add(uow.session, row)
        uow.record(_snapshot(WarningRaised, row), key=row.id, subject=row.id)
        raised.append(row)
    return Evaluation(raised=raised, cleared=cleared)


def _snapshot(
    model: type[WarningRaised] | type[WarningCleared], row: orm.Warning
) -> WarningRaised | WarningCleared:
    return model.model_validate(row, from_attributes=True)
