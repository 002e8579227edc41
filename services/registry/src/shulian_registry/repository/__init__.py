"""Every query of the registry, and only queries: repositories flush, never commit."""

from shulian_registry.repository.bulk import bulk_insert
from shulian_registry.repository.records import (
    add_conflict,
    add_terms,
    enterprise_by_uscc,
    holds_any_record,
    last_listing_seq,
    list_conflicts,
    list_records,
    listing_history,
    registrations_of_uscc,
    remote_owner,
    remote_supplier,
    remove_terms,
    sharing_station_in,
    supplier_by_uscc,
    supplier_known,
    upsert_remote_supplier,
)
from shulian_registry.repository.search import Search, directory_entry, search, search_suppliers

__all__ = [
    "Search",
    "add_conflict",
    "add_terms",
    "bulk_insert",
    "directory_entry",
    "enterprise_by_uscc",
    "holds_any_record",
    "last_listing_seq",
    "list_conflicts",
    "list_records",
    "listing_history",
    "registrations_of_uscc",
    "remote_owner",
    "remote_supplier",
    "remove_terms",
    "search",
    "search_suppliers",
    "sharing_station_in",
    "supplier_by_uscc",
    "supplier_known",
    "upsert_remote_supplier",
]
