"""The directory search: one page of suppliers carrying a term of every group.

The directory is the province's: local suppliers (``suppliers``) and those replicated from other
nodes (``remote_suppliers``) share one term index, so a page of ids is computed on the index
alone, whoever owns each id, and its rows are then read by primary key from whichever table
holds them (two outer joins; contact and description exist only for local suppliers).

A statement depends only on the *shape* of a search (how many terms each group has, how many
name fragments, whether it continues after a cursor); the terms themselves are bound parameters.
Statements are built once per shape and cached, so a search costs an execution, not the
construction and compilation of a dozen nested selects. They select the table's columns, not
the ORM entity: a page is rendered once and discarded, so identity-mapped objects would only
add cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    func,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Subquery

from shulian_common.db import Queryable, fetch_mappings
from shulian_registry import orm
from shulian_registry.orm import SupplierTerm

# Rough share of suppliers a term kind matches, rarest first (u: USCC, n: name bigram,
# d: county, i: industry, l: service line, c: city, o: owner node, r: region, h: high-end,
# s: listing status).
# The rarest group drives the walk; the others are probed per candidate through the primary key.
_KIND_RANK = {kind: rank for rank, kind in enumerate("undilcorhs")}
_LIKE_ESCAPE = "/"
_SUPPLIERS = orm.Supplier.__table__
_REMOTE = orm.RemoteSupplier.__table__
# Columns both tables hold (a directory entry); the rest are the owner node's alone.
_SHARED = (
    *("owner_node", "version", "created_at", "updated_at", "name", "uscc", "uscc_region_code"),
    *("county_code", "city_code", "region", "service_lines", "industries", "high_end"),
    *("listing_status", "listing_industries", "listing_fields", "figures"),
)
_LOCAL_ONLY = ("contact_name", "contact_phone", "contact_email", "description")


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
    page = (_scan(shape) if shape.driver == 0 else _page_ids(shape)).subquery("page")
    return _entries(page).order_by(page.c.supplier_id)


def _entries(page: Subquery) -> Select[Any]:
    """Directory entries of the ids of ``page``, each read from whichever table holds it."""
    local, remote = _SUPPLIERS.alias("local"), _REMOTE.alias("remote")
    supplier_id = page.c.supplier_id
    columns = [
        supplier_id.label("id"),
        *(func.coalesce(local.c[name], remote.c[name]).label(name) for name in _SHARED),
        *(local.c[name] for name in _LOCAL_ONLY),
    ]
    joined = page.outerjoin(local, local.c.id == supplier_id).outerjoin(
        remote, remote.c.id == supplier_id
    )
    return select(*columns).select_from(joined)


def _scan(shape: Shape) -> Select[str]:
    """No term to walk: ids of both tables in id order, filtered by name fragments."""
    branches = []
    for table in (_SUPPLIERS, _REMOTE):
        stmt = select(table.c.id.label("supplier_id"))
        for k in range(shape.fragments):
            stmt = stmt.where(table.c.name.like(_text(f"f{k}"), escape=_LIKE_ESCAPE))
        if shape.paged:
            stmt = stmt.where(table.c.id > _text("after"))
        branches.append(stmt.order_by(table.c.id).limit(_limit()).subquery())
    merged = union_all(*(select(branch.c.supplier_id) for branch in branches)).subquery("merged")
    return select(merged.c.supplier_id).order_by(merged.c.supplier_id).limit(_limit())


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
    named_remote = aliased(orm.RemoteSupplier, name="named_remote")
    for k in range(shape.fragments):
        stmt = stmt.where(
            or_(
                exists().where(
                    named.id == walk.supplier_id,
                    named.name.like(_text(f"f{k}"), escape=_LIKE_ESCAPE),
                ),
                exists().where(
                    named_remote.id == walk.supplier_id,
                    named_remote.name.like(_text(f"f{k}"), escape=_LIKE_ESCAPE),
                ),
            )
        )
    if shape.paged:
        stmt = stmt.where(walk.supplier_id > _text("after"))
    return stmt.order_by(walk.supplier_id).limit(_limit())


_ENTRY = _entries(select(_text("id").label("supplier_id")).subquery("page"))


async def directory_entry(session: Queryable, supplier_id: str) -> Row[Any] | None:
    """The directory entry of one supplier, local or replicated (a row like a search's)."""
    row = (await session.execute(_ENTRY, {"id": supplier_id})).first()
    return row if row is not None and row.owner_node is not None else None


async def search_suppliers(
    session: Queryable,
    *,
    groups: Sequence[frozenset[str]],
    name_fragments: Sequence[str] = (),
    after: str | None = None,
    limit: int,
) -> Sequence[Mapping[Any, Any]]:
    """Run a ``search``: directory entries (local and replicated) as mappings of their
    columns (on a request's read connection, the driver's records: no ``Row`` per entry)."""
    # PostgreSQL plans each search for its values (``plan_cache_mode = force_custom_plan``, set
    # on every pooled connection by ``shulian_common.db``): a term's share of suppliers ranges
    # from 0.01 % (a brand) to 45 % (a status), and a generic plan is often ten times slower.
    found = search(groups=groups, name_fragments=name_fragments, after=after, limit=limit)
    return await fetch_mappings(session, found.statement, found.params)
