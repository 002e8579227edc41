"""Annual summaries across nodes: a city node's summary is seen on every node (the province
above all) as a replica built from the summaries stream, and only its owner node writes it."""

from __future__ import annotations

from shulian_common.app import runtime_of
from shulian_common.envelope import CloudEvent
from shulian_reporting import testing as t
from shulian_reporting.handlers.rebuild import rebuild
from shulian_reporting.testing import Reporting
from shulian_reporting.testing.worked import YIBIN

from .conftest import NodeFactory

BASE = f"/v1/summaries/2026/{YIBIN}"
SECTIONS = {"工作开展情况": "全年举办对接活动5场。", "主要成效": "名录库新增3户。"}


async def test_a_city_nodes_summary_shows_on_the_province_which_cannot_write_it(
    reporting: Reporting, start_node: NodeFactory
) -> None:
    async with start_node(YIBIN) as yibin:
        city = yibin.auth("city_operator", YIBIN)
        draft = await yibin.client.put(BASE, json={"sections": SECTIONS}, headers=city)
        submitted = await yibin.client.post(
            f"{BASE}/submit", headers={**city, "If-Match": draft.headers["ETag"]}
        )
        assert submitted.status_code == 200, submitted.text
        await yibin.drain(reporting)

        seen = await reporting.client.get(BASE, headers=reporting.province)
        listed = await reporting.client.get(
            "/v1/summaries", params={"year": 2026}, headers=reporting.province
        )
        assert seen.status_code == 200, seen.text
        body = seen.json()
        assert (body["owner_node"], body["status"], body["version"]) == (YIBIN, "submitted", 2)
        assert body["id"] == submitted.json()["id"]
        assert body["sections"]["工作开展情况"] == "全年举办对接活动5场。"
        assert body["sections"]["存在的问题"] == ""
        assert body["submitted_at"] == submitted.json()["submitted_at"]
        assert seen.headers["ETag"] == submitted.headers["ETag"]
        row = next(r for r in listed.json() if r["city_code"] == YIBIN)
        assert (row["status"], row["status_label"], row["owner_node"]) == (
            "submitted",
            "已报送",
            YIBIN,
        )

        # The same operator on the province node: a second, different copy is refused.
        on_province = reporting.auth("city_operator", YIBIN)
        rewrite = await reporting.client.put(
            BASE,
            json={"sections": {"工作开展情况": "另一份"}},
            headers={**on_province, "If-Match": seen.headers["ETag"]},
        )
        first_write = await reporting.client.put(
            BASE, json={"sections": {"工作开展情况": "另一份"}}, headers=on_province
        )
        resubmit = await reporting.client.post(
            f"{BASE}/submit", headers={**on_province, "If-Match": seen.headers["ETag"]}
        )
        for refused in (rewrite, first_write, resubmit):
            assert refused.status_code == 409, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert (refused.json()["code"], refused.json()["owner_node"]) == (
                "not_owner_node",
                YIBIN,
            )
        after = await reporting.client.get(BASE, headers=reporting.province)
        assert after.json() == body
        assert [e for e in await reporting.events() if e["type"].startswith("summary.")] == []


async def test_a_draft_started_on_the_city_node_keeps_the_province_from_starting_another(
    reporting: Reporting, start_node: NodeFactory
) -> None:
    async with start_node(YIBIN) as yibin:
        city = yibin.auth("city_operator", YIBIN)
        draft = await yibin.client.put(BASE, json={"sections": SECTIONS}, headers=city)
        assert draft.status_code == 200, draft.text
        await yibin.drain(reporting)

        # The province knows the draft and who holds it, not its narrative (a draft stays home).
        seen = await reporting.client.get(BASE, headers=reporting.province)
        assert seen.status_code == 200, seen.text
        assert (seen.json()["owner_node"], seen.json()["status"]) == (YIBIN, "draft")
        assert seen.json()["id"] == draft.json()["id"]
        assert set(seen.json()["sections"].values()) == {""}
        started = [e for e in await yibin.events() if e["type"] == "summary.started.v1"]
        assert len(started) == 1
        assert started[0]["data"]["sections"] is None

        second = await reporting.client.put(
            BASE,
            json={"sections": {"工作开展情况": "另一份"}},
            headers=reporting.auth("city_operator", YIBIN),
        )
        assert second.status_code == 409, second.text
        assert (second.json()["code"], second.json()["owner_node"]) == ("not_owner_node", YIBIN)

        # Edits stay on the city node; the submission brings the narrative to every node.
        edited = await yibin.client.put(
            BASE,
            json={"sections": {**SECTIONS, "存在的问题": "人才供给不足。"}},
            headers={**city, "If-Match": draft.headers["ETag"]},
        )
        assert len([e for e in await yibin.events() if e["type"] == "summary.started.v1"]) == 1
        await yibin.client.post(
            f"{BASE}/submit", headers={**city, "If-Match": edited.headers["ETag"]}
        )
        await yibin.drain(reporting)
        replica = await reporting.client.get(BASE, headers=reporting.province)
        assert replica.json()["status"] == "submitted"
        assert replica.json()["sections"]["存在的问题"] == "人才供给不足。"


