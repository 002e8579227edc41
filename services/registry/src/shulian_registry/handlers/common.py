"""The registry's rules every command shares: placing a record and authorising writes to a place.

Loading, version checks, idempotent creation and the rest of the generic command plumbing are the
kit's (``shulian_common.records``, ``shulian_common.idempotency``).
"""

from __future__ import annotations

from shulian_common.auth import Principal
from shulian_common.records import Record
from shulian_registry import domain


def place(row: Record, division_code: str) -> None:
    """Derive the city from the division the record belongs to."""
    row.city_code = domain.city_code_of(division_code)  # type: ignore[attr-defined]


def authorise_place(principal: Principal, node_id: str, division_code: str) -> None:
    """Writes to a division: an operator in scope, on the node that owns it."""
    domain.ensure_operator_writes(principal, division_code)
    domain.ensure_node_owns(node_id, division_code)
