"""Every query of matching, and only queries. Repositories flush, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVarTuple

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shulian_common.db import fetch_mappings
from shulian_matching.domain.grabs import LISTED, GrabStatus
from shulian_matching.orm import (
    ANY_INDUSTRY,
    Application,
    Grab,
    Order,
    Supplier,
    SupplierEligibility,
    Talent,
    TalentSummary,
)

_Columns = TypeVarTuple("_Columns")
HELD = (GrabStatus.AWARDED.value, GrabStatus.CONFIRMED.value)
UNFINISHED = ("open", "awarded", "in_service")


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def upsert_newer(session: AsyncSession, table: Any, values: Mapping[str, Any]) -> bool:
    """Insert or replace a replicated row unless one as new is held; ``True`` if written."""
    stmt = _insert(session)(table).values(**values)
    # Only a newer snapshot wins, so redeliveries, replays and late old events change nothing.
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={name: stmt.excluded[name] for name in values if name != "id"},
        where=table.c.version < stmt.excluded.version,
    )
    result = await session.execute(upsert)
    return bool(getattr(result, "rowcount", 0))


# --- suppliers --------------------------------------------------------------------------------


async def upsert_supplier(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Keep a supplier snapshot (if newer) and replace its rows of the eligibility index."""
    written = await upsert_newer(session, Supplier.__table__, values)
    if written:
        index = SupplierEligibility
        await session.execute(delete(index).where(index.supplier_id == values["id"]))
        rows = eligibility_rows(values)
        if rows:
            await session.execute(insert(index), rows)
    return written


def eligibility_rows(values: Mapping[str, Any]) -> list[dict[str, str]]:
    """A supplier's rows of the eligibility index: none unless listed; else one per (line,
    industry) it serves and one per line for any industry."""
    if values["listing_status"] != LISTED:
        return []
    industries = [ANY_INDUSTRY, *sorted(set(values["industries"]))]
    return [
        {
            "service_line": line,
            "industry": industry,
            "city_code": values["city_code"],
            "supplier_id": values["id"],
        }
        for line in sorted(set(values["service_lines"]))
        for industry in industries
    ]


async def supplier(session: AsyncSession, supplier_id: str) -> Supplier | None:
    """A replicated supplier by id."""
    return await session.get(Supplier, supplier_id)


def _eligible(
    stmt: Select[*_Columns],
    *,
    service_line: str,
    industry: str | None,
    cities: Sequence[str] | None,
    not_cities: Sequence[str] = (),
) -> Select[*_Columns]:
    """``stmt`` kept to the eligibility index's rows of listed suppliers serving the line (and
    industry), in ``cities`` (``None``: anywhere) and not in ``not_cities``: a range of its
    primary key, one per city."""
    index = SupplierEligibility
    stmt = stmt.where(
        index.service_line == service_line,
        index.industry == (ANY_INDUSTRY if industry is None else industry),
    )
    if cities is not None:
        stmt = stmt.where(index.city_code.in_(list(cities)))
    if not_cities:
        stmt = stmt.where(index.city_code.not_in(list(not_cities)))
    return stmt


