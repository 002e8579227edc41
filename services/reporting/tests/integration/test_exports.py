"""Exports open back: the indicator table as XLSX and CSV, the supervision notice as XLSX."""

from __future__ import annotations

import csv
from io import BytesIO, StringIO

from openpyxl import load_workbook

from shulian_reporting import testing as t
from shulian_reporting.testing import Reporting
from shulian_reporting.testing.worked import AS_OF, CHENGDU, YIBIN, events

PARAMS: dict[str, str | int] = {"year": 2024, "as_of": AS_OF.isoformat()}


async def test_the_indicator_table_as_xlsx(reporting: Reporting) -> None:
    await t.publish(reporting, events())
    response = await reporting.client.get(
        "/v1/indicators/export.xlsx", params=PARAMS, headers=reporting.province
    )
    assert response.status_code == 200
    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["主要指标", "名录库分市州"]
    sheet = book["主要指标"]
    assert sheet["A1"].value == "四川省人力资源服务赋能产业专项行动主要指标完成情况表（2024年）"
    assert "A1:I1" in {str(r) for r in sheet.merged_cells.ranges}
    assert [c.value for c in sheet[3]][:5] == ["序号", "指标", "单位", "目标值", "完成值"]
    first = [c.value for c in sheet[4]]
    assert first[:8] == [1, "重点人力资源服务供应商名录库在库企业", "户", "≥500", 3, 0.6,
                         170.47, "滞后"]  # fmt: skip
    assert sheet["B4"].border.left.style == "thin"
    assert sheet.freeze_panes == "A4"
    cities = {row[1]: row[2] for row in book["名录库分市州"].iter_rows(min_row=4, values_only=True)}
    assert (cities["成都"], cities["宜宾"], len(cities)) == (2, 1, 21)


async def test_the_indicator_table_as_csv(reporting: Reporting) -> None:
    await t.publish(reporting, events())
    response = await reporting.client.get(
        "/v1/indicators/export.csv", params={**PARAMS, "scope": YIBIN}, headers=reporting.province
    )
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["序号", "指标", "单位"]
    assert rows[1][4] == "1"  # Yibin: s3 (s4 came later)
    assert rows[1][7] == "未设目标"


async def test_the_supervision_notice_ranks_the_21_cities(reporting: Reporting) -> None:
    await t.publish(reporting, events())
    for city, value in ((CHENGDU, 4), (YIBIN, 4)):
        body = {"indicator": "directory_suppliers", "scope_code": city, "value": value}
        await reporting.client.post("/v1/targets", json=body, headers=reporting.province)
    response = await reporting.client.get(
        "/v1/notices/supervision", params=PARAMS, headers=reporting.province
    )
    ranking = response.json()["cities"]
    assert len(ranking) == 21
    # Directory: Chengdu 2/4 = 50 %, Yibin 1/4 = 25 %; city fairs (1 each): none held, 0 %.
    # Chengdu (50 + 0) / 2 = 25 %, Yibin 12.5 %; the others 0 % on their fair; by code.
    assert [(c["city_name"], c["completion"]) for c in ranking[:3]] == [
        ("成都", 25.0),
        ("宜宾", 12.5),
        ("自贡", 0.0),
    ]
    xlsx = await reporting.client.get(
        "/v1/notices/supervision.xlsx", params=PARAMS, headers=reporting.province
    )
    sheet = load_workbook(BytesIO(xlsx.content))["调度通报"]
    assert [c.value for c in sheet[4]][:3] == [1, "成都", 25.0]
    assert sheet.max_row == 3 + 21
