"""Who may do what with orders, grabs and talent profiles: node, division and role."""

from __future__ import annotations

from enum import StrEnum

from shulian_common.auth import Principal, Role
from shulian_common.reference import DivisionLevel, city_of, get_division, in_scope, is_division
from shulian_matching.domain.errors import (
    InvalidDivision,
    NotPlacer,
    NotTheSupplier,
    OutsideNodeScope,
    RoleNotAllowed,
)


class PlacerKind(StrEnum):
    """Who placed an order: an enterprise, a market (an HR market operator) or a node."""

    ENTERPRISE = "enterprise"
    NODE = "node"


def county_city(county_code: str) -> str:
    """The city of a county code; refuses anything but a Sichuan county."""
    if not is_division(county_code) or get_division(county_code).level is not DivisionLevel.COUNTY:
        raise InvalidDivision(
            f"{county_code} 不是四川省的县级行政区划代码", extra={"division_code": county_code}
        )
    return city_of(county_code).code


def ensure_node_owns(node_id: str, county_code: str) -> None:
    """Only the node governing an order's county writes the order."""
    if not in_scope(node_id, county_code):
        raise OutsideNodeScope(
            f"节点 {node_id} 不管辖 {county_code}，请到其所属节点下单",
            extra={"node_id": node_id, "division_code": county_code},
        )


def placer_of(principal: Principal, county_code: str) -> tuple[PlacerKind, str]:
    """Who places an order in ``county_code``: an enterprise, or an operator over the county."""
    if principal.role is Role.ENTERPRISE and principal.enterprise_id:
        return PlacerKind.ENTERPRISE, principal.enterprise_id
    if principal.is_operator and principal.can_write_division(county_code):
        return PlacerKind.NODE, str(principal.division)
    if principal.is_operator:
        raise NotPlacer(
            f"{county_code} 不在操作员辖区 {principal.division} 内",
            extra={"division_code": county_code},
        )
    raise RoleNotAllowed(f"角色 {principal.role} 不能下单")


def ensure_may_manage(
    principal: Principal, *, placer_kind: str, placed_by: str, county_code: str
) -> None:
    """The placing enterprise, or an operator over the order's county, manages an order."""
    if principal.role is Role.ENTERPRISE:
        if placer_kind == PlacerKind.ENTERPRISE and principal.enterprise_id == placed_by:
            return
        raise NotPlacer("企业只能管理本企业下的订单")
    if principal.is_operator and principal.can_write_division(county_code):
        return
    raise NotPlacer("订单由下单企业或其所在辖区的人社部门管理")


def ensure_supplier(principal: Principal, supplier_id: str | None = None) -> str:
    """The supplier a principal acts for (it must be that supplier, when one is named)."""
    if principal.role is not Role.SUPPLIER or not principal.supplier_id:
        raise RoleNotAllowed("只有人力资源服务机构可以抢单")
    if supplier_id is not None and principal.supplier_id != supplier_id:
        raise NotTheSupplier(f"机构只能处理本机构 ({principal.supplier_id}) 的抢单")
    return principal.supplier_id


def ensure_talent(principal: Principal) -> str:
    """The talent account a principal is (its ``sub``)."""
    if principal.role is not Role.TALENT:
        raise RoleNotAllowed("只有人才本人可以建立档案和报名")
    return principal.sub
