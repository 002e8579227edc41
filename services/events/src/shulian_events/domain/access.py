"""Who may write what: a city schedules its own activities, a county its county's, the province
any; only the owner node changes an activity; suppliers and enterprises act only for themselves;
partners read."""

from __future__ import annotations

from shulian_common.auth import Principal, Role
from shulian_common.reference import DivisionLevel, city_of, get_division, in_scope, is_division
from shulian_events.domain.errors import (
    InvalidDivision,
    InvalidLevel,
    NotOwnerNode,
    NotSelf,
    OutsideNodeScope,
    OutsideScope,
    ReadOnlyRole,
)
from shulian_events.domain.terms import Level, ParticipantKind

_LEVELS = {
    Level.PROVINCE: DivisionLevel.PROVINCE,
    Level.CITY: DivisionLevel.CITY,
    Level.COUNTY: DivisionLevel.COUNTY,
}


def check_level(level: Level, division_code: str) -> None:
    """A province activity is organised by the province, a city one by a city, a county one by
    a county."""
    if not is_division(division_code):
        raise InvalidDivision(
            f"{division_code} 不是四川省的行政区划代码", extra={"division_code": division_code}
        )
    if get_division(division_code).level is not _LEVELS[level]:
        raise InvalidLevel(
            f"{level.label}活动的主办区划须为{_LEVELS[level]}级，{division_code} 不是",
            extra={"division_code": division_code, "level": str(level)},
        )


def city_code_of(division_code: str) -> str | None:
    """The city of a city or county code; ``None`` for the province."""
    if get_division(division_code).level is DivisionLevel.PROVINCE:
        return None
    return city_of(division_code).code


def ensure_may_schedule(principal: Principal, *, node_id: str, division_code: str) -> None:
    """An operator whose division contains the activity's, on a node that governs it."""
    if not principal.is_operator:
        raise ReadOnlyRole(f"角色 {principal.role} 不能安排活动")
    if not principal.can_write_division(division_code):
        raise OutsideScope(
            f"{division_code} 不在操作员辖区 {principal.division} 内",
            extra={"division_code": division_code, "scope": principal.division},
        )
    if not in_scope(node_id, division_code):
        raise OutsideNodeScope(
            f"节点 {node_id} 不管辖 {division_code}，请到其所属节点办理",
            extra={"node_id": node_id, "division_code": division_code},
        )


def ensure_owner(node_id: str, owner_node: str) -> None:
    """Only the owner node changes an activity (others hold a replica)."""
    if node_id != owner_node:
        raise NotOwnerNode(
            f"活动由节点 {owner_node} 主办，请到该节点办理", extra={"owner_node": owner_node}
        )


def ensure_may_register(principal: Principal, kind: ParticipantKind, participant_id: str) -> None:
    """Suppliers and enterprises register only themselves; operators may register anyone."""
    if principal.is_operator:
        return
    own = {Role.SUPPLIER: principal.supplier_id, Role.ENTERPRISE: principal.enterprise_id}
    expected_kind = {
        Role.SUPPLIER: ParticipantKind.SUPPLIER,
        Role.ENTERPRISE: ParticipantKind.ENTERPRISE,
    }
    if principal.role not in own:
        raise ReadOnlyRole(f"角色 {principal.role} 不能报名活动")
    if expected_kind[principal.role] is not kind or own[principal.role] != participant_id:
        raise NotSelf(f"只能为本单位 ({own[principal.role]}) 报名")


def may_act_for(principal: Principal, *, participant_id: str, division_code: str) -> bool:
    """Whether the principal is the participant itself or an operator over the activity."""
    if principal.role is Role.SUPPLIER:
        return principal.supplier_id == participant_id
    if principal.role is Role.ENTERPRISE:
        return principal.enterprise_id == participant_id
    return principal.can_write_division(division_code)
