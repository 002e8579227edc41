"""Every query of reporting, and only queries: projections, facts, targets, warnings, summaries.

Repositories flush, never commit: the handlers' units of work (or the consumer runner) do;
projected snapshots are buffered and written as the transaction commits (see below).
"""

from __future__ import annotations

import functools
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    Dialect,
    Select,
    Table,
    bindparam,
    case,
    delete,
    event,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from shulian_common.db import fetch_mappings
from shulian_reporting import orm
from shulian_reporting.domain.facts import (
    ActivityFact,
    Facts,
    Figure,
    NetworkFact,
    NetworkKind,
    OrderFact,
    RegistrationFact,
    SupplierFact,
    TalentFact,
)

PROJECTIONS: tuple[type[orm.Projection], ...] = (
    orm.ProjectedSupplier,
    orm.ProjectedNetworkRecord,
    orm.ProjectedEnterprise,
    orm.ProjectedActivity,
    orm.ProjectedRegistration,
    orm.ProjectedOrder,
    orm.ProjectedTalent,
)


def _insert(session: AsyncSession | Session, table: Table) -> Any:
    return _dialect_insert(session.get_bind().dialect, table)


def _dialect_insert(dialect: Dialect, table: Table) -> Any:
    return (postgresql if dialect.name == "postgresql" else sqlite).insert(table)


