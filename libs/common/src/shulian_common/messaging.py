"""The kit's tables every service database holds (outbox, inbox, idempotency keys), and the
migration helpers for them.

Each service's first Alembic revision calls ``create_kit_tables(op)`` (and its downgrade
``drop_kit_tables(op)``), so the tables come from migrations like every other table. The
``Table`` objects below are built from the same column factories, so code and schema cannot drift
(a test compares them on SQLite and PostgreSQL). ``create_messaging_tables`` is the older half of
it (outbox and inbox) that registry's first revision calls beside its own idempotency table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.schema import SchemaItem

from shulian_common.db import new_metadata

OUTBOX = "outbox"
INBOX = "inbox"
IDEMPOTENCY_KEYS = "idempotency_keys"
UNSENT_INDEX = "ix_outbox_unsent"
# Partial index: the relay only ever scans rows not yet published, in seq order.
_UNSENT = "published_at IS NULL"


def _outbox_items() -> list[SchemaItem]:
    return [
        # INTEGER PRIMARY KEY AUTOINCREMENT on SQLite (never reused, so a feed cursor stays valid
        # after purges), BIGSERIAL on PostgreSQL.
        Column("seq", BigInteger().with_variant(Integer(), "sqlite"), autoincrement=True),
        Column("event_id", String(255), nullable=False),
        Column("topic", String(255), nullable=False),
        Column("key", String(255), nullable=False),
        Column("type", String(255), nullable=False),
        Column("source", String(255), nullable=False),
        Column("subject", String(255), nullable=True),
        Column("time", DateTime(timezone=True), nullable=False),
        Column("traceparent", String(64), nullable=True),
        Column("data", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        PrimaryKeyConstraint("seq", name="pk_outbox"),
        UniqueConstraint("event_id", name="uq_outbox_event_id"),
    ]


def _inbox_items() -> list[SchemaItem]:
    return [
        Column("consumer", String(255), nullable=False),
        Column("source", String(255), nullable=False),
        Column("event_id", String(255), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        # The key is the dedupe rule: one consumer applies one (source, id) at most once.
        PrimaryKeyConstraint("consumer", "source", "event_id", name="pk_inbox"),
    ]


def _idempotency_items() -> list[SchemaItem]:
    # The schema registry's 0001 revision created before the kit existed, column for column.
    return [
        Column("principal_sub", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        # sha256 of method, path and canonical body: the same key with another request is refused.
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer(), nullable=False),
        # What the first request created, by reference ({"id", "version"}), for the route to
        # render again on a replay (rows written before the kit hold a rendered body with "id").
        Column("body", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        # Keys are scoped to their caller: two principals may use the same key independently.
        PrimaryKeyConstraint("principal_sub", "key", name="pk_idempotency_keys"),
    ]


_TABLE_KW: dict[str, Any] = {"sqlite_autoincrement": True}
_INDEX_KW: dict[str, Any] = {"postgresql_where": text(_UNSENT), "sqlite_where": text(_UNSENT)}

metadata = new_metadata()
outbox = Table(OUTBOX, metadata, *_outbox_items(), **_TABLE_KW)
inbox = Table(INBOX, metadata, *_inbox_items())
idempotency_keys = Table(IDEMPOTENCY_KEYS, metadata, *_idempotency_items())
Index(UNSENT_INDEX, outbox.c.seq, **_INDEX_KW)


def create_messaging_tables(op: Any) -> None:
    """Create the outbox and inbox (call from a service's first Alembic revision)."""
    op.create_table(OUTBOX, *_outbox_items(), **_TABLE_KW)
    op.create_index(UNSENT_INDEX, OUTBOX, ["seq"], **_INDEX_KW)
    op.create_table(INBOX, *_inbox_items())


def drop_messaging_tables(op: Any) -> None:
    """Drop the outbox and inbox (the downgrade of ``create_messaging_tables``)."""
    op.drop_table(INBOX)
    op.drop_index(UNSENT_INDEX, table_name=OUTBOX)
    op.drop_table(OUTBOX)


def create_kit_tables(op: Any) -> None:
    """Create the outbox, inbox and idempotency keys (call from a service's first revision)."""
    create_messaging_tables(op)
    op.create_table(IDEMPOTENCY_KEYS, *_idempotency_items())


def drop_kit_tables(op: Any) -> None:
    """Drop the kit's tables (the downgrade of ``create_kit_tables``)."""
    op.drop_table(IDEMPOTENCY_KEYS)
    drop_messaging_tables(op)


def kit_tables_drift(connection: Connection) -> list[Any]:
    """How the kit's tables in a database differ from their declaration here (empty: they match).

    For schema tests: a service's migrations must create exactly these tables.
    """
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    kit = {OUTBOX, INBOX, IDEMPOTENCY_KEYS}

    def only_kit(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or name in kit

    options = {"compare_type": True, "include_name": only_kit}
    return list(compare_metadata(MigrationContext.configure(connection, opts=options), metadata))
