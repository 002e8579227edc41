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
BATCH = 5000  # suppliers read, and rows written, per statement

SUPPLIERS = sa.table(
    "suppliers",
    sa.column("id", sa.String()),
    sa.column("city_code", sa.String()),
    sa.column("listing_status", sa.String()),
    sa.column("service_lines", Json),
    sa.column("industries", Json),
)


def _suppliers(listed_only: bool) -> Iterator[Sequence[sa.Row[Any]]]:
    """The replica's suppliers, in batches (by id, so no batch is read twice)."""
    connection = op.get_bind()
    after = ""
    while True:
        stmt = sa.select(SUPPLIERS).where(SUPPLIERS.c.id > after)
        if listed_only:
            stmt = stmt.where(SUPPLIERS.c.listing_status == "listed")
        batch = connection.execute(stmt.order_by(SUPPLIERS.c.id).limit(BATCH)).all()
        if not batch:
            return
        yield batch
        after = batch[-1].id


def _write(table: sa.Table, rows: list[dict[str, str]]) -> None:
    for start in range(0, len(rows), BATCH):
        op.bulk_insert(table, rows[start : start + BATCH])


def upgrade() -> None:
    """Create ``supplier_eligibility``, fill it from ``suppliers``, drop ``supplier_facets``."""
    index = op.create_table(
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
    assert index is not None
    for batch in _suppliers(listed_only=True):
        rows = [
            {
                "service_line": line,
                "industry": industry,
                "city_code": s.city_code,
                "supplier_id": s.id,
            }
            for s in batch
            for line in sorted(set(s.service_lines))
            for industry in [ANY_INDUSTRY, *sorted(set(s.industries))]
        ]
        _write(index, rows)
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
    for batch in _suppliers(listed_only=False):
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
