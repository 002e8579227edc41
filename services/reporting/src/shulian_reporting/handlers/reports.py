"""Reads that compute: indicators for a scope and year, the supervision ranking of the cities.

No writes here: a report is computed from the projections and targets on each request; the
projections' rows are loaded once per projection position (``facts_at_position``), so requests
between two consumer batches share one load (``bench/reporting_indicators.py`` measures both).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shulian_common.reference import cities
from shulian_reporting import repository
from shulian_reporting.consumers import SOURCES
from shulian_reporting.domain.compute import IndicatorResult, Targets, compute_all
from shulian_reporting.domain.facts import Facts
from shulian_reporting.domain.indicators import Status
from shulian_reporting.domain.scope import Scope, city_name, scope_of

# The facts last loaded, by projection position: reports between two consumer batches share one
# load (the projections' rows are what a report costs; computing from them is quick).
_CACHE: dict[tuple[str, int], Facts] = {}
# Each part of the facts last loaded, with the position of its table: after a consumer batch
# only the tables it wrote are read again (a batch of registrations leaves the 20,000 suppliers
# as they were), and of those only the rows written since (each row's write stamp): one
# supplier written is one row read, patched into the facts held.
_PARTS: dict[str, _Part] = {}
# Loads in one event loop take turns, so requests that arrive while the facts are being loaded
# (at start-up, after a consumer batch) wait for that load and share it instead of each
# loading the same rows again.
_LOADING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True)
class _Part:
    """One part of the facts as of its table's position: in order, and by id (to patch)."""

    at: tuple[str, int]
    facts: tuple[Any, ...]
    by_id: dict[str, Any]

    @classmethod
    def of(cls, at: tuple[str, int], facts: tuple[Any, ...]) -> _Part:
        return cls(at, facts, {fact.id: fact for fact in facts})

    def patched(self, at: tuple[str, int], written: tuple[Any, ...]) -> _Part:
        """This part with the rows written since replacing theirs (projected rows are never
        deleted but by a rebuild's clearing, which changes the token: a whole load)."""
        by_id = self.by_id
        by_id.update((fact.id, fact) for fact in written)  # a new id goes last
        return _Part(at, tuple(by_id.values()), by_id)


def clear_cache() -> None:
    """Forget every loaded fact (the next report loads them all)."""
    _CACHE.clear()
    _PARTS.clear()


async def facts_at_position(session: AsyncSession) -> Facts:
    """The projected facts, loaded once per projection position (token and write sequence),
    each table's part again only when that table was written since."""
    positions = await repository.projection_positions(session)
    facts = _CACHE.get(positions.whole)
    if facts is not None:
        return facts
    loop = asyncio.get_running_loop()
    lock = _LOADING.get(loop)
    if lock is None:
        lock = _LOADING[loop] = asyncio.Lock()
    async with lock:
        facts = _CACHE.get(positions.whole)  # loaded by the request this one waited for
        if facts is None:
            parts = {}
            for part, table in repository.FACT_PARTS.items():
                parts[part] = await _part(session, part, table, positions.of(table))
            facts = repository.facts_of(parts)
            _CACHE.clear()  # one position kept: the latest
            _CACHE[positions.whole] = facts
    return facts


async def warm(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Load the facts once (a service's start-up): the first report then finds them loaded,
    or waits for this load instead of starting its own."""
    async with sessions() as session:
        await facts_at_position(session)


async def _part(
    session: AsyncSession, part: str, table: str, at: tuple[str, int] | None
) -> tuple[Any, ...]:
    """One part of the facts at ``at``: held, patched with the rows written since, or loaded."""
    held = _PARTS.get(part)
    if at is None:  # a table without a position of its own: always loaded
        _PARTS.pop(part, None)
        return await repository.load_fact_part(session, table)
    if held is not None and held.at == at:
        return held.facts
    if held is not None and held.at[0] == at[0] and held.at[1] < at[1]:
        written = await repository.load_fact_part(session, table, written_after=held.at[1])
        _PARTS[part] = held.patched(at, written)
    else:
        _PARTS[part] = _Part.of(at, await repository.load_fact_part(session, table))
    return _PARTS[part].facts


async def indicators(
    session: AsyncSession, *, scope_code: str, year: int, today: date
) -> list[IndicatorResult]:
    """Every indicator for one scope and year, as it stands at ``today``."""
    facts = await facts_at_position(session)
    targets = await repository.target_values(session)
    return compute_all(
        facts, scope=scope_of(scope_code), year=year, today=today, targets=targets, sources=SOURCES
    )


async def indicators_by_scope(
    session: AsyncSession,
    *,
    scope_codes: list[str],
    year: int,
    today: date,
    facts: Facts | None = None,
) -> dict[str, list[IndicatorResult]]:
    """Every indicator for several scopes, reading the projections once (or using ``facts``)."""
    if facts is None:
        facts = await facts_at_position(session)
    targets = await repository.target_values(session)
    return {code: _all(facts, scope_of(code), year, today, targets) for code in scope_codes}


def _all(
    facts: Facts, scope: Scope, year: int, today: date, targets: Targets
) -> list[IndicatorResult]:
    return compute_all(facts, scope=scope, year=year, today=today, targets=targets, sources=SOURCES)


@dataclass(frozen=True, slots=True)
class CityRank:
    """One line of the supervision notice (调度通报)."""

    rank: int
    city_code: str
    city_name: str
    completion: float | None  # mean share of target over the city's targeted indicators, %
    met: int
    on_track: int
    behind: int
    assessed: int  # indicators with a target and a source


def rank_cities(by_city: dict[str, list[IndicatorResult]]) -> list[CityRank]:
    """The 21 cities ranked by task completion: the mean of min(share, 100 %) over the
    indicators each has a target and a source for; cities with none assessed come last."""
    rows = []
    for city in cities():
        results = [
            r
            for r in by_city[city.code]
            if r.status in (Status.MET, Status.ON_TRACK, Status.BEHIND)
        ]
        shares = [min(r.share or 0.0, 100.0) for r in results]
        rows.append(
            (
                city.code,
                round(sum(shares) / len(shares), 1) if shares else None,
                sum(r.status is Status.MET for r in results),
                sum(r.status is Status.ON_TRACK for r in results),
                sum(r.status is Status.BEHIND for r in results),
                len(results),
            )
        )
    rows.sort(key=lambda row: (row[1] is None, -(row[1] or 0.0), row[0]))
    return [
        CityRank(i, code, city_name(code), completion, met, on_track, behind, assessed)
        for i, (code, completion, met, on_track, behind, assessed) in enumerate(rows, start=1)
    ]


async def supervision(session: AsyncSession, *, year: int, today: date) -> list[CityRank]:
    """The supervision notice's ranking of the 21 cities for ``year`` at ``today``."""
    codes = [city.code for city in cities()]
    by_city = await indicators_by_scope(session, scope_codes=codes, year=year, today=today)
    return rank_cities(by_city)
