"""Queries on records: by USCC, lists, listing history, search terms, the supplier replica.

By-id reads and inserts are the kit's (``shulian_common.records``). Repositories flush, never
commit: the handlers' units of work do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, exists, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.records import R, page_after
from shulian_registry import orm
from shulian_registry.domain import Registration
from shulian_registry.orm import SupplierTerm


async def supplier_known(session: AsyncSession, supplier_id: str) -> bool:
    """Whether a supplier with this id is held here or replicated from the node owning it."""
    local = exists().where(orm.Supplier.id == supplier_id)
    remote = exists().where(orm.RemoteSupplier.id == supplier_id)
    return bool(await session.scalar(select(or_(local, remote))))


async def upsert_remote_supplier(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Insert or replace a replicated supplier unless one as new is held; ``True`` if written."""
    table = orm.RemoteSupplier.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values)
    # Only a newer snapshot wins, so redeliveries, replays and late old events change nothing.
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={name: stmt.excluded[name] for name in values if name != "id"},
        where=table.c.version < stmt.excluded.version,
    )
    result = await session.execute(upsert)
    return bool(getattr(result, "rowcount", 0))


async def remote_supplier(session: AsyncSession, supplier_id: str) -> orm.RemoteSupplier | None:
    """The replicated supplier with this id."""
    return await session.get(orm.RemoteSupplier, supplier_id)


async def remote_owner(session: AsyncSession, supplier_id: str) -> str | None:
    """The node owning a replicated supplier, ``None`` when no replica has this id."""
    stmt = select(orm.RemoteSupplier.owner_node).where(orm.RemoteSupplier.id == supplier_id)
    return await session.scalar(stmt)


async def registrations_of_uscc(
    session: AsyncSession, uscc: str, *, other_than: str | None = None
) -> list[Registration]:
    """Every supplier holding ``uscc``, local or replicated (except ``other_than``)."""
    found: list[Registration] = []
    for model in (orm.Supplier, orm.RemoteSupplier):
        stmt = select(model.id, model.owner_node, model.created_at).where(model.uscc == uscc)
        if other_than is not None:
            stmt = stmt.where(model.id != other_than)
        found += [Registration(*row) for row in (await session.execute(stmt)).all()]
    return found


async def add_conflict(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """List a USCC conflict unless the same pair is listed; ``True`` if it is new."""
    table = orm.SupplierConflict.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values).on_conflict_do_nothing()
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0))


async def list_conflicts(
    session: AsyncSession, *, after: str | None, limit: int
) -> list[orm.SupplierConflict]:
    """Listed USCC conflicts in the order they were detected here (id order), after ``after``."""
    stmt = select(orm.SupplierConflict)
    if after is not None:
        stmt = stmt.where(orm.SupplierConflict.id > after)
    return list(await session.scalars(stmt.order_by(orm.SupplierConflict.id).limit(limit)))


async def supplier_by_uscc(session: AsyncSession, uscc: str) -> orm.Supplier | None:
    """The supplier with this USCC."""
    return await session.scalar(select(orm.Supplier).where(orm.Supplier.uscc == uscc))


async def enterprise_by_uscc(session: AsyncSession, uscc: str) -> orm.Enterprise | None:
    """The enterprise with this USCC."""
    return await session.scalar(select(orm.Enterprise).where(orm.Enterprise.uscc == uscc))


async def holds_any_record(session: AsyncSession) -> bool:
    """Whether the database holds any supplier or network record."""
    kinds = (orm.Supplier, orm.Park, orm.Market, orm.Station, orm.Enterprise, orm.Scenario)
    for model in (*kinds, orm.Pairing, orm.Platform):
        if await session.scalar(select(exists().where(model.id.isnot(None)))):
            return True
    return False


# --- search terms ---------------------------------------------------------------------------


async def add_terms(session: AsyncSession, supplier_id: str, terms: Iterable[str]) -> None:
    """Index a supplier under ``terms``."""
    rows = [{"term": term, "supplier_id": supplier_id} for term in sorted(terms)]
    if rows:
        await session.execute(insert(SupplierTerm), rows)


async def remove_terms(session: AsyncSession, supplier_id: str, terms: Iterable[str]) -> None:
    """Drop ``terms`` from a supplier's index entries."""
    wanted = sorted(terms)
    if wanted:
        await session.execute(
            delete(SupplierTerm).where(
                SupplierTerm.supplier_id == supplier_id, SupplierTerm.term.in_(wanted)
            )
        )


# --- listing --------------------------------------------------------------------------------


async def listing_history(session: AsyncSession, supplier_id: str) -> list[orm.ListingStep]:
    """Every listing step of a supplier, oldest first."""
    stmt = (
        select(orm.ListingStep)
        .where(orm.ListingStep.supplier_id == supplier_id)
        .order_by(orm.ListingStep.seq)
    )
    return list(await session.scalars(stmt))


async def last_listing_seq(session: AsyncSession, supplier_id: str) -> int:
    """The seq of the supplier's latest listing step (0 when none)."""
    stmt = select(func.max(orm.ListingStep.seq)).where(orm.ListingStep.supplier_id == supplier_id)
    return int(await session.scalar(stmt) or 0)


# --- the network ----------------------------------------------------------------------------


async def list_records(
    session: AsyncSession,
    model: type[R],
    *,
    filters: Mapping[str, Sequence[Any]],
    after: str | None,
    limit: int,
) -> list[R]:
    """Records whose columns take one of the given values, in id order after ``after``."""
    where = [
        getattr(model, column).in_(list(values)) for column, values in filters.items() if values
    ]
    return await page_after(session, model, after=after, limit=limit, where=where)


async def sharing_station_in(
    session: AsyncSession, county_code: str, *, other_than: str | None
) -> bool:
    """Whether the county already has a sharing station (other than ``other_than``)."""
    stmt = select(orm.Station.id).where(
        orm.Station.county_code == county_code, orm.Station.kind == "sharing_station"
    )
    if other_than is not None:
        stmt = stmt.where(orm.Station.id != other_than)
    return (await session.scalar(stmt.limit(1))) is not None
