"""The registry's rules every command shares: placing a record and authorising writes to a place.

Loading, version checks, idempotent creation and the rest of the generic command plumbing are the
kit's (``shulian_common.records``, ``shulian_common.idempotency``).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.auth import Principal
from shulian_common.records import Record, load
from shulian_registry import domain, orm, repository


def place(row: Record, division_code: str) -> None:
    """Derive the city from the division the record belongs to."""
    row.city_code = domain.city_code_of(division_code)  # type: ignore[attr-defined]


def authorise_place(principal: Principal, node_id: str, division_code: str) -> None:
    """Writes to a division: an operator in scope, on the node that owns it."""
    domain.ensure_operator_writes(principal, division_code)
    domain.ensure_node_owns(node_id, division_code)


async def load_own_supplier(session: AsyncSession, node_id: str, supplier_id: str) -> orm.Supplier:
    """A supplier this node owns, for a write: a replicated one is refused naming its owner
    node (``not_owner_node``), an unknown one is a 404."""
    if await session.get(orm.Supplier, supplier_id) is None:
        owner = await repository.remote_owner(session, supplier_id)
        if owner is not None:
            raise domain.NotOwnerNode(
                f"供应商 {supplier_id} 由节点 {owner} 管理，本节点 {node_id} 只读，请向该节点提交",
                extra={"owner_node": owner, "supplier_id": supplier_id},
            )
    return await load(session, orm.Supplier, supplier_id, "供应商")
