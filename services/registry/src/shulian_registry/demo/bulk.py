"""The bulk path: load many generated suppliers at once, for benchmarks (no events, no history).

Rows go straight to the tables with multi-row INSERTs; the search terms are computed by the same
function the handlers use, so a bulk-loaded directory searches exactly like a live one. Listing
status is the end of each supplier's generated path; the step history is not written. A share
of the suppliers can be loaded as replicated from their city's node (``remote_suppliers``, no
contact), as a node's directory holds them once the other nodes' streams are applied.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.reference import region_of
from shulian_registry import domain, orm, repository
from shulian_registry.demo.suppliers import SupplierSeed, seed_time
from shulian_registry.domain import ListingStatus
from shulian_registry.terms import SupplierFacts, supplier_terms

BATCH = 20_000


def final_status(seed: SupplierSeed) -> ListingStatus:
    """Where a supplier's generated listing path ends."""
    status = ListingStatus.NOT_APPLIED
    for action in seed.listing_path:
        status = domain.next_status(status, action, "bulk")
    return status


def supplier_row(seed: SupplierSeed, *, node_id: str, rng: random.Random) -> dict[str, Any]:
    """The ``suppliers`` row of a generated supplier (ids time-ordered, deterministic)."""
    at = seed_time(seed.index)
    return {
        "id": f"{int(at.timestamp() * 1000):012x}{rng.getrandbits(80):020x}",
        "owner_node": node_id,
        "version": 1,
        "created_at": at,
        "updated_at": at,
        "name": seed.name,
        "uscc": seed.uscc,
        "uscc_region_code": seed.uscc[2:8],
        "county_code": seed.county_code,
        "city_code": seed.city_code,
        "region": str(region_of(seed.county_code)),
        "service_lines": list(seed.service_lines),
        "industries": list(seed.industries),
        "high_end": domain.is_high_end(seed.service_lines),
        "listing_status": final_status(seed),
        "listing_industries": list(seed.listing_industries),
        "listing_fields": list(seed.listing_fields),
        "figures": list(seed.figures),
        "contact_name": seed.contact["name"],
        "contact_phone": seed.contact["phone"],
        "contact_email": seed.contact["email"],
        "description": None,
    }


def term_rows(row: dict[str, Any]) -> list[dict[str, str]]:
    """The ``supplier_terms`` rows of a supplier row."""
    facts = SupplierFacts(
        name=row["name"],
        uscc=row["uscc"],
        county_code=row["county_code"],
        city_code=row["city_code"],
        region=row["region"],
        industries=tuple(row["industries"]),
        service_lines=tuple(row["service_lines"]),
        listing_status=row["listing_status"],
        high_end=row["high_end"],
        owner_node=row["owner_node"],
    )
    return [{"term": term, "supplier_id": row["id"]} for term in sorted(supplier_terms(facts))]


_LOCAL_ONLY = ("contact_name", "contact_phone", "contact_email", "description")


def _never(_seed: SupplierSeed) -> bool:
    return False


async def bulk_load(
    session: AsyncSession,
    seeds: Iterable[SupplierSeed],
    *,
    node_id: str,
    seed: int = 0,
    replicated: Callable[[SupplierSeed], bool] = _never,
) -> int:
    """Insert generated suppliers and their search terms in batches; returns how many. Those
    ``replicated`` picks go to the replica, owned by their city's node."""
    rng = random.Random(seed)
    local: list[dict[str, Any]] = []
    remote: list[dict[str, Any]] = []
    count = 0
    for supplier in seeds:
        if replicated(supplier):
            row = supplier_row(supplier, node_id=supplier.city_code, rng=rng)
            remote.append({k: v for k, v in row.items() if k not in _LOCAL_ONLY})
        else:
            local.append(supplier_row(supplier, node_id=node_id, rng=rng))
        if len(local) + len(remote) == BATCH:
            count += await _flush(session, local, remote)
            local, remote = [], []
    return count + await _flush(session, local, remote)


async def _flush(
    session: AsyncSession, local: list[dict[str, Any]], remote: list[dict[str, Any]]
) -> int:
    await repository.bulk_insert(session, orm.Supplier, local)
    await repository.bulk_insert(session, orm.RemoteSupplier, remote)
    # In index order, so the primary key grows by appends rather than random page splits.
    terms = sorted(
        (term for row in (*local, *remote) for term in term_rows(row)),
        key=lambda t: (t["term"], t["supplier_id"]),
    )
    await repository.bulk_insert(session, orm.SupplierTerm, terms)
    return len(local) + len(remote)
