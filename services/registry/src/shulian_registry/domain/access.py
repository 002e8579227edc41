"""Who may write what: divisions, the node's jurisdiction and the principal's scope."""

from __future__ import annotations

from shulian_common.auth import Principal, Role
from shulian_common.reference import DivisionLevel, city_of, get_division, in_scope, is_division
from shulian_registry.domain.errors import (
    InvalidDivision,
    NotDecider,
    NotOwner,
    OutsideNodeScope,
    OutsideScope,
    ReadOnlyRole,
)


def check_division(code: str, *, county_only: bool) -> str:
    """Return ``code`` if it is a Sichuan division (a county when ``county_only``)."""
    if not is_division(code):
        raise InvalidDivision(f"{code} 不是四川省的行政区划代码", extra={"division_code": code})
    if county_only and get_division(code).level is not DivisionLevel.COUNTY:
        raise InvalidDivision(f"{code} 不是县级行政区划代码", extra={"division_code": code})
    return code


def city_code_of(division_code: str) -> str | None:
    """The city of a city or county code; ``None`` for the province."""
    if get_division(division_code).level is DivisionLevel.PROVINCE:
        return None
    return city_of(division_code).code


def ensure_node_owns(node_id: str, division_code: str) -> None:
    """Refuse a write this node does not own: only the owner node writes an aggregate."""
    if not in_scope(node_id, division_code):
        raise OutsideNodeScope(
            f"节点 {node_id} 不管辖 {division_code}，请到其所属节点办理",
            extra={"node_id": node_id, "division_code": division_code},
        )


def ensure_operator_writes(principal: Principal, division_code: str) -> None:
    """Refuse unless the principal is an operator whose division contains ``division_code``."""
    if not principal.is_operator:
        raise ReadOnlyRole(f"角色 {principal.role} 不能修改此类记录")
    if not principal.can_write_division(division_code):
        raise OutsideScope(
            f"{division_code} 不在操作员辖区 {principal.division} 内",
            extra={"division_code": division_code, "scope": principal.division},
        )


def ensure_may_edit_supplier(principal: Principal, supplier_id: str, county_code: str) -> None:
    """A supplier edits only its own profile; operators edit suppliers of their division."""
    if principal.role is Role.SUPPLIER:
        if principal.supplier_id != supplier_id:
            raise NotOwner(f"机构只能修改本机构 ({principal.supplier_id}) 的资料")
        return
    ensure_operator_writes(principal, county_code)


def ensure_may_decide(principal: Principal, county_code: str) -> None:
    """Listing decisions: the province, or a city operator of the supplier's city (owner node)."""
    if principal.role is Role.PROVINCE_ADMIN:
        return
    if principal.role is Role.CITY_OPERATOR and principal.can_write_division(county_code):
        return
    raise NotDecider("入库决定由所属市(州)人社部门或省人社厅作出")


def may_see_contact(principal: Principal, supplier_id: str, county_code: str) -> bool:
    """Contact details show unmasked to the supplier itself and to operators who may write it."""
    if principal.role is Role.SUPPLIER:
        return principal.supplier_id == supplier_id
    return principal.is_operator and principal.can_write_division(county_code)
