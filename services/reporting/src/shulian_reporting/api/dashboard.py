"""The dashboard page and its static assets (ECharts vendored: no internet needed)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from shulian_common.errors import NotFoundError
from shulian_reporting.exports.dashboard import STATIC, dashboard_html

router = APIRouter(tags=["dashboard"])

ASSETS = {
    "echarts.min.js": "text/javascript; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "ECHARTS-LICENSE.txt": "text/plain; charset=utf-8",
    "ECHARTS-NOTICE.txt": "text/plain; charset=utf-8",
}


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard() -> HTMLResponse:
    """The indicator dashboard; open it as `/dashboard?scope=510000#token=<bearer>` (the
    current year; `year=2025` for another)."""
    return HTMLResponse(dashboard_html())


@router.get("/static/{name}", include_in_schema=False)
async def static_asset(name: str) -> FileResponse:
    """A static asset of the dashboard."""
    if name not in ASSETS:
        raise NotFoundError(f"静态资源 {name} 不存在")
    return FileResponse(STATIC / name, media_type=ASSETS[name])
