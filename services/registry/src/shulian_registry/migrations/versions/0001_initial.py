"""The registry's tables, the search index and the outbox/inbox.

Revision ID: 0001
Revises:
Create Date: 2025-01-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shulian_common.messaging import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 32
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
SHARING_STATION = "kind = 'sharing_station'"


def _ts(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _record(table: str) -> list[Any]:
    """Columns every aggregate carries, and its primary key."""
    return [
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("owner_node", sa.String(6), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _text(name: str, length: int | None = None, *, nullable: bool = True) -> sa.Column[Any]:
    kind: Any = sa.String(length) if length else sa.Text()
    return sa.Column(name, kind, nullable=nullable)


def _json(name: str) -> sa.Column[Any]:
    return sa.Column(name, JSON, nullable=False)


def _ref(name: str, table: str, target: str, *, nullable: bool = True) -> list[Any]:
    return [
        sa.Column(name, sa.String(ID), nullable=nullable),
        sa.ForeignKeyConstraint([name], [f"{target}.id"], name=f"fk_{table}_{name}_{target}"),
    ]


def _place(field: str = "county_code", *, city_nullable: bool = False) -> list[Any]:
    return [
        _text(field, 6, nullable=False),
        _text("city_code", 6, nullable=city_nullable),
    ]


def _city_index(table: str) -> None:
    op.create_index(f"ix_{table}_city_code", table, ["city_code"])


def _suppliers() -> None:
    op.create_table(
        "suppliers",
        *_record("suppliers"),
        _text("name", 200, nullable=False),
        _text("uscc", 18, nullable=False),
        _text("uscc_region_code", 6, nullable=False),
        *_place(),
        _text("region", 20, nullable=False),
        _json("service_lines"),
        _json("industries"),
        sa.Column("high_end", sa.Boolean(), nullable=False),
        _text("listing_status", 20, nullable=False),
        _json("listing_industries"),
        _json("listing_fields"),
        _json("figures"),
        _text("contact_name", 100),
        _text("contact_phone", 40),
        _text("contact_email", 200),
        _text("description"),
        sa.UniqueConstraint("uscc", name="uq_suppliers_uscc"),
    )


def _supplier_terms() -> None:
    op.create_table(
        "supplier_terms",
        _text("term", 64, nullable=False),
        _text("supplier_id", ID, nullable=False),
        # Derived from suppliers by the handlers: no foreign key (see orm.SupplierTerm).
        sa.PrimaryKeyConstraint("term", "supplier_id", name="pk_supplier_terms"),
    )


def _listing_steps() -> None:
    op.create_table(
        "listing_steps",
        _text("supplier_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        _text("action", 20, nullable=False),
        _text("from_status", 20, nullable=False),
        _text("to_status", 20, nullable=False),
        _text("reason"),
        _json("industries"),
        _json("fields"),
        _text("decided_by", 200, nullable=False),
        _text("decided_by_role", 32, nullable=False),
        _text("decided_by_node", 6, nullable=False),
        _ts("decided_at"),
        sa.PrimaryKeyConstraint("supplier_id", "seq", name="pk_listing_steps"),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name="fk_listing_steps_supplier_id_suppliers",
            ondelete="CASCADE",
        ),
    )


def _parks_and_markets() -> None:
    op.create_table(
        "parks",
        *_record("parks"),
        _text("name", 200, nullable=False),
        _text("level", 20, nullable=False),
        *_place(),
        _json("industries"),
        _json("linked_platforms"),
        _json("key_service_objects"),
        _text("description"),
    )
    _city_index("parks")
    op.create_table(
        "markets",
        *_record("markets"),
        _text("name", 200, nullable=False),
        _text("kind", 30, nullable=False),
        _text("level", 20, nullable=False),
        *_place(),
        _json("industries"),
        _json("linked_platforms"),
        _text("description"),
    )
    _city_index("markets")


def _stations() -> None:
    op.create_table(
        "stations",
        *_record("stations"),
        _text("name", 200, nullable=False),
        _text("kind", 30, nullable=False),
        _text("host_platform", 200, nullable=False),
        *_place(),
        *_ref("supplier_id", "stations", "suppliers"),
        _json("industries"),
        sa.Column("opened_on", sa.Date(), nullable=True),
        _text("description"),
    )
    _city_index("stations")
    # 一县一站: at most one sharing station per county, whatever the application does.
    op.create_index(
        "uq_stations_sharing_county",
        "stations",
        ["county_code"],
        unique=True,
        sqlite_where=sa.text(SHARING_STATION),
        postgresql_where=sa.text(SHARING_STATION),
    )


def _enterprises_and_scenarios() -> None:
    op.create_table(
        "enterprises",
        *_record("enterprises"),
        _text("name", 200, nullable=False),
        _text("uscc", 18, nullable=False),
        *_place(),
        _json("industries"),
        _text("description"),
        sa.UniqueConstraint("uscc", name="uq_enterprises_uscc"),
    )
    _city_index("enterprises")
    op.create_table(
        "scenarios",
        *_record("scenarios"),
        _text("title", 200, nullable=False),
        *_ref("supplier_id", "scenarios", "suppliers", nullable=False),
        _text("host_kind", 30, nullable=False),
        _text("host_name", 200, nullable=False),
        *_ref("enterprise_id", "scenarios", "enterprises"),
        _text("mode", 30, nullable=False),
        *_place(),
        _json("industries"),
        _json("service_lines"),
        sa.Column("started_on", sa.Date(), nullable=True),
        _text("description"),
    )
    _city_index("scenarios")


def _pairings_and_platforms() -> None:
    op.create_table(
        "pairings",
        *_record("pairings"),
        _text("kind", 30, nullable=False),
        *_ref("supplier_id", "pairings", "suppliers"),
        *_place("division_code", city_nullable=True),
        _json("area_kinds"),
        _text("hr_association", 200),
        _text("industry_association", 200),
        _json("industries"),
        sa.Column("started_on", sa.Date(), nullable=True),
        _text("description"),
    )
    _city_index("pairings")
    op.create_table(
        "platforms",
        *_record("platforms"),
        _text("name", 200, nullable=False),
        _text("kind", 30, nullable=False),
        _text("operator_kind", 20, nullable=False),
        *_ref("supplier_id", "platforms", "suppliers"),
        *_place("division_code", city_nullable=True),
        _text("url", 500),
        sa.Column("launched_on", sa.Date(), nullable=True),
        _text("description"),
    )
    _city_index("platforms")


def _idempotency_keys() -> None:
    op.create_table(
        "idempotency_keys",
        _text("principal_sub", 200, nullable=False),
        _text("key", 200, nullable=False),
        _text("fingerprint", 64, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        _json("body"),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("principal_sub", "key", name="pk_idempotency_keys"),
    )


def upgrade() -> None:
    _suppliers()
    _supplier_terms()
    _listing_steps()
    _parks_and_markets()
    _stations()
    _enterprises_and_scenarios()
    _pairings_and_platforms()
    _idempotency_keys()
    create_messaging_tables(op)


def downgrade() -> None:
    drop_messaging_tables(op)
    for table in (
        "idempotency_keys",
        "platforms",
        "pairings",
        "scenarios",
        "enterprises",
        "stations",
        "markets",
        "parks",
        "listing_steps",
        "supplier_terms",
        "suppliers",
    ):
        op.drop_table(table)
