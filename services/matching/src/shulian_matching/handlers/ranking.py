"""Ranking an order's candidates: eligible suppliers (service orders) or talents (job orders).

Eligibility runs in SQL on the supplier replica's eligibility index (one row per listed supplier,
line and industry, with its city: index-only range scans for the line, the industry and the cities
the order is open to), less the suppliers at the award cap. Scores come from the explainable
terms of ``domain.ranking``; for suppliers they fall in strict tiers — same city (0.9-1.0), same
economic region (0.7-0.8), elsewhere (0.6-0.7), availability only moving a supplier within its
tier — so the best ``limit`` are found tier by tier with ``ORDER BY id LIMIT`` queries instead of
scoring every eligible supplier: a province-wide order over 100,000 suppliers reads a few dozen
rows. ``domain.ranking`` stays the single definition of the score; the tiers are only how the
query avoids scoring candidates that cannot reach the top.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.reference import cities_in_region, city_of, mask_name, region_of
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


def _tiers(order: Order) -> list[tuple[list[str] | None, list[str]]]:
    """(cities, not cities) of each score tier, best first, within the order's visibility."""
    visible = visible_cities(order)
    region = [c.code for c in cities_in_region(region_of(order.city_code))]
    near = [c for c in region if c != order.city_code]

    def within(codes: list[str]) -> list[str]:
        return codes if visible is None else [c for c in codes if c in visible]

    rest = None if visible is None else [c for c in visible if c not in region]
    return [(within([order.city_code]), []), (within(near), []), (rest, region)]


async def candidates(
    session: AsyncSession, *, order: Order, award_cap: int, limit: int
) -> tuple[int, dict[str, float], list[Named]]:
    """How many are eligible, the weights, and the best ``limit`` with names and cities."""
    if order.kind == OrderKind.JOB:
        return await _talents(session, order=order, limit=limit)
    line, industry = order.service_line or "", order.industry
    awards = await repository.active_awards(session, None)
    capped = [s for s, held in awards.items() if held >= award_cap]
    eligible = await repository.count_eligible(
        session, service_line=line, industry=industry, cities=visible_cities(order)
    )
    if capped:
        over = await repository.eligible_rows(
            session, service_line=line, industry=industry, cities=visible_cities(order), ids=capped
        )
        eligible -= len(over)
    best: list[Named] = []
    for cities, not_cities in _tiers(order):
        if len(best) >= limit:
            break
        if cities is not None and not cities:
            continue
        # Suppliers holding awards score lower within the tier: fetch enough past them.
        rows = await repository.eligible_rows(
            session,
            service_line=line,
            industry=industry,
            cities=cities,
            not_cities=not_cities,
            limit=limit + len(awards),
        )
        scored = {
            sid: (
                score_supplier(
                    sid,
                    supplier_city=city,
                    order_city=order.city_code,
                    serves_industry=True,
                    active_awards=awards.get(sid, 0),
                    award_cap=award_cap,
                ),
                name,
                city,
            )
            for sid, name, city, _ in rows
            if awards.get(sid, 0) < award_cap
        }
        top = rank([s[0] for s in scored.values()], limit=limit - len(best))
        best += [scored[r.id] for r in top]
    return eligible, SUPPLIER_WEIGHTS, best


async def _talents(
    session: AsyncSession, *, order: Order, limit: int
) -> tuple[int, dict[str, float], list[Named]]:
    """This node's talents (names masked) and every other node's talent it heard of (by opaque id
    only: ``talent.saved`` carries no personal data), in a city the order is open to."""
    cities = visible_cities(order)
    scored: list[Ranked] = []
    names: dict[str, tuple[str, str]] = {}
    own = [
        (t.id, t.occupation_code, t.skills, t.county_code, mask_name(t.name))
        for t in await repository.talents(session)
    ]
    others = [
        (t.id, t.occupation_code, t.skills, t.county_code, f"{t.owner_node}节点人才")
        for t in await repository.talent_summaries(session)
    ]
    for talent_id, occupation, skills, county, name in own + others:
        city = city_of(county).code
        if cities is not None and city not in cities:
            continue
        names[talent_id] = (name, city)
        scored.append(
            score_talent(
                talent_id,
                occupation_matches=order.occupation_code is not None
                and occupation == order.occupation_code,
                talent_skills=skills,
                order_skills=order.skills,
                same_city=city == order.city_code,
            )
        )
    best = rank(scored, limit=limit)
    return len(scored), TALENT_WEIGHTS, [(r, *names[r.id]) for r in best]
