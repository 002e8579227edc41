"""``/v1/subscriptions`` keeps the kit's HTTP conventions: ``Idempotency-Key`` on create (a retry
answers the same subscription, another body with the key is 422), ``ETag`` on every answer, and
``If-Match`` on change and delete (428 without, 412 when stale; nothing changes either way); a
secret rotation takes an optional ``If-Match`` and an ``Idempotency-Key`` (a retry answers the same
secret rather than rotating out the one the partner holds)."""

from __future__ import annotations

from partner.receiver import Receiver, serving

from shulian_common.settings import Settings
from shulian_common.testing.node import ServiceNode
from shulian_common.testing.reliability import wait_until

from .conftest import partner, write_notes

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


async def test_a_retried_rotation_answers_the_same_secret_and_keeps_the_overlap(
    node: ServiceNode[Settings],
) -> None:
    me = partner(node)
    receiver = Receiver(secrets=[])
    async with serving(receiver) as url:
        created = await node.client.post("/v1/subscriptions", json={"url": url}, headers=me)
        path = created.headers["Location"]
        receiver.secrets = [created.json()["secret"]]  # the partner keeps the first secret
        key = {**me, "Idempotency-Key": "rotate-1"}
        first = await node.client.post(f"{path}/secret", headers=key)
        again = await node.client.post(f"{path}/secret", headers=key)  # its answer was lost
        [event_id] = await write_notes(node, 1)
        await wait_until(lambda: len(receiver.events) == 1, message="the delivery")
        read = await node.client.get(path, headers=me)

    assert (first.status_code, again.status_code) == (200, 200)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()  # the same new secret, not a third one
    assert first.headers["ETag"] == again.headers["ETag"] == read.headers["ETag"] == '"2"'
    # The secret the partner still holds signs during the overlap: rotated once, not twice.
    assert [p["id"] for p in receiver.events.values()] == [event_id]
    assert receiver.rejected == 0


async def test_a_rotation_checks_if_match_and_its_key(node: ServiceNode[Settings]) -> None:
    me = partner(node)
    created = await node.client.post("/v1/subscriptions", json={"url": HOOK}, headers=me)
    other = await node.client.post("/v1/subscriptions", json={"url": HOOK}, headers=me)
    path = created.headers["Location"]

    stale = await node.client.post(f"{path}/secret", headers={**me, "If-Match": '"7"'})
    current = await node.client.post(f"{path}/secret", headers={**me, "If-Match": '"1"'})
    keyed = await node.client.post(f"{path}/secret", headers={**me, "Idempotency-Key": "k"})
    elsewhere = await node.client.post(
        f"{other.headers['Location']}/secret", headers={**me, "Idempotency-Key": "k"}
    )
    later = await node.client.post(f"{path}/secret", headers=me)
    superseded = await node.client.post(f"{path}/secret", headers={**me, "Idempotency-Key": "k"})
    read = await node.client.get(path, headers=me)

    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    assert current.headers["ETag"] == '"2"'
    assert keyed.headers["ETag"] == '"3"'
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (422, "idempotency_key_reused")
    assert later.headers["ETag"] == '"4"'
    assert (superseded.status_code, superseded.json()["code"]) == (409, "secret_superseded")
    assert read.json()["version"] == 4  # the refusals rotated nothing
