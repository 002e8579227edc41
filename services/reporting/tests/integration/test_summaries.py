"""The annual work summary: the city writes and submits by 12-20, the province approves or
returns it with comments; each step is an event; DOCX opens back with python-docx."""

from __future__ import annotations

from io import BytesIO

from docx import Document

from shulian_reporting import testing as t
from shulian_reporting.testing import Reporting
from shulian_reporting.testing.worked import CHENGDU, YIBIN, events

BASE = f"/v1/summaries/2024/{CHENGDU}"
SECTIONS = {"工作开展情况": "全年举办对接活动3场。", "主要成效": "名录库新增2户。"}


async def test_submit_return_resubmit_approve(reporting: Reporting) -> None:
    city = reporting.auth("city_operator", CHENGDU)
    draft = await reporting.client.put(BASE, json={"sections": SECTIONS}, headers=city)
    assert draft.status_code == 200, draft.text
    assert draft.json()["status"] == "draft"

    edit_without = await reporting.client.put(BASE, json={"sections": SECTIONS}, headers=city)
    assert edit_without.status_code == 428

    submitted = await reporting.client.post(
        f"{BASE}/submit", headers={**city, "If-Match": draft.headers["ETag"]}
    )
    assert submitted.json()["status"] == "submitted"
    no_comment = await reporting.client.post(
        f"{BASE}/return",
        json={},
        headers={**reporting.province, "If-Match": submitted.headers["ETag"]},
    )
    assert (no_comment.status_code, no_comment.json()["code"]) == (422, "comment_required")
    returned = await reporting.client.post(
        f"{BASE}/return",
        json={"comment": "请补充名录库入库情况"},
        headers={**reporting.province, "If-Match": submitted.headers["ETag"]},
    )
    assert (returned.json()["status"], returned.json()["comment"]) == (
        "returned",
        "请补充名录库入库情况",
    )
    approve_returned = await reporting.client.post(
        f"{BASE}/approve",
        json={},
        headers={**reporting.province, "If-Match": returned.headers["ETag"]},
    )
    assert (approve_returned.status_code, approve_returned.json()["code"]) == (
        409,
        "illegal_summary_step",
    )
    again = await reporting.client.post(
        f"{BASE}/submit", headers={**city, "If-Match": returned.headers["ETag"]}
    )
    approved = await reporting.client.post(
        f"{BASE}/approve",
        json={"comment": "同意"},
        headers={**reporting.province, "If-Match": again.headers["ETag"]},
    )
    assert approved.json()["status"] == "approved"

    steps = [e["type"] for e in await reporting.events() if e["type"].startswith("summary.")]
    assert steps == [
        "summary.started.v1",  # the first write only: other nodes learn who holds it
        "summary.submitted.v1",
        "summary.returned.v1",
        "summary.submitted.v1",
        "summary.approved.v1",
    ]
    event = (await reporting.events("summary.approved"))[0]["data"]
    assert (event["city_code"], event["year"], event["status"]) == (CHENGDU, 2024, "approved")


async def test_only_the_city_writes_its_summary_and_only_the_province_decides(
    reporting: Reporting,
) -> None:
    yibin = reporting.auth("city_operator", YIBIN)
    other = await reporting.client.put(BASE, json={"sections": SECTIONS}, headers=yibin)
    province = await reporting.client.put(
        BASE, json={"sections": SECTIONS}, headers=reporting.province
    )
    bad = await reporting.client.put(
        BASE, json={"sections": {"闲话": "x"}}, headers=reporting.auth("city_operator", CHENGDU)
    )
    assert (other.status_code, other.json()["code"]) == (403, "not_city_of_summary")
    assert province.status_code == 403
    assert (bad.status_code, bad.json()["code"]) == (422, "unknown_section")
    city = reporting.auth("city_operator", CHENGDU)
    draft = await reporting.client.put(BASE, json={"sections": SECTIONS}, headers=city)
    await reporting.client.post(
        f"{BASE}/submit", headers={**city, "If-Match": draft.headers["ETag"]}
    )
    by_city = await reporting.client.post(
        f"{BASE}/approve", json={}, headers={**city, "If-Match": '"2"'}
    )
    assert (by_city.status_code, by_city.json()["code"]) == (403, "forbidden_role")


async def test_overdue_after_12_20_and_late_when_submitted_after(reporting: Reporting) -> None:
    listing = await reporting.client.get(
        "/v1/summaries", params={"year": 2024, "as_of": "2024-12-20"}, headers=reporting.province
    )
    assert len(listing.json()) == 21
    assert not any(row["overdue"] for row in listing.json())
    late = await reporting.client.get(
        "/v1/summaries", params={"year": 2024, "as_of": "2024-12-21"}, headers=reporting.province
    )
    assert all(row["overdue"] and row["status_label"] == "未填报" for row in late.json())

    # A summary for a past year submitted now is late (today is after 2023-12-20).
    city = reporting.auth("city_operator", CHENGDU)
    draft = await reporting.client.put(
        f"/v1/summaries/2023/{CHENGDU}", json={"sections": SECTIONS}, headers=city
    )
    submitted = await reporting.client.post(
        f"/v1/summaries/2023/{CHENGDU}/submit",
        headers={**city, "If-Match": draft.headers["ETag"]},
    )
    assert (submitted.json()["late"], submitted.json()["overdue"]) == (True, False)
    event = (await reporting.events("summary.submitted"))[0]["data"]
    assert event["late"] is True
    mine = await reporting.client.get("/v1/summaries", params={"year": 2023}, headers=city)
    assert [row["city_code"] for row in mine.json()] == [CHENGDU]


async def test_the_summary_downloads_as_docx_with_the_citys_figures(reporting: Reporting) -> None:
    await t.publish(reporting, events())
    city = reporting.auth("city_operator", CHENGDU)
    await reporting.client.put(BASE, json={"sections": SECTIONS}, headers=city)
    response = await reporting.client.get(
        f"{BASE}/summary.docx", params={"as_of": "2024-06-30"}, headers=city
    )
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["content-disposition"]

    document = Document(BytesIO(response.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "成都2024年度人力资源服务赋能产业专项行动工作总结" in text
    assert "全年举办对接活动3场。" in text
    assert "三、主要成效" in text
    table = document.tables[0]
    header = [cell.text for cell in table.rows[0].cells]
    assert header[:5] == ["序号", "指标", "单位", "目标值", "完成值"]
    directory = [cell.text for cell in table.rows[1].cells]
    assert directory[1] == "重点人力资源服务供应商名录库在库企业"
    assert directory[4] == "2"  # Chengdu's two listed suppliers
    activities = next(row for row in table.rows if "市(州)对接协同专场活动" in row.cells[1].text)
    assert (activities.cells[4].text, activities.cells[7].text) == ("0", "滞后")
