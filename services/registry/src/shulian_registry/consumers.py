"""What the registry consumes: other nodes' supplier snapshots, for its replica of them."""

from __future__ import annotations

from shulian_common.catalogue import catalogue
from shulian_common.consumer import Subscription
from shulian_registry import contracts
from shulian_registry.handlers.replica import replicate_supplier

SUPPLIER_SNAPSHOTS = (
    contracts.SupplierRegistered,
    contracts.SupplierUpdated,
    contracts.SupplierListingChanged,
)


def subscriptions(node_id: str) -> list[Subscription]:
    """The registry's subscriptions on the node ``node_id``."""
    handler = replicate_supplier(node_id)
    return [
        Subscription(
            topic=contracts.SUPPLIERS_TOPIC,
            handlers={catalogue.spec_for(event).type: handler for event in SUPPLIER_SNAPSHOTS},
        )
    ]
