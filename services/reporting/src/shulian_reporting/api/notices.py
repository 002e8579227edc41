"""The supervision notice (调度通报): the 21 cities ranked by task completion."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from shulian_common.deps import SessionDep
from shulian_common.errors import problem_responses
from shulian_common.http import Authenticated
from shulian_reporting.api.common import READER, XLSX, AsOf, Year, download, today_in_sichuan
from shulian_reporting.domain.indicators import report_date
from shulian_reporting.exports.tables import DEPARTMENT, Table
from shulian_reporting.exports.xlsx import workbook
from shulian_reporting.handlers import reports
from shulian_reporting.schemas import CityRankRead, SupervisionRead

router = APIRouter(prefix="/v1/notices", tags=["notices"], dependencies=[Authenticated])


@router.get(
    "/supervision",
    response_model=SupervisionRead,
    responses=problem_responses(401, 403),
    dependencies=[READER],
)
async def supervision(session: SessionDep, year: Year, as_of: AsOf = None) -> SupervisionRead:
    """The cities ranked by the mean completion of the indicators each has a target for."""
    today = as_of or today_in_sichuan()
    ranking = await reports.supervision(session, year=year, today=today)
    return SupervisionRead(
        year=year,
        as_of=report_date(year, today),
        cities=[CityRankRead.model_validate(row) for row in ranking],
    )


@router.get(
    "/supervision.xlsx",
    response_class=Response,
    responses=problem_responses(401, 403),
    dependencies=[READER],
)
async def supervision_xlsx(session: SessionDep, year: Year, as_of: AsOf = None) -> Response:
    """The supervision notice as an XLSX table."""
    notice = await supervision(session, year, as_of)
    table = Table(
        title=f"人力资源服务赋能产业专项行动调度通报（{year}年）",
        subtitle=f"统计截至：{notice.as_of:%Y年%m月%d日}　　制表单位：{DEPARTMENT}",
        header=("排名", "市(州)", "任务完成率(%)", "达标", "进度正常", "滞后", "考核指标数"),
        rows=[
            (c.rank, c.city_name, "未设目标" if c.completion is None else c.completion, c.met,
             c.on_track, c.behind, c.assessed)
            for c in notice.cities
        ],
    )  # fmt: skip
    return download(
        workbook([("调度通报", table)]), media_type=XLSX, filename=f"{table.title}.xlsx"
    )