async def _insert_missing(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert the rows whose unique key is not there yet; how many were inserted."""
    if not rows:
        return 0
    stmt = _insert(session, table).values(list(rows)).on_conflict_do_nothing()
    result = await session.execute(stmt.returning(table.c.id))
    return len(result.all())


# --- projections: buffered, version-gated upserts -------------------------------------------
#
# A consumer batch applies hundreds of snapshots in one transaction. Each handler adds its row
# to a buffer on the session instead of executing an upsert; just before the transaction
# commits, the buffer is written as one upsert per table executed for all its rows. Within the
# buffer the highest version of a record wins, as the upsert's WHERE makes it win against the
# table, so buffered or not, the projection ends the same: the latest snapshot of each record.
#
# The upsert is compiled once per engine's dialect and table, and its rows handed to the
# driver's executemany as tuples (``exec_driver_sql``): SQLAlchemy's per-row parameter building
# (a dict per row, every value looked up and processed through the compiled statement) took a
# third of a rebuild's time. The values still go through the column types' own bind processors
# (the engine's JSON serializer, SQLite's date text), so the rows stored are the same.

_BUFFER = "reporting.projection_buffer"

ProjectedRow = tuple[Any, ...]


def _supplier_table() -> Table:
    return orm.ProjectedSupplier.__table__  # type: ignore[return-value]


def _table(name: str) -> Table:
    return orm.Base.metadata.tables[name]


# A staged row is a tuple in its table's column order (``ROW_COLUMNS``): handlers build it
# straight from the reader model, the buffer keeps it, and the driver's executemany takes it,
# with no dict per row on the way (a rebuild stages a million of them).
# ``written``, the write stamp, is not part of a staged row: the transaction that writes the
# buffer knows it (the table's new position) and adds it to every row of the table.
_STAMP = "written"
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    model.__tablename__: tuple(  # type: ignore[attr-defined]
        column.name
        for column in model.__table__.c  # type: ignore[attr-defined]
        if column.name != _STAMP
    )
    for model in PROJECTIONS
}
_ID = {name: columns.index("id") for name, columns in ROW_COLUMNS.items()}
_VERSION = {name: columns.index("version") for name, columns in ROW_COLUMNS.items()}
_LISTED_ON = ROW_COLUMNS["p_suppliers"].index("listed_on")
_STATUS = ROW_COLUMNS["p_suppliers"].index("listing_status")


def staged(session: AsyncSession, table: str) -> dict[str, ProjectedRow]:
    """This transaction's buffer of ``table`` (id → row), registering its flush once."""
    buffer: dict[str, dict[str, ProjectedRow]] | None = session.info.get(_BUFFER)
    if buffer is None:
        buffer = session.info[_BUFFER] = {}
        event.listen(session.sync_session, "before_commit", _write_buffer)
    rows = buffer.get(table)
    if rows is None:
        rows = buffer[table] = {}
    return rows


def stage(rows: dict[str, ProjectedRow], table: str, row: ProjectedRow) -> None:
    """Buffer ``row`` (in ``ROW_COLUMNS[table]`` order) in ``rows``, ``staged(…, table)``:
    within the buffer the highest version of a record wins, as the upsert's WHERE makes it win
    against the table; a supplier's listing date survives a newer snapshot while it stays
    listed (the upsert's rule, ``_upsert``)."""
    key = row[_ID[table]]
    held = rows.get(key)
    if held is None:
        rows[key] = row
    elif row[_VERSION[table]] > held[_VERSION[table]]:
        if table == "p_suppliers":
            row = _merge_supplier(held, row)
        rows[key] = row


def _merge_supplier(held: ProjectedRow, new: ProjectedRow) -> ProjectedRow:
    """A newer supplier snapshot over a buffered one: its listing date survives while listed."""
    listed_on = (held[_LISTED_ON] or new[_LISTED_ON]) if new[_STATUS] == "listed" else None
    if listed_on == new[_LISTED_ON]:
        return new
    return (*new[:_LISTED_ON], listed_on, *new[_LISTED_ON + 1 :])


async def stage_row(session: AsyncSession, table: str, row: ProjectedRow) -> None:
    """Project a snapshot's row (in ``ROW_COLUMNS[table]`` order), highest version winning."""
    stage(staged(session, table), table, row)


def _write_buffer(session: Session) -> None:
    """Write the buffered rows (runs inside the commit, so in the same transaction)."""
    buffer = session.info.pop(_BUFFER, None) or {}
    buffer = {name: rows for name, rows in buffer.items() if rows}
    if not buffer:
        return
    # Row 1 first, alone: every writer takes its lock before any table's row, so two
    # transactions never hold table rows in opposite orders (no deadlock on PostgreSQL).
    session.execute(_ADVANCE_WHOLE)
    advanced = _advance_parts(list(buffer)).returning(_STATE.c.id, _STATE.c.seq)
    stamps = {int(row[0]): int(row[1]) for row in session.execute(advanced)}
    connection = session.connection()
    for name, rows in buffer.items():
        upsert = _compiled_upsert(connection.dialect, _table(name))
        stamp = stamps.get(PART_STATE[name], 0)  # no row of its own: every load is whole
        connection.exec_driver_sql(upsert.sql, upsert.parameters(rows.values(), stamp))


@dataclass(frozen=True, slots=True)
class _CompiledUpsert:
    """A table's upsert as the driver's SQL, and how to turn rows (tuples in ``ROW_COLUMNS``
    order) and the transaction's write stamp into its positional values."""

    sql: str
    # For each bound value, its index in a staged row, or one past the row's end: the stamp.
    picks: tuple[int, ...]
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]

    def parameters(self, rows: Iterable[ProjectedRow], stamp: int) -> list[ProjectedRow]:
        # Column by column: the transposition and the maps run in C, not a loop per value.
        columns = list(zip(*rows, strict=True))
        if not columns:
            return []
        columns.append((stamp,) * len(columns[0]))
        bound = [columns[i] for i in self.picks]
        for i, process in self.processors:
            bound[i] = tuple(map(process, bound[i]))
        return list(zip(*bound, strict=True))


_COMPILED: weakref.WeakKeyDictionary[Dialect, dict[str, _CompiledUpsert]] = (
    weakref.WeakKeyDictionary()
)


def _compiled_upsert(dialect: Dialect, table: Table) -> _CompiledUpsert:
    """``_upsert`` compiled for ``dialect`` (an engine's: its JSON serializer), remembered."""
    compiled_tables = _COMPILED.setdefault(dialect, {})
    found = compiled_tables.get(table.name)
    if found is not None:
        return found
    compiled = _upsert(dialect, table).compile(dialect=dialect)
    names = compiled.positiontup
    columns = (*ROW_COLUMNS[table.name], _STAMP)
    if names is None or sorted(names) != sorted(columns):
        raise TypeError(f"{table.name}: the upsert must bind each column once, positionally")
    picks = tuple(columns.index(name) for name in names)
    processors = []
    for i, name in enumerate(names):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((i, process))
    found = compiled_tables[table.name] = _CompiledUpsert(compiled.string, picks, tuple(processors))
    return found


