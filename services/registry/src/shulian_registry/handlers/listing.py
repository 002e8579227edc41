"""The listing workflow: apply for the key directory, and the decisions on it."""

from __future__ import annotations

from dataclasses import dataclass

from shulian_common.auth import Principal
from shulian_common.idempotency import Created, Idempotency, create_once
from shulian_common.records import Versions, check_version, flush_update, utc_now
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_registry import contracts, domain, orm, repository
from shulian_registry.domain import ListingAction, ListingStatus
from shulian_registry.handlers.common import load_own_supplier
from shulian_registry.handlers.suppliers import facts, reindex, snapshot
from shulian_registry.terms import supplier_terms


@dataclass(frozen=True, slots=True)
class ListingChange:
    """A requested listing step."""

    action: ListingAction
    reason: str | None = None
    industries: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()


def _authorise_listing(principal: Principal, row: orm.Supplier, action: ListingAction) -> None:
    if action is ListingAction.APPLY:
        domain.ensure_may_edit_supplier(principal, row.id, row.county_code)
    else:
        domain.ensure_may_decide(principal, row.county_code)


def _step(
    row: orm.Supplier, change: ListingChange, principal: Principal, *, seq: int, target: str
) -> orm.ListingStep:
    return orm.ListingStep(
        supplier_id=row.id,
        seq=seq,
        action=change.action,
        from_status=row.listing_status,
        to_status=target,
        reason=change.reason,
        industries=list(change.industries or row.listing_industries),
        fields=list(change.fields or row.listing_fields),
        decided_by=principal.sub,
        decided_by_role=principal.role,
        decided_by_node=principal.node,
        decided_at=utc_now(),
    )


async def _apply_step(
    uow: UnitOfWork,
    *,
    principal: Principal,
    node_id: str,
    supplier_id: str,
    change: ListingChange,
    expected_version: Versions,
) -> orm.Supplier:
    row = await load_own_supplier(uow.session, node_id, supplier_id)
    _authorise_listing(principal, row, change.action)
    domain.ensure_node_owns(node_id, row.county_code)
    check_version(row, expected_version)
    target = domain.next_status(ListingStatus(row.listing_status), change.action, change.reason)
    if change.action is ListingAction.APPLY:
        domain.check_listing_scope(
            industries=change.industries,
            fields=change.fields,
            supplier_industries=row.industries,
            supplier_lines=row.service_lines,
        )
    seq = await repository.last_listing_seq(uow.session, row.id) + 1
    step = _step(row, change, principal, seq=seq, target=target)
    before = supplier_terms(facts(row))
    row.listing_status = target
    row.listing_industries, row.listing_fields = step.industries, step.fields
    uow.session.add(step)
    await flush_update(uow.session, row)
    await reindex(uow.session, row, before)
    decision = contracts.ListingDecision.model_validate(step, from_attributes=True)
    event = contracts.SupplierListingChanged(**snapshot(row), decision=decision)
    uow.record(event, key=row.id, subject=row.id)
    return row


async def change_listing(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    supplier_id: str,
    change: ListingChange,
    expected_version: Versions = None,
    idempotency: Idempotency | None = None,
) -> Created[orm.Supplier]:
    """Take one listing step: ``apply`` (the supplier or its operators) or a decision (the
    owner node's city operators or the province); returns the supplier after it."""

    async def work(uow: UnitOfWork) -> orm.Supplier:
        return await _apply_step(
            uow,
            principal=principal,
            node_id=node_id,
            supplier_id=supplier_id,
            change=change,
            expected_version=expected_version,
        )

    return await create_once(uow_factory, orm.Supplier, idempotency=idempotency, work=work)
