"""The supplier replica's eligibility index replaces its facets: one row per *listed* supplier and
(service line, industry) it serves, plus one per line for any industry (``'*'``), carrying the
supplier's city, so ranking counts and pages eligible suppliers by index-only range scans instead
of joining the listed suppliers with a facet's rows.

The upgrade fills the index from the replica rows held (an upgraded node needs no replay); the
downgrade rebuilds the facets the same way.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from shulian_common.records import Json

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ANY_INDUSTRY = "*"
BATCH = 5000  # suppliers read, and facet rows written, per statement (downgrade)

SUPPLIERS = sa.table(
    "suppliers",
    sa.column("id", sa.String()),
    sa.column("city_code", sa.String()),
    sa.column("listing_status", sa.String()),
    sa.column("service_lines", Json),
    sa.column("industries", Json),
)


def _elements(connection: sa.Connection, array: str, alias: str) -> str:
    """A JSON array column's elements as a table ``alias`` with a ``value`` column, joined
    laterally to the row holding the array."""
    if connection.dialect.name == "postgresql":
        return f"jsonb_array_elements_text({array}) AS {alias}(value)"
    return f"json_each({array}) AS {alias}"


def _suppliers() -> Iterator[Sequence[sa.Row[Any]]]:
    """The replica's suppliers, in batches (by id, so no batch is read twice)."""
    connection = op.get_bind()
    after = ""
    while True:
        stmt = sa.select(SUPPLIERS).where(SUPPLIERS.c.id > after).order_by(SUPPLIERS.c.id)
        batch = connection.execute(stmt.limit(BATCH)).all()
        if not batch:
            return
        yield batch
        after = batch[-1].id


def _write(table: sa.Table, rows: list[dict[str, str]]) -> None:
    for start in range(0, len(rows), BATCH):
        op.bulk_insert(table, rows[start : start + BATCH])


def upgrade() -> None:
    """Create ``supplier_eligibility``, fill it from ``suppliers``, drop ``supplier_facets``."""
    op.create_table(
        "supplier_eligibility",
        sa.Column("service_line", sa.String(40), nullable=False),
        sa.Column("industry", sa.String(40), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("supplier_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint(
            "service_line",
            "industry",
            "city_code",
            "supplier_id",
            name="pk_supplier_eligibility",
        ),
    )
    # Set-based, in the database: 100,000 suppliers 8 s on SQLite, 17 s on PostgreSQL (as Python
    # batches, 33 and 38 s).
    connection = op.get_bind()
    lines = _elements(connection, "s.service_lines", "l")
    industries = _elements(connection, "s.industries", "i")
    into = "INSERT INTO supplier_eligibility (service_line, industry, city_code, supplier_id)"
    listed = " WHERE s.listing_status = 'listed'"
    # A listed supplier's row per line for any industry, then one per (line, industry).
    op.execute(
        f"{into} SELECT DISTINCT l.value, '{ANY_INDUSTRY}', s.city_code, s.id"
        f" FROM suppliers s, {lines}{listed}"
    )
    op.execute(
        f"{into} SELECT DISTINCT l.value, i.value, s.city_code, s.id"
        f" FROM suppliers s, {lines}, {industries}{listed}"
    )
    # After the fill: building an index once is cheaper than keeping it row by row.
    op.create_index(
        "ix_supplier_eligibility_line_industry_supplier",
        "supplier_eligibility",
        ["service_line", "industry", "supplier_id", "city_code"],
    )
    op.create_index("ix_supplier_eligibility_supplier", "supplier_eligibility", ["supplier_id"])
    op.drop_index("ix_supplier_facets_facet", table_name="supplier_facets")
    op.drop_table("supplier_facets")


def downgrade() -> None:
    """Back to ``supplier_facets`` (``line:…``, ``industry:…`` of every replicated supplier)."""
    facets = op.create_table(
        "supplier_facets",
        sa.Column("supplier_id", sa.String(32), nullable=False),
        sa.Column("facet", sa.String(50), nullable=False),
        sa.PrimaryKeyConstraint("supplier_id", "facet", name="pk_supplier_facets"),
    )
    assert facets is not None
    for batch in _suppliers():
        rows = [
            {"supplier_id": s.id, "facet": facet}
            for s in batch
            for facet in sorted(
                {f"line:{x}" for x in s.service_lines} | {f"industry:{x}" for x in s.industries}
            )
        ]
        _write(facets, rows)
    op.create_index("ix_supplier_facets_facet", "supplier_facets", ["facet", "supplier_id"])
    op.drop_table("supplier_eligibility")