def _upsert(dialect: Dialect, table: Table) -> Any:
    """Insert or replace a row unless one with as high a version is held."""
    stmt = _dialect_insert(dialect, table)
    columns = {column.name: stmt.excluded[column.name] for column in table.c if column.name != "id"}
    if table is _supplier_table():
        excluded = stmt.excluded
        columns["listed_on"] = case(
            (
                excluded.listing_status == literal_column("'listed'"),
                func.coalesce(table.c.listed_on, excluded.listed_on),
            ),
            else_=None,
        )
    return stmt.on_conflict_do_update(
        index_elements=[table.c.id], set_=columns, where=table.c.version < stmt.excluded.version
    )


def row_of(table: str, values: Mapping[str, Any]) -> ProjectedRow:
    """A projected row given by column name, as the tuple ``stage`` takes."""
    return tuple(values[name] for name in ROW_COLUMNS[table])


async def upsert_supplier(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """Project a supplier snapshot; its listing date survives updates while it stays listed."""
    await stage_row(session, "p_suppliers", row_of("p_suppliers", values))


async def upsert_network(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """Project a park, market, station, scenario, pairing or platform snapshot."""
    await stage_row(session, "p_network", row_of("p_network", values))


async def upsert_enterprise(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """Project an enterprise snapshot."""
    await stage_row(session, "p_enterprises", row_of("p_enterprises", values))


async def upsert_projection(session: AsyncSession, table: str, values: Mapping[str, Any]) -> None:
    """Project a snapshot into ``table`` (one of ``PROJECTIONS``), highest version winning."""
    await stage_row(session, table, row_of(table, values))


# ``projection_state``: row 1 is where the projections stand as a whole, and each projection
# table has its own row (migration 0004), advanced by the transactions that write that table:
# a report reloads only the tables written since it last loaded them.
_STATE: Table = orm.ProjectionState.__table__  # type: ignore[assignment]
_WHOLE = 1
PART_STATE = {
    "p_suppliers": 2,
    "p_network": 3,
    "p_enterprises": 4,
    "p_activities": 5,
    "p_registrations": 6,
    "p_orders": 7,
    "p_talents": 8,
}
_ADVANCE_ALL = update(_STATE).values(seq=_STATE.c.seq + 1)
_ADVANCE_WHOLE = _ADVANCE_ALL.where(_STATE.c.id == _WHOLE)


def _advance_parts(tables: Sequence[str]) -> Any:
    ids = [PART_STATE[name] for name in tables]
    return _ADVANCE_ALL.where(_STATE.c.id.in_(ids))


@dataclass(frozen=True, slots=True)
class Positions:
    """Where the projections stand: this database's token, the write sequence of them all and
    of each table (a table missing from ``parts`` has no row: always reloaded)."""

    token: str
    seq: int
    parts: dict[str, int]

    @property
    def whole(self) -> tuple[str, int]:
        """The position of all the projections."""
        return self.token, self.seq

    def of(self, table: str) -> tuple[str, int] | None:
        """The position of one table, if it has one."""
        seq = self.parts.get(table)
        return None if seq is None else (self.token, seq)


async def projection_positions(session: AsyncSession) -> Positions:
    """Where the projections stand, as a whole and table by table (one query)."""
    rows = {row.id: row for row in await session.execute(select(_STATE))}
    whole = rows[_WHOLE]
    parts = {name: rows[i].seq for name, i in PART_STATE.items() if i in rows}
    return Positions(whole.token, whole.seq, parts)


async def projection_position(session: AsyncSession) -> tuple[str, int]:
    """Where the projections stand: (this database's token, write sequence)."""
    return (await projection_positions(session)).whole


async def clear_projections(session: AsyncSession) -> None:
    """Empty every projection (the start of a rebuild), under a new token: facts loaded before
    are of other projections, never patched with the rows written since (they were deleted)."""
    for model in PROJECTIONS:
        await session.execute(delete(model))
    await session.execute(_ADVANCE_ALL.values(token=uuid.uuid4().hex))


async def projection_counts(session: AsyncSession) -> dict[str, int]:
    """Rows per projection table."""
    counts = {}
    for model in PROJECTIONS:
        counts[model.__tablename__] = int(  # type: ignore[attr-defined]
            await session.scalar(select(func.count()).select_from(model)) or 0
        )
    return counts


# --- facts ----------------------------------------------------------------------------------


async def load_facts(session: AsyncSession) -> Facts:
    """Every projected fact, as the indicators read them."""
    parts = {part: await load_fact_part(session, table) for part, table in FACT_PARTS.items()}
    return facts_of(parts)


def facts_of(parts: Mapping[str, tuple[Any, ...]]) -> Facts:
    """The facts made of their parts (by ``FACT_PARTS``' names)."""
    return Facts(
        suppliers=parts["suppliers"],
        network=parts["network"],
        activities=parts["activities"],
        registrations=parts["registrations"],
        orders=parts["orders"],
        talents=parts["talents"],
    )


async def load_fact_part(
    session: AsyncSession, table: str, *, written_after: int | None = None
) -> tuple[Any, ...]:
    """The facts of one projection table (one of ``FACT_PARTS``' values); with
    ``written_after``, only those of the rows written since that position of the table."""
    return await _PART_LOADERS[table](session, written_after)


def _since(stmt: Any, model: type[orm.Projection], written_after: int | None) -> Any:
    return stmt if written_after is None else stmt.where(model.written > written_after)


async def _rows(session: AsyncSession, stmt: Any) -> Any:
    """A select of columns run on the session's connection (Core): the ORM's per-row loading
    adds nothing to plain columns and cost a third of a cold load of the facts."""
    return await (await session.connection()).execute(stmt)


async def _suppliers(session: AsyncSession, written_after: int | None) -> tuple[SupplierFact, ...]:
    s = orm.ProjectedSupplier
    stmt = select(
        s.id, s.city_code, s.listing_status, s.listed_on, s.listing_industries, s.figures,
        s.industries,
    )  # fmt: skip
    supplier_rows = await _rows(session, _since(stmt, s, written_after))
    return tuple(
        SupplierFact(
            id=row.id,
            city_code=row.city_code,
            listing_status=row.listing_status,
            listed_on=row.listed_on,
            listing_industries=tuple(row.listing_industries),
            figures=tuple(Figure(**figure) for figure in row.figures),
            industries=tuple(row.industries),
        )
        for row in supplier_rows
    )


async def _network(session: AsyncSession, written_after: int | None) -> tuple[NetworkFact, ...]:
    n = orm.ProjectedNetworkRecord
    stmt = select(
        n.id, n.kind, n.subtype, n.level, n.county_code, n.city_code, n.since,
        n.supplier_id, n.industries, n.linked_platforms, n.key_service_objects,
    )  # fmt: skip
    network_rows = await _rows(session, _since(stmt, n, written_after))
    return tuple(
        NetworkFact(
            id=row.id,
            kind=NetworkKind(row.kind),
            subtype=row.subtype,
            level=row.level,
            county_code=row.county_code,
            city_code=row.city_code,
            since=row.since,
            supplier_id=row.supplier_id,
            industries=tuple(row.industries),
            linked_platforms=row.linked_platforms,
            key_service_objects=row.key_service_objects,
        )
        for row in network_rows
    )


async def _activities(session: AsyncSession, written_after: int | None) -> tuple[ActivityFact, ...]:
    a = orm.ProjectedActivity
    stmt = select(
        a.id, a.kind, a.level, a.city_code, a.status, a.occurrences, a.industries,
        a.campaign, a.positions_offered, a.intents_signed, a.hr_managers_attended,
    )  # fmt: skip
    rows = await _rows(session, _since(stmt, a, written_after))
    return tuple(
        ActivityFact(
            id=row.id,
            kind=row.kind,
            level=row.level,
            city_code=row.city_code,
            status=row.status,
            occurrences=tuple((key, date.fromisoformat(day)) for key, day in row.occurrences),
            industries=tuple(row.industries),
            campaign=row.campaign,
            positions_offered=row.positions_offered,
            intents_signed=row.intents_signed,
            hr_managers_attended=row.hr_managers_attended,
        )
        for row in rows
    )


async def _registrations(
    session: AsyncSession, written_after: int | None
) -> tuple[RegistrationFact, ...]:
    r = orm.ProjectedRegistration
    stmt = select(r.id, r.activity_id, r.participant_kind, r.status, r.attendees, r.checked_in_on)
    rows = await _rows(session, _since(stmt, r, written_after))
    return tuple(
        RegistrationFact(
            id=row.id,
            activity_id=row.activity_id,
            participant_kind=row.participant_kind,
            status=row.status,
            attendees=row.attendees,
            checked_in_on=row.checked_in_on,
        )
        for row in rows
    )


async def _orders(session: AsyncSession, written_after: int | None) -> tuple[OrderFact, ...]:
    o = orm.ProjectedOrder
    stmt = select(
        o.id, o.kind, o.city_code, o.industry, o.occupation_code, o.head_count,
        o.accepted_count, o.placements, o.status, o.placed_on, o.contract_value_yuan,
        o.fulfilled_on,
    )  # fmt: skip
    rows = await _rows(session, _since(stmt, o, written_after))
    return tuple(
        OrderFact(
            id=row.id,
            kind=row.kind,
            city_code=row.city_code,
            industry=row.industry,
            occupation_code=row.occupation_code,
            head_count=row.head_count,
            filled=min(
                row.head_count, row.placements if row.placements is not None else row.accepted_count
            ),
            status=row.status,
            placed_on=row.placed_on,
            contract_value_yuan=row.contract_value_yuan,
            fulfilled_on=row.fulfilled_on,
        )
        for row in rows
    )


async def _talents(session: AsyncSession, written_after: int | None) -> tuple[TalentFact, ...]:
    t = orm.ProjectedTalent
    stmt = select(t.id, t.occupation_code, t.city_code)
    rows = await _rows(session, _since(stmt, t, written_after))
    return tuple(TalentFact(row.id, row.occupation_code, row.city_code) for row in rows)


# Each part of ``Facts`` and the projection table it is loaded from.
FACT_PARTS = {
    "suppliers": "p_suppliers",
    "network": "p_network",
    "activities": "p_activities",
    "registrations": "p_registrations",
    "orders": "p_orders",
    "talents": "p_talents",
}
_PART_LOADERS: dict[str, Callable[[AsyncSession, int | None], Awaitable[tuple[Any, ...]]]] = {
    "p_suppliers": _suppliers,
    "p_network": _network,
    "p_activities": _activities,
    "p_registrations": _registrations,
    "p_orders": _orders,
    "p_talents": _talents,
}


async def enterprises_by_city(session: AsyncSession) -> dict[str, int]:
    """Key enterprises per city."""
    e = orm.ProjectedEnterprise
    rows = await session.execute(select(e.city_code, func.count()).group_by(e.city_code))
    return {city: int(count) for city, count in rows}


# --- targets --------------------------------------------------------------------------------


async def all_targets(session: AsyncSession) -> list[orm.Target]:
    """Every target, by indicator and scope."""
    stmt = select(orm.Target).order_by(orm.Target.indicator, orm.Target.scope_code)
    return list(await session.scalars(stmt))


async def target_values(session: AsyncSession) -> dict[tuple[str, str], float]:
    """Every target's value by (indicator, scope)."""
    t = orm.Target
    rows = await session.execute(select(t.indicator, t.scope_code, t.value))
    return {(indicator, scope): value for indicator, scope, value in rows}


async def target_for(session: AsyncSession, indicator: str, scope_code: str) -> orm.Target | None:
    """The target of one indicator for one scope."""
    stmt = select(orm.Target).where(
        orm.Target.indicator == indicator, orm.Target.scope_code == scope_code
    )
    return await session.scalar(stmt)


async def insert_missing_targets(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the targets not there yet (seeding); how many were inserted."""
    return await _insert_missing(session, orm.Target.__table__, rows)  # type: ignore[arg-type]


# --- warnings -------------------------------------------------------------------------------


async def warning_rules(session: AsyncSession) -> list[orm.WarningRule]:
    """Every warning rule, by code."""
    return list(await session.scalars(select(orm.WarningRule).order_by(orm.WarningRule.code)))


async def insert_missing_rules(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the warning rules not there yet (seeding); how many were inserted."""
    return await _insert_missing(session, orm.WarningRule.__table__, rows)  # type: ignore[arg-type]


async def open_warnings(session: AsyncSession) -> list[orm.Warning]:
    """The warnings raised and not cleared."""
    stmt = select(orm.Warning).where(orm.Warning.cleared_at.is_(None)).order_by(orm.Warning.id)
    return list(await session.scalars(stmt))


async def list_warnings(
    connection: AsyncConnection, *, include_cleared: bool, scopes: Sequence[str] | None
) -> Sequence[Mapping[str, Any]]:
    """Warnings, newest first; only open ones unless ``include_cleared``: the table's columns
    by name (asyncpg's records on the read connection: the list route renders them straight
    to JSON)."""
    statement = _warnings_statement(include_cleared=include_cleared, scoped=scopes is not None)
    parameters = {} if scopes is None else {"scopes": list(scopes)}
    return await fetch_mappings(connection, statement, parameters)


@functools.cache
def _warnings_statement(*, include_cleared: bool, scoped: bool) -> Select[Any]:
    """``list_warnings``' statement, one per shape, the scopes a parameter: built once, not per
    request (building it cost about as much CPU as running it, issue 13)."""
    stmt = select(orm.Warning)
    if not include_cleared:
        stmt = stmt.where(orm.Warning.cleared_at.is_(None))
    if scoped:
        stmt = stmt.where(orm.Warning.scope_code.in_(bindparam("scopes", expanding=True)))
    return stmt.order_by(orm.Warning.raised_at.desc(), orm.Warning.id)


# --- summaries ------------------------------------------------------------------------------


async def summary_for(session: AsyncSession, city_code: str, year: int) -> orm.Summary | None:
    """A city's summary of one year."""
    stmt = select(orm.Summary).where(orm.Summary.city_code == city_code, orm.Summary.year == year)
    return await session.scalar(stmt)


async def upsert_summary(session: AsyncSession, values: Mapping[str, Any]) -> bool:
    """Insert or replace another node's summary unless one as new is held; ``True`` if written."""
    table: Table = orm.Summary.__table__  # type: ignore[assignment]
    stmt = _insert(session, table).values(**values)
    # Only a newer snapshot wins: redeliveries, replays and late old events change nothing.
    upsert = stmt.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={name: stmt.excluded[name] for name in values if name != "id"},
        where=table.c.version < stmt.excluded.version,
    )
    result = await session.execute(upsert)
    return bool(getattr(result, "rowcount", 0))


async def summaries_of(session: AsyncSession, year: int) -> list[orm.Summary]:
    """Every city's summary of one year."""
    stmt = select(orm.Summary).where(orm.Summary.year == year).order_by(orm.Summary.city_code)
    return list(await session.scalars(stmt))


# --- shortage levels and catalogues ---------------------------------------------------------


async def shortage_levels(session: AsyncSession) -> list[orm.ShortageLevel]:
    """Every shortage level, highest threshold first."""
    stmt = select(orm.ShortageLevel).order_by(orm.ShortageLevel.min_ratio.desc())
    return list(await session.scalars(stmt))


async def shortage_level(session: AsyncSession, code: str) -> orm.ShortageLevel | None:
    """One shortage level."""
    return await session.scalar(select(orm.ShortageLevel).where(orm.ShortageLevel.code == code))


async def insert_missing_levels(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the shortage levels not there yet (seeding); how many were inserted."""
    return await _insert_missing(session, orm.ShortageLevel.__table__, rows)  # type: ignore[arg-type]


async def latest_catalogue(session: AsyncSession, year: int) -> orm.Catalogue | None:
    """The latest published edition of a year's catalogue."""
    stmt = (
        select(orm.Catalogue)
        .where(orm.Catalogue.year == year)
        .order_by(orm.Catalogue.edition.desc())
        .limit(1)
    )
    return await session.scalar(stmt)
