"""The registry's domain errors: each carries its HTTP status and a stable ``code``."""

from __future__ import annotations

from shulian_common.errors.base import ConflictError, ForbiddenError, ValidationFailedError


class InvalidUSCC(ValidationFailedError):
    """The Unified Social Credit Code fails GB 32100-2015 (length, charset, check characters)."""

    code = "invalid_uscc"
    title = "统一社会信用代码无效"


class DuplicateUSCC(ConflictError):
    """Another record already carries this Unified Social Credit Code."""

    code = "duplicate_uscc"
    title = "统一社会信用代码已登记"


class OutsideScope(ForbiddenError):
    """The operator's own division does not contain the record's division."""

    code = "outside_scope"
    title = "超出操作员辖区"


class OutsideNodeScope(ForbiddenError):
    """This node does not own records of that division: its owner node must write them."""

    code = "outside_node_scope"
    title = "超出本节点辖区"


class NotOwnerNode(ForbiddenError):
    """The supplier is replicated here from another node: only its owner node writes it.

    403 like ``outside_node_scope``: the request is well-formed and the record exists, but this
    node may not write it; ``owner_node`` in the problem names the node to send it to.
    """

    code = "not_owner_node"
    title = "该记录由其他节点管理"


class NotOwner(ForbiddenError):
    """A supplier may change only its own profile."""

    code = "not_owner"
    title = "只能修改本机构的资料"


class ReadOnlyRole(ForbiddenError):
    """The principal's role may read the registry but not write it."""

    code = "read_only_role"
    title = "该角色只读"


class NotDecider(ForbiddenError):
    """Listing decisions belong to the owner node's city operators or the province."""

    code = "not_decider"
    title = "无权作出入库决定"


class IllegalTransition(ConflictError):
    """The listing action is not allowed from the current listing status."""

    code = "illegal_transition"
    title = "名录库状态不允许此操作"


class ReasonRequired(ValidationFailedError):
    """Refusing, suspending or delisting must say why."""

    code = "reason_required"
    title = "须说明理由"


class ListingScopeMismatch(ValidationFailedError):
    """A listing may cover only industries and service lines the supplier declares."""

    code = "listing_scope_mismatch"
    title = "申请入库的行业或领域不在机构业务范围内"


class InvalidDivision(ValidationFailedError):
    """The division code is unknown, or not of the level the record needs."""

    code = "invalid_division"
    title = "行政区划代码无效"


class SharingStationOutsideChengdu(ValidationFailedError):
    """一县一站 sharing stations are Chengdu's: only its counties host them."""

    code = "sharing_station_outside_chengdu"
    title = "共享站仅在成都市各区(市)县设立"


class SharingStationExists(ConflictError):
    """One sharing station per county (一县一站)."""

    code = "sharing_station_exists"
    title = "该县已设立共享站"


class UnknownReference(ValidationFailedError):
    """A record names a supplier or enterprise that does not exist."""

    code = "unknown_reference"
    title = "引用的机构或企业不存在"


class InconsistentRecord(ValidationFailedError):
    """The fields of a record do not fit together (e.g. a supplier platform without a supplier)."""

    code = "inconsistent_record"
    title = "记录字段不一致"
