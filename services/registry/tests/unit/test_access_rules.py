"""Who may write what: the principal's scope, the node's jurisdiction, ownership, deciders."""

from __future__ import annotations

import pytest

from shulian_common.auth import Principal, Role
from shulian_registry.domain import (
    InvalidDivision,
    NotDecider,
    NotOwner,
    OutsideNodeScope,
    OutsideScope,
    ReadOnlyRole,
    check_division,
    city_code_of,
    ensure_may_decide,
    ensure_may_edit_supplier,
    ensure_node_owns,
    ensure_operator_writes,
    may_see_contact,
)


def principal(role: Role, division: str | None = None, supplier_id: str | None = None) -> Principal:
    node = "510000" if division in (None, "510000") else division[:4] + "00"
    return Principal(sub="t", role=role, node=node, division=division, supplier_id=supplier_id)


PROVINCE = principal(Role.PROVINCE_ADMIN, "510000")
CHENGDU = principal(Role.CITY_OPERATOR, "510100")
JINJIANG = principal(Role.COUNTY_OPERATOR, "510104")


def test_operators_write_within_their_division() -> None:
    ensure_operator_writes(PROVINCE, "511502")
    ensure_operator_writes(CHENGDU, "510104")
    ensure_operator_writes(JINJIANG, "510104")
    for who, code in ((CHENGDU, "511502"), (JINJIANG, "510105"), (JINJIANG, "510100")):
        with pytest.raises(OutsideScope):
            ensure_operator_writes(who, code)


@pytest.mark.parametrize("role", [Role.SUPPLIER, Role.ENTERPRISE, Role.TALENT, Role.PARTNER])
def test_non_operators_cannot_write_records(role: Role) -> None:
    with pytest.raises(ReadOnlyRole):
        ensure_operator_writes(principal(role), "510104")


def test_a_node_writes_only_its_jurisdiction() -> None:
    ensure_node_owns("510000", "513431")
    ensure_node_owns("510100", "510104")
    with pytest.raises(OutsideNodeScope) as caught:
        ensure_node_owns("510100", "511502")
    assert caught.value.status == 403
    assert caught.value.code == "outside_node_scope"


def test_a_supplier_edits_only_itself_and_operators_their_division() -> None:
    me = principal(Role.SUPPLIER, supplier_id="s1")
    ensure_may_edit_supplier(me, "s1", "511502")
    with pytest.raises(NotOwner):
        ensure_may_edit_supplier(me, "s2", "511502")
    ensure_may_edit_supplier(CHENGDU, "s2", "510104")
    with pytest.raises(OutsideScope):
        ensure_may_edit_supplier(CHENGDU, "s2", "511502")


def test_deciders_are_the_province_and_the_city_s_operators() -> None:
    ensure_may_decide(PROVINCE, "511502")
    ensure_may_decide(principal(Role.CITY_OPERATOR, "511500"), "511502")
    refused = [
        CHENGDU,
        principal(Role.COUNTY_OPERATOR, "511502"),
        principal(Role.SUPPLIER, supplier_id="s1"),
        principal(Role.PARTNER),
    ]
    for who in refused:
        with pytest.raises(NotDecider):
            ensure_may_decide(who, "511502")


def test_contacts_show_to_the_owner_and_to_operators_who_may_write_it() -> None:
    assert may_see_contact(principal(Role.SUPPLIER, supplier_id="s1"), "s1", "510104")
    assert may_see_contact(CHENGDU, "s1", "510104")
    assert may_see_contact(JINJIANG, "s1", "510104")
    assert not may_see_contact(principal(Role.SUPPLIER, supplier_id="s2"), "s1", "510104")
    assert not may_see_contact(principal(Role.COUNTY_OPERATOR, "510105"), "s1", "510104")
    assert not may_see_contact(principal(Role.PARTNER), "s1", "510104")


def test_division_codes_are_checked_and_placed() -> None:
    assert check_division("510104", county_only=True) == "510104"
    assert check_division("510000", county_only=False) == "510000"
    with pytest.raises(InvalidDivision):
        check_division("510100", county_only=True)
    with pytest.raises(InvalidDivision):
        check_division("519999", county_only=False)
    assert city_code_of("510104") == "510100"
    assert city_code_of("510100") == "510100"
    assert city_code_of("510000") is None