async def test_replicas_follow_newer_versions_and_replays_apply_once(
    reporting: Reporting, start_node: NodeFactory
) -> None:
    async with start_node(YIBIN) as yibin:
        city = yibin.auth("city_operator", YIBIN)
        draft = await yibin.client.put(BASE, json={"sections": SECTIONS}, headers=city)
        submitted = await yibin.client.post(
            f"{BASE}/submit", headers={**city, "If-Match": draft.headers["ETag"]}
        )
        await yibin.drain(reporting)
        # Decided on the owner node (the province's own admin, single-node style, there).
        returned = await yibin.client.post(
            f"{BASE}/return",
            json={"comment": "请补充存在的问题"},
            headers={**yibin.province, "If-Match": submitted.headers["ETag"]},
        )
        assert returned.status_code == 200, returned.text
        await yibin.drain(reporting)
        seen = (await reporting.client.get(BASE, headers=reporting.province)).json()
        assert (seen["status"], seen["comment"], seen["version"]) == (
            "returned",
            "请补充存在的问题",
            3,
        )

        # Yibin's three snapshots (started, submitted, returned) delivered again as new events,
        # newest first: each is taken (none dead-lettered) and none changes the replica, which
        # keeps version 3 and its narrative.
        consumer = runtime_of(reporting.app).consumers
        assert consumer is not None
        before = consumer.stats()
        replayed = list(reversed(await _snapshots(yibin)))
        assert len(replayed) == 3
        await t.publish(reporting, replayed)
        after = consumer.stats()
        again = (await reporting.client.get(BASE, headers=reporting.province)).json()
        assert again == seen
        assert (after["processed"] - before["processed"], after["dead_lettered"]) == (3, 0)


async def _snapshots(node: Reporting) -> list[tuple[str, CloudEvent]]:
    """The summary events ``node`` published, as fresh events (new ids) from that node."""
    return [
        (
            e["topic"],
            CloudEvent(
                source=f"/nodes/{node.settings.node_id}/reporting",
                type=f"cn.sichuan.shulian.reporting.{e['type']}",
                partitionkey=e["key"],
                subject=e["key"],
                data=e["data"],
            ),
        )
        for e in await node.events()
        if e["type"].startswith("summary.")
    ]


async def _submitted_on_yibin(reporting: Reporting, yibin: Reporting) -> str:
    """Yibin writes and submits its summary on its node; the province's replica follows. The
    replica's ETag."""
    city = yibin.auth("city_operator", YIBIN)
    draft = await yibin.client.put(BASE, json={"sections": SECTIONS}, headers=city)
    await yibin.client.post(f"{BASE}/submit", headers={**city, "If-Match": draft.headers["ETag"]})
    await yibin.drain(reporting)
    seen = await reporting.client.get(BASE, headers=reporting.province)
    assert seen.json()["status"] == "submitted"
    return seen.headers["ETag"]


async def test_the_province_approves_a_city_nodes_summary_which_that_node_decides(
    reporting: Reporting, start_node: NodeFactory
) -> None:
    async with start_node(YIBIN) as yibin:
        etag = await _submitted_on_yibin(reporting, yibin)
        no_comment = await reporting.client.post(
            f"{BASE}/return", json={}, headers={**reporting.province, "If-Match": etag}
        )
        asked = await reporting.client.post(
            f"{BASE}/approve",
            json={"comment": "同意"},
            headers={**reporting.province, "If-Match": etag},
        )
        assert (no_comment.status_code, no_comment.json()["code"]) == (422, "comment_required")
        assert asked.status_code == 202, asked.text
        assert asked.headers["Location"] == f"/v1/summary-decisions/{asked.json()['id']}"
        assert (asked.json()["status"], asked.json()["owner_node"]) == ("pending", YIBIN)
        await reporting.drain(yibin)
        await reporting.drain(yibin)

        followed = await reporting.client.get(asked.headers["Location"], headers=reporting.province)
        on_yibin = await yibin.client.get(BASE, headers=yibin.province)
        replica = await reporting.client.get(BASE, headers=reporting.province)
        assert (followed.json()["status"], followed.json()["outcome"]) == ("decided", "accepted")
        assert followed.json()["result"] == {"status": "approved", "version": 3}
        assert (on_yibin.json()["status"], on_yibin.json()["comment"]) == ("approved", "同意")
        assert replica.json() == on_yibin.json()
        steps = [e["type"] for e in await yibin.events() if e["type"].startswith("summary")]
        assert steps == [
            "summary.started.v1",
            "summary.submitted.v1",
            "summary.approved.v1",
            "summary_decision.decided.v1",
        ]

        # A rebuild of Yibin's projections (both ways) replays no decision request: nothing is
        # decided or published again.
        published = await yibin.events()
        for bulk in (True, False):
            await rebuild(yibin.settings, batch_size=100, bulk=bulk)
        assert await yibin.events() == published
        assert (await yibin.client.get(BASE, headers=yibin.province)).json() == on_yibin.json()


async def test_the_owner_rejects_a_decision_on_a_version_no_longer_current(
    reporting: Reporting, start_node: NodeFactory
) -> None:
    async with start_node(YIBIN) as yibin:
        etag = await _submitted_on_yibin(reporting, yibin)
        asked = await reporting.client.post(
            f"{BASE}/return",
            json={"comment": "请补充"},
            headers={**reporting.province, "If-Match": etag},
        )
        assert asked.status_code == 202, asked.text
        # Meanwhile the summary is approved on Yibin's node itself: the request is stale.
        approved = await yibin.client.post(
            f"{BASE}/approve", json={}, headers={**yibin.province, "If-Match": etag}
        )
        assert approved.status_code == 200, approved.text
        await reporting.drain(yibin)
        await reporting.drain(yibin)

        followed = await reporting.client.get(asked.headers["Location"], headers=reporting.province)
        on_yibin = await yibin.client.get(BASE, headers=yibin.province)
        replica = await reporting.client.get(BASE, headers=reporting.province)
        assert (followed.json()["outcome"], followed.json()["reason"]) == (
            "rejected",
            "precondition_failed",
        )
        assert (on_yibin.json()["status"], on_yibin.json()["version"]) == ("approved", 3)
        assert replica.json() == on_yibin.json()
