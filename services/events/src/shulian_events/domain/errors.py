"""The calendar's domain errors: each carries its HTTP status and a stable ``code``."""

from __future__ import annotations

from shulian_common.errors.base import ConflictError, ForbiddenError, ValidationFailedError


class InvalidTransition(ConflictError):
    """The activity's lifecycle does not allow this step from where it stands."""

    code = "invalid_transition"
    title = "活动当前状态不允许此操作"


class InvalidSchedule(ValidationFailedError):
    """Start, end, window or recurrence do not make a schedule."""

    code = "invalid_schedule"
    title = "活动时间安排无效"


class InvalidRecurrence(ValidationFailedError):
    """The RRULE is not one this calendar keeps (unbounded, malformed or too many occurrences)."""

    code = "invalid_recurrence"
    title = "重复规则无效"


class NotASeries(ConflictError):
    """One occurrence is moved or cancelled alone only in a series; a single activity changes
    its own dates or is cancelled as a whole."""

    code = "not_a_series"
    title = "单场活动没有可单独调整的场次"


class UnknownOccurrence(ConflictError):
    """The series has no occurrence with this key."""

    status = 404
    code = "unknown_occurrence"
    title = "活动场次不存在"


class InvalidLevel(ValidationFailedError):
    """The level does not fit the organiser's division (a city activity needs a city code …)."""

    code = "invalid_level"
    title = "活动级别与主办区划不符"


class UnknownIndustry(ValidationFailedError):
    """Not an industry code of the kit's taxonomy (``shulian_common.reference.taxonomy``)."""

    code = "unknown_industry"
    title = "产业代码无效"


class InvalidDivision(ValidationFailedError):
    """Not a Sichuan division code."""

    code = "invalid_division"
    title = "行政区划代码无效"


class OutsideScope(ForbiddenError):
    """The operator's division does not contain the activity's division."""

    code = "outside_scope"
    title = "超出操作员辖区"


class OutsideNodeScope(ForbiddenError):
    """This node does not govern the activity's division."""

    code = "outside_node_scope"
    title = "超出本节点辖区"


class NotOwnerNode(ConflictError):
    """The activity is another node's: only its owner node changes it."""

    code = "not_owner_node"
    title = "活动由其他节点主办，请到主办节点办理"


class ReadOnlyRole(ForbiddenError):
    """The role may not change activities."""

    code = "read_only_role"
    title = "此角色不能修改活动"


class NotSelf(ForbiddenError):
    """A supplier or enterprise registers, cancels and reads only its own registrations."""

    code = "not_self"
    title = "只能为本单位报名"


class SeriesHasRegistrations(ConflictError):
    """A series' dates define its occurrences' keys: they stay while registrations hold them."""

    code = "series_has_registrations"
    title = "系列活动已有报名，不能整体改期"


class AlreadyRegistered(ConflictError):
    """The node asked already knows this participant is in for this occurrence (the owner's
    decision stays the authority: a request it had not yet seen decided is refused there)."""

    code = "already_registered"
    title = "该单位已报名此场次"


class InvalidRegistrationStep(ConflictError):
    """The registration's state does not allow this step."""

    code = "invalid_registration_step"
    title = "报名当前状态不允许此操作"


class NotOnTheDay(ConflictError):
    """Check-in happens on the day of the occurrence."""

    code = "not_on_the_day"
    title = "仅可在活动当天签到"
