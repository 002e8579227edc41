"""What the registry consumes: other nodes' supplier snapshots, for its replica of them.

The registry reads its own stream as any other service would: through a reader model of its own
with only what the replica keeps, checked against ``services/registry/asyncapi.json`` by the
contract test, never through the producer's models in ``contracts.py``.
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


class SupplierReader(ReaderModel):
    """What the replica reads of a supplier snapshot (registered, updated or listing changed)."""

    id: str
    owner_node: str  # the consumer runner's trust check reads it too
    version: int
    updated_at: datetime
    name: str
    county_code: str
    city_code: str
    # A string, not the producer's enum: a status added later must not dead-letter snapshots.
    listing_status: str


def subscriptions(node_id: str) -> list[Subscription]:
    """The registry's subscriptions on the node ``node_id``."""
    reads = Reads(model=SupplierReader, handle=replicate_supplier(node_id))
    return [
        Subscription(
            topic=SUPPLIERS_TOPIC,
            handlers=dict.fromkeys(SUPPLIER_SNAPSHOT_TYPES, reads),
        )
    ]
