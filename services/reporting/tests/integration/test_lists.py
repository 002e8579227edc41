"""Supply-demand lists and the shortage catalogue from matching's orders and talents (and the
registry's listed suppliers), against the hand-computed scenario (``testing.worked.orders``)."""

from __future__ import annotations

import csv
from io import BytesIO, StringIO
from typing import Any

from openpyxl import load_workbook

from shulian_reporting import testing as t
from shulian_reporting.testing import Reporting
from shulian_reporting.testing.worked import BATTERY, CHENGDU, SOFTWARE, YIBIN, events, orders

LIST = "/v1/lists/supply-demand"


async def _get(node: Reporting, path: str, **params: Any) -> Any:
    response = await node.client.get(path, params=params, headers=node.province)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_years_list_sets_demand_against_supply_per_city(reporting: Reporting) -> None:
    await t.publish(reporting, [*events(), *orders()])
    data = await _get(reporting, LIST, year=2024)

    assert (data["period"], data["start"], data["end"]) == ("2024年", "2024-01-01", "2024-12-31")
    lines = {(line["city_code"], line["occupation_code"]): line for line in data["lines"]}
    assert set(lines) == {(CHENGDU, SOFTWARE), (YIBIN, BATTERY)}  # o5 was placed in 2023
    chengdu = lines[(CHENGDU, SOFTWARE)]
    # o1 10 (4 accepted) + o2 6 (6 placed) = 16, 10 met; 2 talents; s1, s2 serve the industry.
    assert {k: chengdu[k] for k in ("orders", "demand", "filled", "unmet", "talents", "suppliers",
                                    "gap", "shortage_ratio")} == {
        "orders": 2, "demand": 16, "filled": 10, "unmet": 6, "talents": 2, "suppliers": 2,
        "gap": 4, "shortage_ratio": 3.0,
    }  # fmt: skip
    assert (chengdu["city_name"], chengdu["industry_name"], chengdu["occupation_name"]) == (
        "成都",
        "电子信息",
        "专业技术人员",
    )
    yibin = lines[(YIBIN, BATTERY)]
    # o3 20 (none met) + o4 5 (5 placed); 1 talent; s3 serves power batteries.
    assert (yibin["demand"], yibin["unmet"], yibin["talents"], yibin["suppliers"]) == (25, 20, 1, 1)
    assert (yibin["gap"], yibin["shortage_ratio"]) == (19, 20.0)
    assert data["totals"] == {"orders": 4, "demand": 41, "filled": 15, "unmet": 26, "gap": 23}


async def test_a_quarter_and_a_city_narrow_the_list(reporting: Reporting) -> None:
    await t.publish(reporting, orders())
    second = await _get(reporting, LIST, year=2024, quarter=2)
    assert second["period"] == "2024年第2季度"
    assert [(line["city_code"], line["demand"]) for line in second["lines"]] == [(YIBIN, 20)]
    march = await _get(reporting, LIST, year=2024, month=3)
    assert [(line["city_code"], line["demand"]) for line in march["lines"]] == [(CHENGDU, 6)]
    chengdu = await _get(reporting, LIST, year=2024, scope=CHENGDU)
    assert [line["city_code"] for line in chengdu["lines"]] == [CHENGDU]
    both = await reporting.client.get(
        LIST, params={"year": 2024, "quarter": 1, "month": 1}, headers=reporting.province
    )
    assert (both.status_code, both.json()["code"]) == (422, "invalid_period")
    chengdu_operator = reporting.auth("city_operator", CHENGDU)
    other = await reporting.client.get(
        LIST, params={"year": 2024, "scope": YIBIN}, headers=chengdu_operator
    )
    assert (other.status_code, other.json()["code"]) == (403, "scope_not_visible")


