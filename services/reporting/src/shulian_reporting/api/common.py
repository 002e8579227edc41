"""What every reporting route shares: who may see which scope, the report's year and date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query
from fastapi.responses import Response

from shulian_common.auth import Principal, Role
from shulian_common.deps import PrincipalDep
from shulian_common.errors import ForbiddenError, NotFoundError
from shulian_common.reference import PROVINCE_CODE, city_of
from shulian_reporting.domain.scope import UnknownScopeError, scope_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
READERS = frozenset({Role.PROVINCE_ADMIN, Role.CITY_OPERATOR, Role.COUNTY_OPERATOR, Role.PARTNER})


def today_in_sichuan() -> date:
    """Today's date in the province's calendar."""
    return datetime.now(SHANGHAI).date()


async def report_reader(principal: PrincipalDep) -> Principal:
    """Operators and partners read reports; suppliers, enterprises and talents do not."""
    if principal.role not in READERS:
        raise ForbiddenError("报表仅限政府部门与合作平台查看", code="forbidden_role")
    return principal


ReaderDep = Annotated[Principal, Depends(report_reader)]
READER = Depends(report_reader)  # for routes that need the check but not the principal


async def province_admin(principal: PrincipalDep) -> Principal:
    """Only the province changes targets, rules and decides on summaries."""
    if principal.role is not Role.PROVINCE_ADMIN:
        raise ForbiddenError("此操作仅限省级人社厅", code="forbidden_role")
    return principal


ProvinceDep = Annotated[Principal, Depends(province_admin)]
PROVINCE = Depends(province_admin)


def own_city(principal: Principal) -> str | None:
    """The city a city or county operator works for (``None`` for the province and partners)."""
    if principal.role in (Role.CITY_OPERATOR, Role.COUNTY_OPERATOR) and principal.division:
        return city_of(principal.division).code
    return None


def check_scope_visible(principal: Principal, scope_code: str) -> None:
    """The province sees every scope; a city its own and the province totals; partners the
    province totals. Unknown scopes are 404, others' 403."""
    try:
        scope_of(scope_code)
    except UnknownScopeError:
        raise NotFoundError(
            f"统计范围 {scope_code} 不存在（应为 510000、片区代码或市州代码）",
            code="unknown_scope",
        ) from None
    if principal.role is Role.PROVINCE_ADMIN or scope_code == PROVINCE_CODE:
        return
    if own_city(principal) != scope_code:
        raise ForbiddenError("只能查看本市(州)及全省合计数据", code="scope_not_visible")


Year = Annotated[int, Query(ge=2023, le=2100, description="the report's year")]
AsOf = Annotated[
    date | None,
    Query(description="the date the report stands at (default: today in Sichuan)"),
]
Scope = Annotated[str, Query(description="510000, a region (chengdu_plain, south…) or a city code")]


def download(content: bytes, *, media_type: str, filename: str) -> Response:
    """A file download with a Chinese file name (RFC 6266 ``filename*``)."""
    from urllib.parse import quote

    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CSV = "text/csv; charset=utf-8"
