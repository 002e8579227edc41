"""The directory search: one page of suppliers carrying a term of every group.

A statement depends only on the *shape* of a search (how many terms each group has, how many
name fragments, whether it continues after a cursor); the terms themselves are bound parameters.
Statements are built once per shape and cached, so a search costs an execution, not the
construction and compilation of a dozen nested selects. They select the table's columns, not
the ORM entity: a page is rendered once and discarded, so identity-mapped objects would only
add cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Integer,
    Row,
    Select,
    String,
    bindparam,
    exists,
    select,
    text,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from shulian_registry import orm
from shulian_registry.orm import SupplierTerm

# Rough share of suppliers a term kind matches, rarest first (u: USCC, n: name bigram,
# d: county, i: industry, l: service line, c: city, r: region, h: high-end, s: listing status).
# The rarest group drives the walk; the others are probed per candidate through the primary key.
_KIND_RANK = {kind: rank for rank, kind in enumerate("undilcrhs")}
_LIKE_ESCAPE = "/"
_SUPPLIERS = orm.Supplier.__table__


@dataclass(frozen=True, slots=True)
class Shape:
    """What a search statement depends on besides its values."""

    driver: int  # terms in the driving group (0: no groups, scan suppliers)
    others: tuple[int, ...]  # terms in each other group
    fragments: int  # name substrings
    paged: bool  # continues after a cursor


@dataclass(frozen=True, slots=True)
class Search:
    """A search statement and the values of its parameters."""

    statement: Select[Any]
    params: dict[str, Any]


def _driver_first(groups: Sequence[frozenset[str]]) -> list[frozenset[str]]:
    # A one-term driver is read from the index already in id order, so it goes first.
    def rank(group: frozenset[str]) -> tuple[bool, int]:
        return len(group) > 1, min(_KIND_RANK.get(term[0], len(_KIND_RANK)) for term in group)

    return sorted(groups, key=rank)


def _text(name: str) -> BindParameter[str]:
    return bindparam(name, type_=String())


def _limit() -> BindParameter[int]:
    return bindparam("limit", type_=Integer())


def _like(fragment: str) -> str:
    escaped = fragment.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
    escaped = escaped.replace("%", f"{_LIKE_ESCAPE}%").replace("_", f"{_LIKE_ESCAPE}_")
    return f"%{escaped}%"


def search(
    *,
    groups: Sequence[frozenset[str]],
    name_fragments: Sequence[str] = (),
    after: str | None = None,
    limit: int,
) -> Search:
    """Suppliers carrying a term of every group and every name fragment, in id order after
    ``after`` (a keyset page of at most ``limit``)."""
    ordered = [sorted(group) for group in _driver_first(groups)]
    shape = Shape(
        driver=len(ordered[0]) if ordered else 0,
        others=tuple(len(group) for group in ordered[1:]),
        fragments=len(name_fragments),
        paged=after is not None,
    )
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params["after"] = after
    for g, group in enumerate(ordered):
        params.update({f"t{g}_{i}": term for i, term in enumerate(group)})
    params.update({f"f{k}": _like(fragment) for k, fragment in enumerate(name_fragments)})
    return Search(_statement(shape), params)


@lru_cache(maxsize=512)
def _statement(shape: Shape) -> Select[Any]:
    if shape.driver == 0:
        return _scan(shape)
    page = _page_ids(shape).subquery("page")
    return (
        select(_SUPPLIERS)
        .join(page, _SUPPLIERS.c.id == page.c.supplier_id)
        .order_by(_SUPPLIERS.c.id)
    )


def _scan(shape: Shape) -> Select[Any]:
    """No term to walk: suppliers in id order, filtered by name fragments."""
    stmt = select(_SUPPLIERS)
    for k in range(shape.fragments):
        stmt = stmt.where(_SUPPLIERS.c.name.like(_text(f"f{k}"), escape=_LIKE_ESCAPE))
    if shape.paged:
        stmt = stmt.where(_SUPPLIERS.c.id > _text("after"))
    return stmt.order_by(_SUPPLIERS.c.id).limit(_limit())


def _page_ids(shape: Shape) -> Select[str]:
    """One page of ids, computed on the term index alone.

    Each term of the driving group is walked separately, so every walk streams in id order and
    stops after ``limit`` matches; the page is the first ``limit`` of their union (an id on the
    page is necessarily within the first ``limit`` of its own walk).
    """
    walks = [_walk(shape, i) for i in range(shape.driver)]
    if len(walks) == 1:
        return walks[0]
    merged = union(*(select(walk.subquery().c.supplier_id) for walk in walks)).subquery("merged")
    return select(merged.c.supplier_id).order_by(merged.c.supplier_id).limit(_limit())


def _any_of(alias: type[SupplierTerm], group: int, size: int) -> ColumnElement[bool]:
    if size == 1:
        return alias.term == _text(f"t{group}_0")
    return alias.term.in_([_text(f"t{group}_{i}") for i in range(size)])


def _walk(shape: Shape, index: int) -> Select[str]:
    """Ids carrying driver term ``index`` (read in id order from the primary key) and a term of
    every other group (probed through the primary key), up to ``limit``."""
    walk = aliased(SupplierTerm, name="walk")
    stmt = select(walk.supplier_id).where(walk.term == _text(f"t0_{index}"))
    for g, size in enumerate(shape.others, start=1):
        probe = aliased(SupplierTerm, name=f"probe{g}")
        stmt = stmt.where(
            exists().where(probe.supplier_id == walk.supplier_id, _any_of(probe, g, size))
        )
    named = aliased(orm.Supplier, name="named")
    for k in range(shape.fragments):
        stmt = stmt.where(
            exists().where(
                named.id == walk.supplier_id,
                named.name.like(_text(f"f{k}"), escape=_LIKE_ESCAPE),
            )
        )
    if shape.paged:
        stmt = stmt.where(walk.supplier_id > _text("after"))
    return stmt.order_by(walk.supplier_id).limit(_limit())


async def search_suppliers(
    session: AsyncSession,
    *,
    groups: Sequence[frozenset[str]],
    name_fragments: Sequence[str] = (),
    after: str | None = None,
    limit: int,
) -> Sequence[Row[Any]]:
    """Run a ``search``: rows of the ``suppliers`` table, not ORM objects."""
    found = search(groups=groups, name_fragments=name_fragments, after=after, limit=limit)
    if session.get_bind().dialect.name == "postgresql":
        # A term's share of suppliers ranges from 0.01 % (a brand) to 45 % (a status): a cached
        # generic plan, blind to the values, is often ten times slower than a planned one.
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    rows: Sequence[Row[Any]] = (await session.execute(found.statement, found.params)).all()
    return rows
