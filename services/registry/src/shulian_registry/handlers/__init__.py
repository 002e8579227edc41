"""One function per command; the only place a transaction commits.

Each write runs in one unit of work: the state change, the search terms, the idempotency record
and the event snapshot (into the outbox) commit together or not at all.
"""

from shulian_registry.handlers.listing import ListingChange, change_listing
from shulian_registry.handlers.network import (
    ENTERPRISES,
    MARKETS,
    PAIRINGS,
    PARKS,
    PLATFORMS,
    SCENARIOS,
    STATIONS,
    RecordKind,
    create_record,
    update_record,
)
from shulian_registry.handlers.suppliers import register_supplier, update_supplier

__all__ = [
    "ENTERPRISES",
    "MARKETS",
    "PAIRINGS",
    "PARKS",
    "PLATFORMS",
    "SCENARIOS",
    "STATIONS",
    "ListingChange",
    "RecordKind",
    "change_listing",
    "create_record",
    "register_supplier",
    "update_record",
    "update_supplier",
]