async def eligible_rows(
    session: AsyncSession,
    *,
    service_line: str,
    industry: str | None,
    cities: Sequence[str] | None,
    not_cities: Sequence[str] = (),
    ids: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[tuple[str, str, str, bool]]:
    """Eligible suppliers' id, name, city and high-end flag, in id order (the first ``limit``;
    only those of ``ids`` when given)."""
    stmt = _eligible(
        select(Supplier.id, Supplier.name, Supplier.city_code, Supplier.high_end)
        .select_from(SupplierEligibility)
        .join(Supplier, Supplier.id == SupplierEligibility.supplier_id),
        service_line=service_line,
        industry=industry,
        cities=cities,
        not_cities=not_cities,
    )
    if ids is not None:
        stmt = stmt.where(SupplierEligibility.supplier_id.in_(list(ids)))
    # In the index's order: the planner walks it and stops at ``limit`` (no sort of all).
    stmt = stmt.order_by(SupplierEligibility.supplier_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = (await session.execute(stmt)).all()
    return [(row[0], row[1], row[2], bool(row[3])) for row in rows]


async def count_eligible(
    session: AsyncSession, *, service_line: str, industry: str | None, cities: Sequence[str] | None
) -> int:
    """How many suppliers are eligible: the index's rows for the line and industry (one per
    supplier), in ``cities``."""
    stmt = _eligible(
        select(func.count()).select_from(SupplierEligibility),
        service_line=service_line,
        industry=industry,
        cities=cities,
    )
    return int(await session.scalar(stmt) or 0)


# --- orders -----------------------------------------------------------------------------------


async def lock_order(session: AsyncSession, order_id: str) -> Order | None:
    """An order, locked for the deciding transaction (row lock on PostgreSQL)."""
    stmt = select(Order).where(Order.id == order_id).with_for_update()
    return await session.scalar(stmt)


async def lock_orders(session: AsyncSession, order_ids: Sequence[str]) -> list[Order]:
    """Orders by id, locked for the deciding transaction (row locks in id order on PostgreSQL)."""
    if not order_ids:
        return []
    stmt = select(Order).where(Order.id.in_(list(order_ids))).order_by(Order.id).with_for_update()
    return list(await session.scalars(stmt))


def _orders(filters: Mapping[str, Iterable[str]], after: str | None, limit: int) -> Select[Any]:
    stmt = select(Order)
    for column, values in filters.items():
        wanted = list(values)
        if wanted:
            stmt = stmt.where(getattr(Order, column).in_(wanted))
    if after is not None:
        stmt = stmt.where(Order.id > after)
    return stmt.order_by(Order.id).limit(limit)


async def list_orders(
    session: AsyncSession,
    *,
    filters: Mapping[str, Iterable[str]],
    after: str | None,
    limit: int,
) -> list[Order]:
    """Orders whose columns take one of the given values, in id order after ``after``."""
    return list(await session.scalars(_orders(filters, after, limit)))


async def order_rows(
    connection: AsyncConnection,
    *,
    filters: Mapping[str, Iterable[str]],
    after: str | None,
    limit: int,
) -> Sequence[Mapping[str, Any]]:
    """``list_orders`` as the table's columns by name (the list route's lean path: on the read
    connection, asyncpg's records where nothing converts)."""
    params: dict[str, Any] = {"limit": limit}
    columns = []
    for column, values in filters.items():
        wanted = list(values)
        if wanted:
            columns.append(column)
            params[f"in_{column}"] = wanted
    if after is not None:
        params["after"] = after
    statement = _order_rows_statement(tuple(columns), after is not None)
    return await fetch_mappings(connection, statement, params)


@lru_cache(maxsize=64)
def _order_rows_statement(columns: tuple[str, ...], paged: bool) -> Select[Any]:
    """``_orders`` with its values as parameters, built once per shape (which filters, whether
    after a cursor): building the statement per request cost as much CPU as running it
    (issue 13); the read connection then knows it by identity."""
    stmt = select(Order)
    for column in columns:
        stmt = stmt.where(getattr(Order, column).in_(bindparam(f"in_{column}", expanding=True)))
    if paged:
        stmt = stmt.where(Order.id > bindparam("after"))
    return stmt.order_by(Order.id).limit(bindparam("limit", type_=Integer()))


async def own_orders_due(session: AsyncSession, *, node_id: str, today: Any) -> list[Order]:
    """This node's open orders whose deadline has passed."""
    stmt = select(Order).where(
        Order.owner_node == node_id, Order.status == "open", Order.deadline < today
    )
    return list(await session.scalars(stmt))


# --- grabs ------------------------------------------------------------------------------------


async def grab(session: AsyncSession, grab_id: str) -> Grab | None:
    """A grab by id."""
    return await session.get(Grab, grab_id)


async def grabs_by_id(session: AsyncSession, grab_ids: Sequence[str]) -> list[Grab]:
    """The grabs with these ids that this node holds."""
    if not grab_ids:
        return []
    return list(await session.scalars(select(Grab).where(Grab.id.in_(list(grab_ids)))))


async def suppliers_by_id(session: AsyncSession, supplier_ids: Sequence[str]) -> list[Supplier]:
    """The replicated suppliers with these ids."""
    if not supplier_ids:
        return []
    stmt = select(Supplier).where(Supplier.id.in_(list(supplier_ids)))
    return list(await session.scalars(stmt))


async def last_seqs(session: AsyncSession, order_ids: Sequence[str]) -> dict[str, int]:
    """The last decision number of each order (orders without a decision are left out)."""
    stmt = (
        select(Grab.order_id, func.max(Grab.seq))
        .where(Grab.order_id.in_(list(order_ids)))
        .group_by(Grab.order_id)
    )
    return {row[0]: int(row[1] or 0) for row in (await session.execute(stmt)).all()}


async def held_slots(
    session: AsyncSession, order_ids: Sequence[str], supplier_ids: Sequence[str]
) -> set[tuple[str, str]]:
    """The (order, supplier) pairs among these where the supplier holds (or awaits confirmation
    of) a slot."""
    stmt = select(Grab.order_id, Grab.supplier_id).where(
        Grab.order_id.in_(list(order_ids)),
        Grab.supplier_id.in_(list(supplier_ids)),
        Grab.status.in_(HELD),
    )
    return {(row[0], row[1]) for row in (await session.execute(stmt)).all()}


async def next_seq(session: AsyncSession, order_id: str) -> int:
    """The next decision number of an order (1 for its first decision)."""
    stmt = select(func.max(Grab.seq)).where(Grab.order_id == order_id)
    return int(await session.scalar(stmt) or 0) + 1


async def supplier_holds(session: AsyncSession, order_id: str, supplier_id: str) -> bool:
    """Whether the supplier already holds (or awaits confirmation of) a slot of the order."""
    stmt = select(Grab.id).where(
        Grab.order_id == order_id, Grab.supplier_id == supplier_id, Grab.status.in_(HELD)
    )
    return (await session.scalar(stmt.limit(1))) is not None


async def active_awards(
    session: AsyncSession, supplier_ids: Sequence[str] | None
) -> dict[str, int]:
    """Awards each supplier (all when ``None``) holds on unfinished orders anywhere in the province,
    as far as this node has heard: its own orders' grabs, its requesters' copies, and the replica
    of every other owner node's decisions. An order whose snapshot has not arrived yet counts as
    unfinished."""
    stmt = (
        select(Grab.supplier_id, func.count())
        .outerjoin(Order, Order.id == Grab.order_id)
        .where(
            Grab.status.in_(HELD),
            or_(Order.status.is_(None), Order.status.in_(UNFINISHED)),
        )
        .group_by(Grab.supplier_id)
    )
    if supplier_ids is not None:
        stmt = stmt.where(Grab.supplier_id.in_(list(supplier_ids)))
    return {row[0]: int(row[1]) for row in (await session.execute(stmt)).all()}


async def keep_decision(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """Keep (or move) the replica of another owner node's decision on a grab asked elsewhere."""
    known = await session.get(Grab, values["id"])
    if known is None:
        session.add(Grab(**values))
    else:
        for name, value in values.items():
            setattr(known, name, value)
    await session.flush()


async def grabs_of(session: AsyncSession, order_id: str, statuses: Iterable[str]) -> list[Grab]:
    """The order's grabs in these statuses, in decision order."""
    stmt = (
        select(Grab)
        .where(Grab.order_id == order_id, Grab.status.in_(list(statuses)))
        .order_by(Grab.seq, Grab.id)
    )
    return list(await session.scalars(stmt))


async def standby(session: AsyncSession, order_id: str) -> list[Grab]:
    """Grabs refused only for want of a slot, in the order they were decided."""
    stmt = (
        select(Grab)
        .where(
            Grab.order_id == order_id,
            Grab.status == GrabStatus.REJECTED.value,
            Grab.reason == "no_slot_left",
        )
        .order_by(Grab.seq)
    )
    return list(await session.scalars(stmt))


async def overdue_awards(session: AsyncSession, *, node_id: str, now: Any) -> list[Grab]:
    """Awards on this node's orders whose confirmation deadline has passed."""
    stmt = select(Grab).where(
        Grab.order_owner_node == node_id,
        Grab.status == GrabStatus.AWARDED.value,
        Grab.confirm_by < now,
    )
    return list(await session.scalars(stmt.order_by(Grab.order_id, Grab.seq)))


async def page_grabs(
    session: AsyncSession, *, order_id: str, after: str | None, limit: int
) -> list[Grab]:
    """An order's grabs in id order after ``after``."""
    stmt = select(Grab).where(Grab.order_id == order_id)
    if after is not None:
        stmt = stmt.where(Grab.id > after)
    return list(await session.scalars(stmt.order_by(Grab.id).limit(limit)))


async def set_grab(session: AsyncSession, grab_id: str, values: Mapping[str, Any]) -> None:
    """Overwrite a grab's decision fields (used by the requester applying the owner's word)."""
    await session.execute(
        update(Grab).where(Grab.id == grab_id).values(version=Grab.version + 1, **values)
    )


# --- talents and applications -----------------------------------------------------------------


async def talent_by_account(session: AsyncSession, account: str) -> Talent | None:
    """The profile of a talent account."""
    return await session.scalar(select(Talent).where(Talent.account == account))


async def applications_of(
    session: AsyncSession, order_id: str, *, after: str | None, limit: int
) -> list[Application]:
    """An order's applications in id order."""
    stmt = select(Application).where(Application.order_id == order_id)
    if after is not None:
        stmt = stmt.where(Application.id > after)
    return list(await session.scalars(stmt.order_by(Application.id).limit(limit)))


async def applications_by(
    session: AsyncSession, order_id: str, talent_id: str
) -> list[Application]:
    """A talent's applications to an order (one standing at most, any number declined)."""
    stmt = select(Application).where(
        Application.order_id == order_id, Application.talent_id == talent_id
    )
    return list(await session.scalars(stmt.order_by(Application.created_at, Application.id)))


async def talents_for(session: AsyncSession, ids: Iterable[str]) -> list[Talent]:
    """Talents by id."""
    wanted = list(ids)
    if not wanted:
        return []
    return list(await session.scalars(select(Talent).where(Talent.id.in_(wanted))))


async def talents(session: AsyncSession) -> list[Talent]:
    """Every talent profile held on this node."""
    return list(await session.scalars(select(Talent).order_by(Talent.id)))


async def talent_summaries(session: AsyncSession) -> list[TalentSummary]:
    """Every other node's talent this node has heard of (no personal data)."""
    return list(await session.scalars(select(TalentSummary).order_by(TalentSummary.id)))


async def applicant_talents(session: AsyncSession, order_id: str) -> list[Talent]:
    """The talents who applied to an order (still applied or accepted)."""
    stmt = (
        select(Talent)
        .join(Application, Application.talent_id == Talent.id)
        .where(Application.order_id == order_id, Application.status != "declined")
    )
    return list(await session.scalars(stmt))
