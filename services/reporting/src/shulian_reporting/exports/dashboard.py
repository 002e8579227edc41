"""The HTML dashboard: a page shell; the browser fetches the figures and draws with ECharts.

ECharts (Apache-2.0, ``static/echarts.min.js`` with its LICENSE and NOTICE) is served by the
service itself: deployments may have no internet. The page holds no figures: the script reads
the bearer token from the URL fragment and calls the API, so what a viewer sees is what their
token may see.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from shulian_common.reference import cities
from shulian_reporting.domain.scope import city_name

STATIC = Path(__file__).resolve().parent.parent / "static"

STYLE = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       margin: 0; background: #f5f5f5; color: #222; }
header { background: #b71c1c; color: #fff; padding: 14px 24px; }
header h1 { margin: 0; font-size: 22px; }
main { padding: 16px 24px; }
.charts { display: flex; gap: 16px; flex-wrap: wrap; }
.chart { background: #fff; width: 840px; height: 540px; }
table { border-collapse: collapse; background: #fff; margin-top: 16px; width: 100%; }
th, td { border: 1px solid #999; padding: 4px 8px; font-size: 14px; text-align: center; }
th { background: #d9e1f2; }
tr.behind td:last-child { color: #c62828; font-weight: bold; }
tr.met td:last-child { color: #2e7d32; }
#error { color: #c62828; }
"""


def dashboard_html() -> str:
    """The dashboard page."""
    names = {city.code: city_name(city.code) for city in cities()}
    header = "".join(
        f"<th>{escape(h)}</th>"
        for h in ("序号", "指标", "单位", "目标值", "完成值", "完成率(%)", "进度要求", "状态")
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>人力资源服务赋能产业专项行动 · 指标看板</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1>人力资源服务赋能产业专项行动 · 指标看板</h1><div id="scope"></div></header>
<main>
<div id="error"></div>
<div class="charts"><div id="shares" class="chart"></div><div id="cities" class="chart"></div></div>
<table id="indicators"><thead><tr>{header}</tr></thead><tbody></tbody></table>
</main>
<script>window.CITY_NAMES = {json.dumps(names, ensure_ascii=False)};</script>
<script src="/static/echarts.min.js"></script>
<script src="/static/dashboard.js"></script>
</body>
</html>
"""
