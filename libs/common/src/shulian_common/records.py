"""The persistence kit: what every aggregate's row carries, two portable column types, and the
helpers every command uses to load a record, check the version a change is based on and write it.

Repositories flush, never commit: the unit of work of the calling handler does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    Integer,
    PrimaryKeyConstraint,
    String,
    TypeDecorator,
    exists,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.schema import SchemaItem
from sqlalchemy.sql.elements import ColumnElement

from shulian_common.errors import NotFoundError, PreconditionFailedError
from shulian_common.uow import UnitOfWork

ID_LENGTH = 32
# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both backends (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """None on PostgreSQL, whose ``timestamptz`` always comes back with its offset: a
        function call per value saved, and rows of these columns need no conversion at all
        (``db.ReadConnection.mappings`` then hands the driver's records on as they are)."""
        if dialect.name == "postgresql" and isinstance(self.impl_instance, DateTime):
            return self.impl_instance.result_processor(dialect, coltype)
        return super().result_processor(dialect, coltype)


class Record:
    """Columns of every aggregate; ``version`` is the optimistic-concurrency counter (ETag).

    Mix it into a service's declarative classes: ``class Supplier(Record, Base)``.
    """

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    owner_node: Mapped[str] = mapped_column(String(6))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    if TYPE_CHECKING:
        # The declarative constructor of the mapped subclasses, as seen through the mixin.
        def __init__(self, **kwargs: Any) -> None: ...

    # SQLAlchemy bumps ``version`` on every UPDATE and adds ``WHERE version = <loaded>``, so a
    # concurrent writer between our read and our write makes the flush fail instead of winning.
    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


def record_columns(table: str) -> list[SchemaItem]:
    """The columns ``Record`` maps, and the primary key, for a migration's ``create_table``."""
    return [
        Column("id", String(ID_LENGTH), nullable=False),
        Column("owner_node", String(6), nullable=False),
        Column("version", Integer(), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


R = TypeVar("R", bound=Record)
Versions = frozenset[int] | None  # the versions an If-Match accepts; None for "*"


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


# --- queries ----------------------------------------------------------------------------------


async def get(session: AsyncSession, model: type[R], record_id: str) -> R | None:
    """One record by id."""
    return await session.get(model, record_id)


async def exists_with_id(session: AsyncSession, model: type[Record], record_id: str) -> bool:
    """Whether a record with this id exists."""
    found = await session.scalar(select(exists().where(model.id == record_id)))
    return bool(found)


async def page_after(
    session: AsyncSession,
    model: type[R],
    *,
    after: str | None,
    limit: int,
    where: Iterable[ColumnElement[bool]] = (),
) -> list[R]:
    """Records matching ``where`` in id order, after ``after``: one cursor page's query."""
    stmt = select(model).where(*where)
    if after is not None:
        stmt = stmt.where(model.id > after)
    return list(await session.scalars(stmt.order_by(model.id).limit(limit)))


async def add(session: AsyncSession, row: object) -> None:
    """Stage a new row and flush it (so defaults and the version are set)."""
    session.add(row)
    await session.flush()


# --- command helpers --------------------------------------------------------------------------


async def load(session: AsyncSession, model: type[R], record_id: str, label: str) -> R:
    """The record, or a 404 problem naming it (``label`` is its Chinese kind)."""
    row = await get(session, model, record_id)
    if row is None:
        raise NotFoundError(f"{label} {record_id} 不存在", extra={"id": record_id})
    return row


def check_version(row: Record, expected: Versions) -> None:
    """Refuse (412) a change based on a version that is no longer current."""
    if expected is not None and row.version not in expected:
        raise PreconditionFailedError(
            f"记录已被修改：当前版本为 {row.version}，请求基于的版本已过期",
            extra={"current_version": row.version},
            headers={"ETag": f'"{row.version}"'},
        )


async def flush_update(session: AsyncSession, row: Record) -> None:
    """Write the change; a writer that committed since we read the row makes this fail (412)."""
    row.updated_at = utc_now()
    try:
        await session.flush()
    except StaleDataError:
        raise PreconditionFailedError("记录已被同时修改，请重新读取后再试") from None


def unchanged(uow: UnitOfWork, row: R) -> R:
    """A change that changes nothing: no new version, no event; the row stays readable after the
    unit of work rolls back (a rollback would expire it)."""
    uow.session.expunge(row)
    return row


def changed_fields(row: object, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes whose value differs from the row's."""
    return {name: value for name, value in changes.items() if getattr(row, name) != value}
