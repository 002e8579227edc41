"""Matching's domain errors: each carries its HTTP status and a stable ``code``."""

from __future__ import annotations

from shulian_common.errors.base import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)


class IllegalTransition(ConflictError):
    """The action is not allowed from the order's current status."""

    code = "illegal_transition"
    title = "订单当前状态不允许此操作"


class TermsLocked(ConflictError):
    """The terms of an order with confirmed awards or accepted talents cannot change."""

    code = "terms_locked"
    title = "订单已有确认的中标或录用，条款不能再改"


class InvalidOrder(ValidationFailedError):
    """An order's fields do not fit together (kind, slots, visibility, division)."""

    code = "invalid_order"
    title = "订单内容无效"


class InvalidDivision(ValidationFailedError):
    """Not a Sichuan division code (or not a county where one is needed)."""

    code = "invalid_division"
    title = "行政区划代码无效"


class OutsideNodeScope(ForbiddenError):
    """This node does not own records of that division: its owner node must write them."""

    code = "outside_node_scope"
    title = "超出本节点辖区"


class NotPlacer(ForbiddenError):
    """Only the enterprise that placed an order, or operators over its division, manage it."""

    code = "not_placer"
    title = "无权管理此订单"


class RoleNotAllowed(ForbiddenError):
    """The principal's role may not take this action."""

    code = "role_not_allowed"
    title = "该角色不能执行此操作"


class NotTheSupplier(ForbiddenError):
    """A grab is made and confirmed by the supplier itself."""

    code = "not_the_supplier"
    title = "只能以本机构名义抢单"


class NotOwnerNode(ConflictError):
    """The record is a replica: its owner node writes it."""

    code = "not_owner_node"
    title = "该记录由其所属节点管理"


class OrderNotGrabbable(ConflictError):
    """Talents take job orders; firms grab service orders."""

    code = "wrong_order_kind"
    title = "订单类型不符"


class HeadCountReached(ConflictError):
    """A job order's head count is already filled by accepted talents."""

    code = "head_count_reached"
    title = "录用人数已满"


class DuplicateApplication(ConflictError):
    """A talent applies to a job order once."""

    code = "duplicate_application"
    title = "已报名该订单"


class ApplicationDeclined(ConflictError):
    """The placer declined the talent's application on the order's current terms: the talent may
    apply again once the terms change."""

    code = "application_declined"
    title = "报名已被婉拒，订单条款变更后方可再次报名"


class ProfileMissing(NotFoundError):
    """The talent has no profile on this node yet."""

    code = "talent_profile_missing"
    title = "尚未建立人才档案"


class InvalidOccupation(ValidationFailedError):
    """The occupation code is not in the (partial) list this service knows."""

    code = "invalid_occupation"
    title = "职业分类代码无效"
