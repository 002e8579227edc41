"""``/v1/subscriptions`` keeps the kit's HTTP conventions: ``Idempotency-Key`` on create (a retry
answers the same subscription, another body with the key is 422), ``ETag`` on every answer, and
``If-Match`` on change and delete (428 without, 412 when stale; nothing changes either way)."""

from __future__ import annotations

from shulian_common.settings import Settings
from shulian_common.testing.node import ServiceNode

from .conftest import partner

HOOK = "https://partner.example.cn/hooks"


async def test_a_retried_create_with_its_key_answers_the_same_subscription(
    node: ServiceNode[Settings],
) -> None:
    key = {**partner(node), "Idempotency-Key": "create-1"}
    first = await node.client.post("/v1/subscriptions", json={"url": HOOK}, headers=key)
    again = await node.client.post("/v1/subscriptions", json={"url": HOOK}, headers=key)
    other = await node.client.post(
        "/v1/subscriptions", json={"url": HOOK, "payload": "thin"}, headers=key
    )
    someone_else = await node.client.post(
        "/v1/subscriptions",
        json={"url": HOOK},
        headers={**partner(node, "hr-firm"), "Idempotency-Key": "create-1"},
    )
    listed = await node.client.get("/v1/subscriptions", headers=partner(node))

    assert (first.status_code, again.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["secret"] == first.json()["secret"]  # the lost answer, recovered
    assert again.headers["Location"] == first.headers["Location"]
    assert first.headers["ETag"] == '"1"'
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    assert someone_else.status_code == 201  # keys are scoped to their partner
    assert someone_else.json()["id"] != first.json()["id"]
    assert [s["id"] for s in listed.json()["items"]] == [first.json()["id"]]


async def test_changes_and_deletes_need_the_current_etag(node: ServiceNode[Settings]) -> None:
    me = partner(node)
    created = await node.client.post("/v1/subscriptions", json={"url": HOOK}, headers=me)
    path = created.headers["Location"]
    read = await node.client.get(path, headers=me)

    blind = await node.client.patch(path, json={"payload": "thin"}, headers=me)
    changed = await node.client.patch(
        path, json={"payload": "thin"}, headers={**me, "If-Match": read.headers["ETag"]}
    )
    stale = await node.client.patch(
        path, json={"url": "https://elsewhere.example.cn/h"}, headers={**me, "If-Match": '"1"'}
    )
    rotated = await node.client.post(f"{path}/secret", headers=me)
    blind_delete = await node.client.delete(path, headers=me)
    stale_delete = await node.client.delete(path, headers={**me, "If-Match": '"2"'})
    after = await node.client.get(path, headers=me)
    deleted = await node.client.delete(path, headers={**me, "If-Match": rotated.headers["ETag"]})
    gone = await node.client.get(path, headers=me)

    assert read.headers["ETag"] == '"1"'
    assert (blind.status_code, blind.json()["code"]) == (428, "precondition_required")
    assert (changed.status_code, changed.headers["ETag"]) == (200, '"2"')
    assert changed.json()["payload"] == "thin"
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    assert stale.headers["ETag"] == '"2"'
    assert rotated.headers["ETag"] == '"3"'
    assert blind_delete.status_code == 428
    assert stale_delete.status_code == 412
    assert (after.json()["url"], after.json()["version"]) == (
        HOOK,
        3,
    )  # the refusals changed nothing
    assert deleted.status_code == 204
    assert gone.status_code == 404
