"""The kit's tables every service database holds (outbox, inbox, idempotency keys), and the
migration helpers for them.

Each service's first Alembic revision calls ``create_kit_tables(op)`` (and its downgrade
``drop_kit_tables(op)``), so the tables come from migrations like every other table. The
``Table`` objects below are built from the same column factories, so code and schema cannot drift
(a test compares them on SQLite and PostgreSQL). ``create_messaging_tables`` is the older half of
it (outbox and inbox) that registry's first revision calls beside its own idempotency table.

Outbox rows carry the relay's bookkeeping too: ``position`` (the commit-ordered cursor the relay
assigns as it publishes, never reused) and ``parked_at``/``park_error`` (a row the bus refused for
good). Databases created before those columns existed get them from ``add_outbox_relay_columns``.
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
    Text,
    UniqueConstraint,
    func,
    inspect,
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
POSITION_INDEX = "uq_outbox_position"
PARKED_INDEX = "ix_outbox_parked"
# Partial index: the relay only ever scans rows not yet published, in seq order.
_UNSENT = "published_at IS NULL"
# Partial index: the relay holds back a key's rows behind a parked one; parked rows are few.
_PARKED = "parked_at IS NOT NULL"


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
        *_relay_columns(),
        PrimaryKeyConstraint("seq", name="pk_outbox"),
        UniqueConstraint("event_id", name="uq_outbox_event_id"),
    ]


def _relay_columns() -> list[Column[Any]]:
    # A published row has a position, a parked row has parked_at and park_error, never both.
    return [
        Column("position", BigInteger(), nullable=True),
        Column("parked_at", DateTime(timezone=True), nullable=True),
        Column("park_error", Text(), nullable=True),
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
_PARKED_KW: dict[str, Any] = {"postgresql_where": text(_PARKED), "sqlite_where": text(_PARKED)}
_PARKED_COLUMNS = ["topic", "key", "seq"]

metadata = new_metadata()
outbox = Table(OUTBOX, metadata, *_outbox_items(), **_TABLE_KW)
inbox = Table(INBOX, metadata, *_inbox_items())
idempotency_keys = Table(IDEMPOTENCY_KEYS, metadata, *_idempotency_items())
Index(UNSENT_INDEX, outbox.c.seq, **_INDEX_KW)
Index(POSITION_INDEX, outbox.c.position, unique=True)
Index(PARKED_INDEX, *(outbox.c[name] for name in _PARKED_COLUMNS), **_PARKED_KW)


def create_messaging_tables(op: Any) -> None:
    """Create the outbox and inbox (call from a service's first Alembic revision)."""
    op.create_table(OUTBOX, *_outbox_items(), **_TABLE_KW)
    op.create_index(UNSENT_INDEX, OUTBOX, ["seq"], **_INDEX_KW)
    _create_relay_indexes(op)
    op.create_table(INBOX, *_inbox_items())


def drop_messaging_tables(op: Any) -> None:
    """Drop the outbox and inbox (the downgrade of ``create_messaging_tables``)."""
    op.drop_table(INBOX)
    op.drop_index(UNSENT_INDEX, table_name=OUTBOX)
    # The relay's indexes go with the table (a later revision may have dropped them already).
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


def _create_relay_indexes(op: Any) -> None:
    op.create_index(POSITION_INDEX, OUTBOX, ["position"], unique=True)
    op.create_index(PARKED_INDEX, OUTBOX, _PARKED_COLUMNS, **_PARKED_KW)


def add_outbox_relay_columns(op: Any) -> None:
    """Add ``position``, ``parked_at`` and ``park_error`` to an outbox created without them.

    A no-op on an outbox that has them (one created by today's ``create_messaging_tables``), so a
    service's later revision can call it whatever its first revision created. Rows published
    before get ``position = seq``: unique, in publish order, and below every position to come.
    """
    existing = {c["name"] for c in inspect(op.get_bind()).get_columns(OUTBOX)}
    missing = [c for c in _relay_columns() if c.name not in existing]
    if not missing:
        return
    for column in missing:
        op.add_column(OUTBOX, column)
    if "position" not in existing:
        op.execute("UPDATE outbox SET position = seq WHERE published_at IS NOT NULL")
        _create_relay_indexes(op)


def drop_outbox_relay_columns(op: Any) -> None:
    """Remove what ``add_outbox_relay_columns`` adds (its downgrade)."""
    op.drop_index(PARKED_INDEX, table_name=OUTBOX)
    op.drop_index(POSITION_INDEX, table_name=OUTBOX)
    for column in reversed(_relay_columns()):
        op.drop_column(OUTBOX, column.name)


# --- partner webhooks ---------------------------------------------------------------------------
# Opt-in kit tables: a service's revision calls ``create_partner_tables(op)`` to serve webhooks.
# They live in their own metadata, so services without them see no drift; ``partner_tables_drift``
# checks a database that has them.

PARTNER_SUBSCRIPTIONS = "partner_subscriptions"
PARTNER_DELIVERIES = "partner_deliveries"
PARTNER_ATTEMPTS = "partner_delivery_attempts"
PARTNER_TABLES = frozenset({PARTNER_SUBSCRIPTIONS, PARTNER_DELIVERIES, PARTNER_ATTEMPTS})
DUE_INDEX = "ix_partner_deliveries_due"
SUBSCRIPTION_DELIVERIES_INDEX = "ix_partner_deliveries_subscription"
ATTEMPTS_INDEX = "ix_partner_delivery_attempts_delivery"


def _json() -> Any:
    return JSON().with_variant(JSONB(), "postgresql")


def _subscription_items() -> list[SchemaItem]:
    return [
        Column("id", String(36), nullable=False),
        # The partner's token subject: a partner sees and changes only its own subscriptions.
        Column("partner", String(200), nullable=False),
        Column("url", String(2000), nullable=False),
        Column("types", _json(), nullable=True),  # null: every type
        Column("cities", _json(), nullable=True),  # null: every division
        Column("industries", _json(), nullable=True),  # null: every industry
        Column("payload", String(8), nullable=False),  # "full" or "thin"
        Column("status", String(16), nullable=False),  # "active" or "disabled"
        Column("disabled_reason", String(200), nullable=True),
        Column("secret", String(100), nullable=False),
        # During a rotation the old secret signs too, until it expires.
        Column("previous_secret", String(100), nullable=True),
        Column("previous_secret_expires_at", DateTime(timezone=True), nullable=True),
        # The outbox position up to which events were matched against this subscription.
        Column("position", BigInteger(), nullable=False),
        Column("version", Integer(), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("id", name="pk_partner_subscriptions"),
    ]


def _delivery_items() -> list[SchemaItem]:
    return [
        Column("id", String(64), nullable=False),  # the webhook-id, the same on every attempt
        Column("subscription_id", String(36), nullable=False),
        Column("position", BigInteger(), nullable=False),
        Column("event_id", String(255), nullable=False),
        Column("event_type", String(255), nullable=False),
        Column("payload", _json(), nullable=False),  # the body as first signed, kept for retries
        Column("status", String(16), nullable=False),  # pending, delivered, failed
        Column("attempts", Integer(), nullable=False),
        # When the next attempt is due (pending), or when a dispatcher's claim on it lapses.
        Column("next_attempt_at", DateTime(timezone=True), nullable=True),
        Column("last_status_code", Integer(), nullable=True),
        Column("last_error", String(200), nullable=True),
        Column("last_latency_ms", Integer(), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("delivered_at", DateTime(timezone=True), nullable=True),
        PrimaryKeyConstraint("id", name="pk_partner_deliveries"),
        UniqueConstraint("subscription_id", "event_id", name="uq_partner_deliveries_event"),
    ]


def _attempt_items() -> list[SchemaItem]:
    return [
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), autoincrement=True),
        Column("delivery_id", String(64), nullable=False),
        Column("subscription_id", String(36), nullable=False),
        Column("attempted_at", DateTime(timezone=True), nullable=False),
        Column("status_code", Integer(), nullable=True),  # null: no answer (timeout, refused)
        Column("latency_ms", Integer(), nullable=False),
        Column("error", String(200), nullable=True),
        PrimaryKeyConstraint("id", name="pk_partner_delivery_attempts"),
    ]


_DUE_COLUMNS = ["status", "next_attempt_at"]
_SUBSCRIPTION_COLUMNS = ["subscription_id", "position"]

partner_metadata = new_metadata()
partner_subscriptions = Table(PARTNER_SUBSCRIPTIONS, partner_metadata, *_subscription_items())
partner_deliveries = Table(PARTNER_DELIVERIES, partner_metadata, *_delivery_items())
partner_attempts = Table(
    PARTNER_ATTEMPTS, partner_metadata, *_attempt_items(), sqlite_autoincrement=True
)
Index(DUE_INDEX, *(partner_deliveries.c[n] for n in _DUE_COLUMNS))
Index(SUBSCRIPTION_DELIVERIES_INDEX, *(partner_deliveries.c[n] for n in _SUBSCRIPTION_COLUMNS))
Index(ATTEMPTS_INDEX, partner_attempts.c.delivery_id)


def create_partner_tables(op: Any) -> None:
    """Create the webhook subscription, delivery and attempt tables (a service's revision)."""
    op.create_table(PARTNER_SUBSCRIPTIONS, *_subscription_items())
    op.create_table(PARTNER_DELIVERIES, *_delivery_items())
    op.create_index(DUE_INDEX, PARTNER_DELIVERIES, _DUE_COLUMNS)
    op.create_index(SUBSCRIPTION_DELIVERIES_INDEX, PARTNER_DELIVERIES, _SUBSCRIPTION_COLUMNS)
    op.create_table(PARTNER_ATTEMPTS, *_attempt_items(), sqlite_autoincrement=True)
    op.create_index(ATTEMPTS_INDEX, PARTNER_ATTEMPTS, ["delivery_id"])


def drop_partner_tables(op: Any) -> None:
    """Drop what ``create_partner_tables`` creates (its downgrade)."""
    op.drop_table(PARTNER_ATTEMPTS)
    op.drop_table(PARTNER_DELIVERIES)
    op.drop_table(PARTNER_SUBSCRIPTIONS)


def partner_tables_drift(connection: Connection) -> list[Any]:
    """How the partner tables in a database differ from their declaration (empty: they match)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def only_partner(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or name in PARTNER_TABLES

    options = {"compare_type": True, "include_name": only_partner}
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, partner_metadata))


def has_partner_tables(connection: Connection) -> bool:
    """Whether a service's migrations created the partner tables (webhooks are served then)."""
    return bool(inspect(connection).has_table(PARTNER_SUBSCRIPTIONS))
