"""Commands on suppliers: register and change a profile (search terms kept in step)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shulian_common.auth import Principal
from shulian_common.idempotency import Created, Idempotency, create_once
from shulian_common.records import (
    Versions,
    add,
    changed_fields,
    check_version,
    flush_update,
    unchanged,
    utc_now,
)
from shulian_common.reference import region_of
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_registry import contracts, domain, orm, repository
from shulian_registry.domain import ListingStatus
from shulian_registry.handlers.common import authorise_place, load_own_supplier, place
from shulian_registry.terms import SupplierFacts, supplier_terms


def facts(row: orm.Supplier | orm.RemoteSupplier) -> SupplierFacts:
    """What a supplier, own or replicated, is indexed by."""
    return SupplierFacts(
        name=row.name,
        uscc=row.uscc,
        county_code=row.county_code,
        city_code=row.city_code,
        region=row.region,
        industries=tuple(row.industries),
        service_lines=tuple(row.service_lines),
        listing_status=row.listing_status,
        high_end=row.high_end,
        owner_node=row.owner_node,
    )


def snapshot(row: orm.Supplier) -> dict[str, Any]:
    """The supplier's event snapshot fields (no contact details)."""
    return contracts.SupplierSnapshot.model_validate(row, from_attributes=True).model_dump()


def _set_county(row: orm.Supplier, county_code: str) -> None:
    row.county_code = county_code
    row.region = str(region_of(county_code))
    place(row, county_code)


def _set_profile(row: orm.Supplier, changes: Mapping[str, Any]) -> None:
    """Apply profile fields; contact arrives as one object and is stored as three columns."""
    for name, value in changes.items():
        if name == "contact":
            contact = domain.merge_contact(_contact(row), value)
            row.contact_name, row.contact_phone, row.contact_email = (
                contact.name,
                contact.phone,
                contact.email,
            )
        elif name == "county_code":
            _set_county(row, value)
        else:
            setattr(row, name, value)
    row.high_end = domain.is_high_end(row.service_lines)


async def _new_supplier(
    uow: UnitOfWork, *, principal: Principal, node_id: str, fields: Mapping[str, Any]
) -> orm.Supplier:
    county = domain.check_division(fields["county_code"], county_only=True)
    authorise_place(principal, node_id, county)
    uscc = domain.check_uscc(fields["uscc"])
    # Province-wide: held here or replicated from any node (two nodes registering at once are
    # caught later, when either applies the other's event: see ``handlers.replica``).
    held = await repository.registrations_of_uscc(uow.session, uscc)
    if held:
        first = held[0]
        raise domain.DuplicateUSCC(
            f"统一社会信用代码 {uscc} 已由节点 {first.owner_node} 登记",
            extra={"uscc": uscc, "supplier_id": first.supplier_id, "owner_node": first.owner_node},
        )
    now = utc_now()
    row = orm.Supplier(
        id=domain.new_id(now),
        owner_node=node_id,
        uscc=uscc,
        uscc_region_code=domain.uscc_region(uscc)[0],
        listing_status=ListingStatus.NOT_APPLIED,
        listing_industries=[],
        listing_fields=[],
        created_at=now,
        updated_at=now,
    )
    _set_profile(row, {k: v for k, v in fields.items() if k != "uscc"})
    await add(uow.session, row)
    await repository.add_terms(uow.session, row.id, supplier_terms(facts(row)))
    uow.record(contracts.SupplierRegistered(**snapshot(row)), key=row.id, subject=row.id)
    return row


async def register_supplier(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    fields: Mapping[str, Any],
    idempotency: Idempotency | None = None,
) -> Created[orm.Supplier]:
    """Register a supplier (operators of its county's jurisdiction, on its owner node)."""

    async def work(uow: UnitOfWork) -> orm.Supplier:
        return await _new_supplier(uow, principal=principal, node_id=node_id, fields=fields)

    return await create_once(uow_factory, orm.Supplier, idempotency=idempotency, work=work)


async def update_supplier(
    uow_factory: UnitOfWorkFactory,
    *,
    principal: Principal,
    node_id: str,
    supplier_id: str,
    expected_version: Versions,
    changes: Mapping[str, Any],
) -> orm.Supplier:
    """Change a supplier's profile (the supplier itself, or operators of its county)."""
    async with uow_factory() as uow:
        row = await load_own_supplier(uow.session, node_id, supplier_id)
        domain.ensure_may_edit_supplier(principal, row.id, row.county_code)
        domain.ensure_node_owns(node_id, row.county_code)
        check_version(row, expected_version)
        if "county_code" in changes:
            _authorise_move(principal, node_id, changes["county_code"])
        before = supplier_terms(facts(row))
        if not _differs(row, changes):
            return unchanged(uow, row)
        _set_profile(row, changes)
        await flush_update(uow.session, row)
        await reindex(uow.session, row, before)
        uow.record(contracts.SupplierUpdated(**snapshot(row)), key=row.id, subject=row.id)
        await uow.commit()
    return row


def _differs(row: orm.Supplier, changes: Mapping[str, Any]) -> bool:
    columns = {name: value for name, value in changes.items() if name != "contact"}
    if changed_fields(row, columns):
        return True
    if "contact" not in changes:
        return False
    current = _contact(row)
    return domain.merge_contact(current, changes["contact"]) != current


def _contact(row: orm.Supplier) -> domain.Contact:
    return domain.Contact(row.contact_name, row.contact_phone, row.contact_email)


def _authorise_move(principal: Principal, node_id: str, county_code: str) -> None:
    """Moving a record to another county: the new county must be in scope too."""
    domain.check_division(county_code, county_only=True)
    if principal.is_operator:
        domain.ensure_operator_writes(principal, county_code)
    domain.ensure_node_owns(node_id, county_code)


async def reindex(session: AsyncSession, row: orm.Supplier, before: set[str]) -> None:
    """Bring the supplier's search terms from ``before`` to what the row says now."""
    after = supplier_terms(facts(row))
    await repository.remove_terms(session, row.id, before - after)
    await repository.add_terms(session, row.id, after - before)
