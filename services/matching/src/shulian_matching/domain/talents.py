"""Talents (人才接单): occupations, masked personal data, applications and the head count.

Personal data (name, phone, resident ID number) is shown whole only to the talent; everyone else
sees it masked, and it never leaves the node in an event, a key, a header, a log line or a span.

Applying again. A talent has at most one application standing (pending, applied or accepted) per
job order. Once the placer declined it, the talent may apply to that order again only after the
order's terms changed (its ``terms_version`` moved past the one the declined application was made
on: pay, place, skills, head count, deadline, visibility — not a title fix): the placer answered
that question on those terms, and asking it again, however long after, is noise in the placer's
list, while new terms are a new question the talent may well fit. A cool-down was not chosen: a
job order lives until its deadline, so a waiting period either outlasts it or lets the same
question come back on the same terms. Nor does a change of the talent's own profile reopen it
(any edit would then do). A receipt the owner node refused (``rejected``: the order was closed or
not open to the talent's city when it arrived) never reached the placer, and does not stand in
the way. A refused re-application is ``application_declined`` (409); a second standing one
``duplicate_application``. The declined application stays in the placer's list beside the new
one, each with the terms version it was made on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from shulian_common.reference import mask_name, mask_phone, mask_resident_id
from shulian_matching.domain.errors import (
    ApplicationDeclined,
    DuplicateApplication,
    HeadCountReached,
    IllegalTransition,
)

# The eight major groups (大类) of the national occupational classification,
# 《中华人民共和国职业分类大典（2022年版）》. A partial list: detailed codes (e.g. 4-07-...) are
# deliberately not shipped until they are taken from the published text, so none is invented.
OCCUPATION_MAJOR_GROUPS = {
    "1": "党的机关、国家机关、群众团体和社会组织、企事业单位负责人",
    "2": "专业技术人员",
    "3": "办事人员和有关人员",
    "4": "社会生产服务和生活服务人员",
    "5": "农、林、牧、渔业生产及辅助人员",
    "6": "生产制造及有关人员",
    "7": "军人",
    "8": "不便分类的其他从业人员",
}


def is_occupation(code: str) -> bool:
    """Whether ``code`` is in the occupation list this service ships."""
    return code in OCCUPATION_MAJOR_GROUPS


class ApplicationStatus(StrEnum):
    """Where a talent's application stands."""

    PENDING = "pending"  # sent to the order's owner node, not yet received there
    APPLIED = "applied"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REJECTED = "rejected"  # the owner node refused to receive it (``reason`` says why)


# An application still standing: a talent has at most one per order (a partial unique index).
STANDING = frozenset(
    {ApplicationStatus.PENDING, ApplicationStatus.APPLIED, ApplicationStatus.ACCEPTED}
)


def check_may_apply(
    earlier: Iterable[tuple[ApplicationStatus, int]], *, terms_version: int
) -> None:
    """Refuse a talent's application to an order, given the talent's earlier applications to it
    (status and the terms version each was made on) and the order's current terms version: one
    still standing, or one the placer declined on the current terms."""
    made = list(earlier)
    if any(status in STANDING for status, _ in made):
        raise DuplicateApplication("已报名该订单")
    declined_on = [on for status, on in made if status == ApplicationStatus.DECLINED]
    if declined_on and max(declined_on) >= terms_version:
        raise ApplicationDeclined(
            "该订单已婉拒你的报名；订单条款变更后可再次报名",
            extra={"declined_terms_version": max(declined_on), "terms_version": terms_version},
        )


@dataclass(frozen=True, slots=True)
class PersonalData:
    """A talent's personal data."""

    name: str
    phone: str
    id_number: str

    def masked(self) -> PersonalData:
        """The same data as anyone but the talent may see it."""
        return PersonalData(
            mask_name(self.name), mask_phone(self.phone), mask_resident_id(self.id_number)
        )


def shown_to(data: PersonalData, *, viewer_is_talent: bool) -> PersonalData:
    """Personal data as a viewer may see it: whole to the talent, masked to everyone else."""
    return data if viewer_is_talent else data.masked()


def decide_application(
    status: ApplicationStatus, *, accept: bool, accepted: int, head_count: int
) -> ApplicationStatus:
    """The placer's answer to an application; accepting past the head count is refused."""
    if status is not ApplicationStatus.APPLIED:
        raise IllegalTransition(
            f"该报名已处理（{status}），不能再次决定", extra={"status": str(status)}
        )
    if not accept:
        return ApplicationStatus.DECLINED
    if accepted >= head_count:
        raise HeadCountReached(
            f"已录用 {accepted} 人，达到招聘人数 {head_count}",
            extra={"accepted": accepted, "head_count": head_count},
        )
    return ApplicationStatus.ACCEPTED
