"""One provincial directory on every node: three nodes on one bus, each with its own database.

A supplier registered on one node is served by id and found by search on every node, with its
``owner_node`` and a masked contact; only its owner node writes it. A USCC is unique across the
province: refused when already known, listed as a conflict when two nodes register it at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from shulian_common.auth import Role
from shulian_common.reference import PROVINCE_CODE
from shulian_common.testing.reliability import wait_until
from shulian_registry.testing import Registry, register, registry_settings_for, running
from shulian_registry.testing import supplier_body as body_of

CHENGDU, YIBIN = "510100", "511500"


@asynccontextmanager
async def three_nodes(
    urls: tuple[str, str, str], tmp_path: Path, *, drained: bool = True
) -> AsyncIterator[tuple[Registry, Registry, Registry]]:
    """The province, Chengdu and Yibin nodes; with ``drained`` events move only on drain."""
    province_url, chengdu_url, yibin_url = urls
    async with (
        running(registry_settings_for(province_url, tmp_path, PROVINCE_CODE)) as province,
        running(registry_settings_for(chengdu_url, tmp_path, CHENGDU)) as chengdu,
        running(registry_settings_for(yibin_url, tmp_path, YIBIN)) as yibin,
    ):
        if drained:
            for node in (province, chengdu, yibin):
                await node.stop_workers()
        yield province, chengdu, yibin


def _operator(node: Registry) -> dict[str, str]:
    code = node.settings.node_id
    role = Role.PROVINCE_ADMIN if code == PROVINCE_CODE else Role.CITY_OPERATOR
    return node.auth(role, code)


async def _search(node: Registry, /, **params: Any) -> list[dict[str, Any]]:
    response = await node.client.get(
        "/v1/suppliers", params={**params, "limit": 100}, headers=node.province
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _ids(node: Registry, /, **params: Any) -> list[str]:
    return [item["id"] for item in await _search(node, **params)]


async def test_a_supplier_of_yibin_is_served_and_searched_everywhere_and_written_only_there(
    database_url: str, other_database_url: str, third_database_url: str, tmp_path: Path
) -> None:
    urls = (database_url, other_database_url, third_database_url)
    async with three_nodes(urls, tmp_path) as (province, chengdu, yibin):
        local = await register(chengdu, body_of("510104"), headers=_operator(chengdu))
        body = body_of(
            "511502", name="宜宾翠屏蜀才人力资源有限公司", industries=["power_batteries"]
        )
        supplier = await register(yibin, body, headers=_operator(yibin))
        sid = supplier["id"]
        before = await province.client.get(f"/v1/suppliers/{sid}", headers=province.province)
        await yibin.drain(province, chengdu)

        reads = {
            node.settings.node_id: await node.client.get(
                f"/v1/suppliers/{sid}", headers=node.province
            )
            for node in (province, chengdu)
        }
        found = {
            node.settings.node_id: (
                await _ids(node, q="蜀才"),
                await _ids(node, q="宜宾 动力电池"),
                await _ids(node, node=YIBIN),
                await _ids(node, city=YIBIN, status="not_applied"),
                await _ids(node),
            )
            for node in (province, chengdu)
        }
        by_chengdu_node = await _ids(chengdu, node=CHENGDU)
        patch = await province.client.patch(
            f"/v1/suppliers/{sid}",
            json={"name": "改名人力资源有限公司"},
            headers={**province.province, "If-Match": '"1"'},
        )
        apply = await chengdu.client.post(
            f"/v1/suppliers/{sid}/listing",
            json={"industries": ["power_batteries"], "fields": ["recruitment"]},
            headers=chengdu.province,
        )
        unknown = await chengdu.client.patch(
            f"/v1/suppliers/{'0' * 32}",
            json={"name": "无此机构"},
            headers={**chengdu.province, "If-Match": '"1"'},
        )
        renamed = await yibin.client.patch(
            f"/v1/suppliers/{sid}",
            json={"name": "宜宾翠屏锦程人力资源有限公司"},
            headers={**_operator(yibin), "If-Match": '"1"'},
        )
        await yibin.drain(province, chengdu)
        after_rename = await province.client.get(f"/v1/suppliers/{sid}", headers=province.province)
        old_name, new_name = await _ids(chengdu, q="蜀才"), await _ids(chengdu, q="锦程")
        chengdu_sees_local = await chengdu.client.get(
            f"/v1/suppliers/{local['id']}", headers=_operator(chengdu)
        )

    assert before.status_code == 404
    for node_id, read in reads.items():
        assert read.status_code == 200, (node_id, read.text)
        view = read.json()
        assert (view["owner_node"], view["name"], view["uscc"]) == (
            YIBIN,
            body["name"],
            body["uscc"],
        )
        assert (view["county_code"], view["county_name"], view["industries"]) == (
            "511502",
            "翠屏区",
            ["power_batteries"],
        )
        # Events carry no contact, so a replica shows a masked, empty one even to the province.
        assert view["contact"] == {"name": None, "phone": None, "email": None, "masked": True}
        assert read.headers["ETag"] == '"1"'
    for node_id, (by_name, by_words, by_node, by_filters, everything) in found.items():
        assert by_name == [sid], node_id
        assert by_words == [sid], node_id
        assert by_node == [sid], node_id
        assert by_filters == [sid], node_id
        assert sorted(everything) == sorted([local["id"], sid]), node_id
    assert by_chengdu_node == [local["id"]]
    for refused in (patch, apply):
        assert refused.status_code == 403, refused.text
        assert (refused.json()["code"], refused.json()["owner_node"]) == ("not_owner_node", YIBIN)
    assert unknown.status_code == 404
    assert renamed.status_code == 200, renamed.text
    assert after_rename.json()["name"] == "宜宾翠屏锦程人力资源有限公司"
    assert after_rename.json()["version"] == 2
    assert (old_name, new_name) == ([], [sid])  # the replica's search terms follow the owner
    assert chengdu_sees_local.json()["contact"]["masked"] is False  # own suppliers unchanged


async def test_a_registration_on_yibin_reaches_the_other_nodes_within_a_second(
    database_url: str, other_database_url: str, third_database_url: str, tmp_path: Path
) -> None:
    # The production delivery (background relay and consumers), no drain.
    urls = (database_url, other_database_url, third_database_url)
    async with three_nodes(urls, tmp_path, drained=False) as (province, chengdu, yibin):
        supplier = await register(yibin, body_of("511502"), headers=_operator(yibin))
        started = time.monotonic()

        async def everywhere() -> bool:
            for node in (province, chengdu):
                read = await node.client.get(
                    f"/v1/suppliers/{supplier['id']}", headers=node.province
                )
                if read.status_code != 200 or supplier["id"] not in await _ids(node, node=YIBIN):
                    return False
            return True

        await wait_until(everywhere, timeout=1.0, message="the supplier on 510000 and 510100")
        elapsed = time.monotonic() - started

    assert elapsed < 1.0


async def test_a_uscc_known_from_another_node_is_refused_and_nothing_is_written(
    database_url: str, other_database_url: str, third_database_url: str, tmp_path: Path
) -> None:
    urls = (database_url, other_database_url, third_database_url)
    async with three_nodes(urls, tmp_path) as (province, chengdu, yibin):
        body = body_of("511502")
        first = await register(yibin, body, headers=_operator(yibin))
        await yibin.drain(province, chengdu)
        again = await chengdu.client.post(
            "/v1/suppliers", json={**body, "county_code": "510104"}, headers=_operator(chengdu)
        )
        twice_here = await yibin.client.post("/v1/suppliers", json=body, headers=_operator(yibin))
        chengdu_rows = await chengdu.count("suppliers")
        chengdu_events = await chengdu.events()

    assert again.status_code == 409, again.text
    problem = again.json()
    assert (problem["code"], problem["owner_node"], problem["supplier_id"]) == (
        "duplicate_uscc",
        YIBIN,
        first["id"],
    )
    assert (twice_here.status_code, twice_here.json()["code"]) == (409, "duplicate_uscc")
    assert (chengdu_rows, chengdu_events) == (0, [])


async def test_a_uscc_registered_on_two_nodes_at_once_is_listed_as_a_conflict_everywhere(
    database_url: str, other_database_url: str, third_database_url: str, tmp_path: Path
) -> None:
    urls = (database_url, other_database_url, third_database_url)
    async with three_nodes(urls, tmp_path) as (province, chengdu, yibin):
        body = body_of("511502")
        # Neither node has heard of the other's registration: both succeed locally.
        kept = await register(yibin, body, headers=_operator(yibin))
        duplicate = await register(
            chengdu, {**body, "county_code": "510104"}, headers=_operator(chengdu)
        )
        await yibin.drain(province, chengdu)
        await yibin.drain(province, chengdu)  # redeliveries and replays list nothing twice
        listed = {}
        for node in (province, chengdu, yibin):
            response = await node.client.get("/v1/suppliers/conflicts", headers=_operator(node))
            assert response.status_code == 200, response.text
            listed[node.settings.node_id] = response.json()["items"]
        partner = await province.client.get(
            "/v1/suppliers/conflicts", headers=province.auth(Role.PARTNER)
        )
        raised = {
            node.settings.node_id: await node.events("supplier.uscc_conflict_detected")
            for node in (province, chengdu, yibin)
        }
        both = await _ids(province, q=body["uscc"])

    for node_id, items in listed.items():
        [conflict] = items
        assert conflict["uscc"] == body["uscc"], node_id
        # Yibin registered first: it keeps the USCC, Chengdu's record is the duplicate.
        assert (conflict["first_id"], conflict["first_owner_node"]) == (kept["id"], YIBIN)
        assert (conflict["second_id"], conflict["second_owner_node"]) == (duplicate["id"], CHENGDU)
    assert partner.status_code == 403
    # Only the duplicate's owner publishes the conflict, once.
    assert (raised[PROVINCE_CODE], raised[YIBIN]) == ([], [])
    [event] = raised[CHENGDU]
    assert (event["key"], event["data"]["owner_node"]) == (duplicate["id"], CHENGDU)
    assert (event["data"]["kept_id"], event["data"]["kept_owner_node"]) == (kept["id"], YIBIN)
    assert sorted(both) == sorted([kept["id"], duplicate["id"]])  # flagged, not hidden
