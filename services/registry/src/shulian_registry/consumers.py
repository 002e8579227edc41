"""What the registry consumes: other nodes' supplier snapshots, for its replica of them.

The registry reads its own stream as any other service would: through a reader model of its own
with what the replica keeps (the whole directory entry, since every node serves the province's
directory), checked against ``services/registry/asyncapi.json`` by the contract test, never
through the producer's models in ``contracts.py``.
"""

from __future__ import annotations

from datetime import datetime

from shulian_common.consumer import Subscription
from shulian_common.readers import ReaderModel, Reads
from shulian_registry.handlers.replica import replicate_supplier

SUPPLIERS_TOPIC = "shulian.registry.suppliers.v1"
SUPPLIER_SNAPSHOT_TYPES = tuple(
    f"cn.sichuan.shulian.registry.supplier.{verb}.v1"
    for verb in ("registered", "updated", "listing_changed")
)


class FigureReader(ReaderModel):
    """One year's business of one service line, as a snapshot carries it."""

    year: int
    service_line: str
    revenue_yuan: int
    trade_volume_yuan: int


class SupplierReader(ReaderModel):
    """What the replica reads of a supplier snapshot (registered, updated or listing changed)."""

    id: str
    owner_node: str  # the consumer runner's trust check reads it too
    version: int
    created_at: datetime
    updated_at: datetime
    name: str
    uscc: str
    uscc_region_code: str
    county_code: str
    city_code: str
    region: str
    service_lines: list[str]
    industries: list[str]
    high_end: bool
    # A string, not the producer's enum: a status added later must not dead-letter snapshots.
    listing_status: str
    listing_industries: list[str]
    listing_fields: list[str]
    figures: list[FigureReader]


def subscriptions(node_id: str) -> list[Subscription]:
    """The registry's subscriptions on the node ``node_id``."""
    reads = Reads(model=SupplierReader, handle=replicate_supplier(node_id))
    return [
        Subscription(
            topic=SUPPLIERS_TOPIC,
            handlers=dict.fromkeys(SUPPLIER_SNAPSHOT_TYPES, reads),
        )
    ]