async def test_the_list_exports_open_back(reporting: Reporting) -> None:
    await t.publish(reporting, orders())
    xlsx = await reporting.client.get(
        f"{LIST}.xlsx", params={"year": 2024}, headers=reporting.province
    )
    assert xlsx.status_code == 200
    sheet = load_workbook(BytesIO(xlsx.content))["供需清单"]
    assert sheet["A1"].value == "四川省人力资源供需清单（2024年）"
    header = [c.value for c in sheet[3]]
    assert header[:6] == ["序号", "市(州)", "行业", "职业", "订单数", "需求人数"]
    assert [c.value for c in sheet[4]][1:8] == ["成都", "电子信息", "专业技术人员", 2, 16, 10, 6]
    assert [c.value for c in sheet[6]][:1] + [c.value for c in sheet[6]][4:8] == [
        "合计", 4, 41, 15, 26,
    ]  # fmt: skip
    text = (
        await reporting.client.get(f"{LIST}.csv", params={"year": 2024}, headers=reporting.province)
    ).content.decode("utf-8")
    rows = list(csv.reader(StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][11] == "供需比"
    assert rows[2][1:3] == ["宜宾", "动力电池"]


async def test_the_catalogue_ranks_unmet_demand_and_the_province_publishes_it(
    reporting: Reporting,
) -> None:
    await t.publish(reporting, orders())
    missing = await reporting.client.get("/v1/catalogues/2024", headers=reporting.province)
    assert (missing.status_code, missing.json()["code"]) == (404, "catalogue_not_published")

    draft = await _get(reporting, "/v1/catalogues/2024", draft=True)
    assert draft["published"] is False
    # Power batteries: 20 unmet, 1 talent → 20.0 ≥ 5 特别紧缺; software: 6 unmet, 2 → 3.0 紧缺.
    assert [(e["rank"], e["industry"], e["unmet"], e["shortage_ratio"], e["level_name"])
            for e in draft["entries"]] == [
        (1, "power_batteries", 20, 20.0, "特别紧缺"),
        (2, "electronic_information", 6, 3.0, "紧缺"),
    ]  # fmt: skip

    city = reporting.auth("city_operator", CHENGDU)
    refused = await reporting.client.post("/v1/catalogues/2024/publish", headers=city)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden_role")
    first = await reporting.client.post("/v1/catalogues/2024/publish", headers=reporting.province)
    assert first.status_code == 201, first.text
    assert (first.json()["edition"], first.json()["entries"]) == (1, draft["entries"])

    published = await _get(reporting, "/v1/catalogues/2024")
    assert (published["published"], published["edition"]) == (True, 1)
    [event] = await reporting.events("catalogue.published")
    assert event["data"]["year"] == 2024
    assert [e["level"] for e in event["data"]["entries"]] == ["severe", "high"]

    # More talents do not change the published edition, only the draft and the next edition.
    await t.publish(reporting, [_talent(i) for i in range(20)])
    assert (await _get(reporting, "/v1/catalogues/2024"))["entries"] == draft["entries"]
    second = await reporting.client.post("/v1/catalogues/2024/publish", headers=reporting.province)
    assert second.json()["edition"] == 2
    assert [e["industry"] for e in second.json()["entries"]] == ["electronic_information"]

    xlsx = await reporting.client.get("/v1/catalogues/2024/export.xlsx", headers=reporting.province)
    sheet = load_workbook(BytesIO(xlsx.content))["急需紧缺人才目录"]
    assert sheet["A1"].value == "四川省急需紧缺人才目录（2024年）"
    assert "第2版" in sheet["A2"].value
    assert [c.value for c in sheet[4]][:4] == [1, "电子信息", "专业技术人员", "紧缺"]


def _talent(i: int) -> Any:
    from shulian_reporting.testing import streams

    return streams.talent(f"extra{i}", city=YIBIN, occupation=BATTERY)


async def test_shortage_levels_are_data_the_province_edits(reporting: Reporting) -> None:
    await t.publish(reporting, orders())
    levels = await _get(reporting, "/v1/shortage-levels")
    assert [(level["code"], level["min_ratio"]) for level in levels] == [
        ("severe", 5.0), ("high", 2.0), ("moderate", 1.2),
    ]  # fmt: skip
    high = await reporting.client.get("/v1/shortage-levels", headers=reporting.province)
    etag = f'"{high.json()[1]["version"]}"'
    body = {"name": "紧缺", "min_ratio": 4.0}
    unconditional = await reporting.client.put(
        "/v1/shortage-levels/high", json=body, headers=reporting.province
    )
    assert (unconditional.status_code, unconditional.json()["code"]) == (
        428,
        "precondition_required",
    )
    changed = await reporting.client.put(
        "/v1/shortage-levels/high", json=body, headers={**reporting.province, "If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    draft = await _get(reporting, "/v1/catalogues/2024", draft=True)
    assert [e["level_name"] for e in draft["entries"]] == ["特别紧缺", "较紧缺"]  # 3.0 < 4.0
