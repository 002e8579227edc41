"""Ranking an order's candidates: eligible suppliers (service orders) or talents (job orders).

Eligibility runs in SQL on the supplier replica's facet index (listed, serving the line and the
industry, in a city the order is open to); only the eligible are scored, in Python, with the
explainable terms of ``domain.ranking``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.reference import city_of, mask_name
from shulian_matching import repository
from shulian_matching.domain.orders import OrderKind, Visibility
from shulian_matching.domain.ranking import (
    SUPPLIER_WEIGHTS,
    TALENT_WEIGHTS,
    Ranked,
    rank,
    score_supplier,
    score_talent,
)
from shulian_matching.orm import Order

Named = tuple[Ranked, str, str]  # the score, the candidate's display name and city


def visible_cities(order: Order) -> list[str] | None:
    """The cities whose suppliers may take the order (``None``: the whole province)."""
    if order.visibility == Visibility.PROVINCE:
        return None
    if order.visibility == Visibility.OWN_CITY:
        return [order.city_code]
    return list(order.visible_cities)


async def candidates(
    session: AsyncSession, *, order: Order, node_id: str, award_cap: int, limit: int
) -> tuple[int, dict[str, float], list[Named]]:
    """How many are eligible, the weights, and the best ``limit`` with names and cities."""
    if order.kind == OrderKind.JOB:
        return await _talents(session, order=order, limit=limit)
    rows = await repository.eligible_rows(
        session,
        service_line=order.service_line or "",
        industry=order.industry,
        cities=visible_cities(order),
    )
    awards = await repository.active_awards(session, None, node_id)
    scored: list[Ranked] = []
    names: dict[str, tuple[str, str]] = {}
    for supplier_id, name, city, _high_end in rows:
        held = awards.get(supplier_id, 0)
        if held >= award_cap:
            continue  # over its cap of concurrent awards: not eligible now
        names[supplier_id] = (name, city)
        scored.append(
            score_supplier(
                supplier_id,
                supplier_city=city,
                order_city=order.city_code,
                serves_industry=True,
                active_awards=held,
                award_cap=award_cap,
            )
        )
    best = rank(scored, limit=limit)
    return len(scored), SUPPLIER_WEIGHTS, [(r, *names[r.id]) for r in best]


async def _talents(
    session: AsyncSession, *, order: Order, limit: int
) -> tuple[int, dict[str, float], list[Named]]:
    cities = visible_cities(order)
    scored: list[Ranked] = []
    names: dict[str, tuple[str, str]] = {}
    for talent in await repository.talents(session):
        city = city_of(talent.county_code).code
        if cities is not None and city not in cities:
            continue
        names[talent.id] = (mask_name(talent.name), city)
        scored.append(
            score_talent(
                talent.id,
                occupation_matches=order.occupation_code is not None
                and talent.occupation_code == order.occupation_code,
                talent_skills=talent.skills,
                order_skills=order.skills,
                same_city=city == order.city_code,
            )
        )
    best = rank(scored, limit=limit)
    return len(scored), TALENT_WEIGHTS, [(r, *names[r.id]) for r in best]
