"""Signed webhooks end to end: the example receiver (a real HTTP server on loopback) verifies every
delivery, gets every event at least once, sees the retry schedule after 500s, and is not held up
by an endpoint that hangs; a 410 disables its subscription; the log and redelivery work."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kit_example.main import create_app
from partner.receiver import Receiver, Responder
from partner.receiver import serving as endpoint
from sqlalchemy import select, text

from shulian_common.db import create_engine
from shulian_common.messaging import partner_deliveries
from shulian_common.settings import Settings
from shulian_common.testing.node import ServiceNode, run_node
from shulian_common.testing.partners import subscribe as subscribe_as
from shulian_common.testing.reliability import wait_until

from .conftest import FAST_WEBHOOKS, example_settings, partner, write_notes

FAILING_ATTEMPTS = 2  # the flaky endpoint answers 500 to the first two attempts of each message


async def subscribe(
    node: ServiceNode[Settings], url: str, who: str = "county-platform", **fields: Any
) -> dict[str, Any]:
    return await subscribe_as(node, url, sub=f"partner:{who}", **fields)


def fail_first(attempts: int) -> Responder:
    def respond(_msg_id: str, attempt: int) -> int:
        return 500 if attempt <= attempts else 204

    return respond


def gone(_msg_id: str, _attempt: int) -> int:
    return 410


async def log_of(node: ServiceNode[Settings], sub_id: str, who: str = "county-platform") -> Any:
    response = await node.client.get(
        f"/v1/subscriptions/{sub_id}/deliveries", params={"limit": 100}, headers=partner(node, who)
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _within_schedule(gaps: list[float]) -> Callable[[int], bool]:
    base, factor = FAST_WEBHOOKS["webhook_retry_base_s"], FAST_WEBHOOKS["webhook_retry_factor"]
    jitter = FAST_WEBHOOKS["webhook_jitter"]

    def ok(n: int) -> bool:
        expected = base * factor**n
        # Never before the schedule (minus jitter): 0.27 s then 0.54 s at least, which a constant
        # or missing back-off fails. Late by a few polls and the batch's other requests at most
        # (generous: the test machines are shared and loaded).
        return expected * (1 - jitter) - 0.02 <= gaps[n] <= expected * (1 + jitter) + 3.0

    return ok


async def test_signed_deliveries_retry_disable_and_do_not_wait_for_each_other(
    node: ServiceNode[Settings],
) -> None:
    flaky = Receiver(secrets=[], respond=fail_first(FAILING_ATTEMPTS))
    hanging = Receiver(secrets=[], hang=True)
    leaving = Receiver(secrets=[], respond=gone)
    async with (
        endpoint(flaky) as flaky_url,
        endpoint(hanging) as hang_url,
        endpoint(leaving) as gone_url,
    ):
        subs = {
            name: await subscribe(node, url)
            for name, url in (("flaky", flaky_url), ("hang", hang_url), ("gone", gone_url))
        }
        flaky.secrets = [subs["flaky"]["secret"]]
        hanging.secrets = [subs["hang"]["secret"]]
        leaving.secrets = [subs["gone"]["secret"]]
        event_ids = await write_notes(node, 12, per_commit=3)

        await wait_until(lambda: len(flaky.events) == 12, timeout=20, message="all delivered")

        async def logged() -> bool:  # the dispatcher records after the endpoint answered
            log = await log_of(node, subs["flaky"]["id"])
            return len(log) == 12 and all(d["status"] == "delivered" for d in log)

        await wait_until(logged)
        gone_sub = await node.client.get(
            f"/v1/subscriptions/{subs['gone']['id']}", headers=partner(node)
        )
        gone_log = await log_of(node, subs["gone"]["id"])
        hang_log = await log_of(node, subs["hang"]["id"])
        flaky_log = await log_of(node, subs["flaky"]["id"])

    # Every event reached the flaky endpoint, verified, once after dedupe by webhook-id.
    assert flaky.rejected == 0
    assert sorted(p["id"] for p in flaky.events.values()) == sorted(event_ids)
    assert all(len(times) == FAILING_ATTEMPTS + 1 for times in flaky.arrivals.values())
    # The retry schedule: 0.3 s then 0.6 s (base * factor**n, ± 10 % jitter).
    for times in flaky.arrivals.values():
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(map(_within_schedule(gaps), range(len(gaps)))), gaps
    # The hanging endpoint's attempts timed out. That it holds up no other endpoint is proven
    # without a clock in test_webhook_shared_host.py (endpoints that never answer beside one
    # that does, on the same host: the one that answers gets everything).
    assert any(d["last_error"] == "timeout" for d in hang_log)
    # 410 disabled its subscription after one attempt; nothing more was tried.
    assert gone_sub.json()["status"] == "disabled"
    assert len(leaving.arrivals) == 1
    assert [(d["status"], d["last_status_code"]) for d in gone_log if d["attempts"]] == [
        ("failed", 410)
    ]
    # The delivery log: each flaky delivery took three attempts and was delivered.
    assert {(d["status"], d["attempts"], d["last_status_code"]) for d in flaky_log} == {
        ("delivered", FAILING_ATTEMPTS + 1, 204)
    }
    assert all(d["last_latency_ms"] is not None for d in flaky_log)


async def test_the_log_redelivery_rotation_and_thin_payloads(node: ServiceNode[Settings]) -> None:
    receiver = Receiver(secrets=[])
    thin = Receiver(secrets=[])
    async with endpoint(receiver) as url, endpoint(thin) as thin_url:
        sub = await subscribe(node, url)
        thin_sub = await subscribe(node, thin_url, payload="thin")
        receiver.secrets, thin.secrets = [sub["secret"]], [thin_sub["secret"]]
        [first] = await write_notes(node, 1)
        await wait_until(lambda: len(receiver.events) == 1 and len(thin.events) == 1)

        async def logged() -> bool:  # the dispatcher records after the endpoint answered
            return [d["status"] for d in await log_of(node, sub["id"])] == ["delivered"]

        await wait_until(logged)
        [delivery] = await log_of(node, sub["id"])
        attempts = await node.client.get(
            f"/v1/subscriptions/{sub['id']}/deliveries/{delivery['id']}/attempts",
            headers=partner(node),
        )
        again = await node.client.post(
            f"/v1/subscriptions/{sub['id']}/deliveries/{delivery['id']}/redeliver",
            headers=partner(node),
        )
        await wait_until(lambda: len(receiver.arrivals[delivery["id"]]) == 2)

        old_secret = sub["secret"]
        rotated = await node.client.post(
            f"/v1/subscriptions/{sub['id']}/secret", headers=partner(node)
        )
        [second] = await write_notes(node, 1)
        await wait_until(lambda: len(receiver.events) == 2)
        payload_after = next(p for p in receiver.events.values() if p["id"] == second)
        thin_payload = next(iter(thin.events.values()))
        dataref = await node.client.get(
            thin_payload["dataref"].removeprefix("http://kitexample"), headers=partner(node)
        )

    assert [a["status_code"] for a in attempts.json()] == [204]
    assert again.status_code == 202
    assert len(receiver.events) == 2  # the redelivery was deduplicated by webhook-id
    # After a rotation the receiver still holding the old secret verifies (the overlap).
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != old_secret
    assert payload_after["id"] == second
    assert receiver.rejected == 0
    # A thin payload carries no data, only a link that fetches the whole event.
    assert "data" not in thin_payload
    assert thin_payload["id"] == first
    assert dataref.json()["data"]["title"] == "第0条"


async def test_rotation_overlap_signs_with_both_secrets(node: ServiceNode[Settings]) -> None:
    old = Receiver(secrets=[])
    async with endpoint(old) as url:
        sub = await subscribe(node, url)
        old.secrets = [sub["secret"]]
        rotated = await node.client.post(
            f"/v1/subscriptions/{sub['id']}/secret", headers=partner(node)
        )
        new = rotated.json()["secret"]
        await write_notes(node, 2)
        await wait_until(lambda: len(old.events) == 2)
        old.secrets = [new]  # the partner switches to the new secret during the overlap
        await write_notes(node, 2)
        await wait_until(lambda: len(old.events) == 4)

    assert old.rejected == 0


async def test_partners_see_only_their_own_subscriptions(node: ServiceNode[Settings]) -> None:
    mine = await subscribe(node, "https://partner.example.cn/hooks")
    other = partner(node, "hr-firm")

    listed = await node.client.get("/v1/subscriptions", headers=other)
    read = await node.client.get(f"/v1/subscriptions/{mine['id']}", headers=other)
    deleted = await node.client.delete(
        f"/v1/subscriptions/{mine['id']}", headers={**other, "If-Match": "*"}
    )
    operator = await node.client.get(
        "/v1/subscriptions", headers=node.auth("city_operator", "510100")
    )

    assert listed.json() == {"items": []}
    assert (read.status_code, read.json()["code"]) == (404, "subscription_not_found")
    assert deleted.status_code == 404
    assert operator.status_code == 403
    assert (
        "secret"
        not in (await node.client.get("/v1/subscriptions", headers=partner(node))).json()["items"][
            0
        ]
    )


async def test_bad_subscriptions_are_refused_and_nothing_is_saved(
    node: ServiceNode[Settings],
) -> None:
    cases = [
        ({"url": "ftp://partner.example.cn/x"}, "webhook_url_refused"),
        ({"url": "http://10.1.2.3/hooks"}, "webhook_url_refused"),
        ({"url": "http://169.254.169.254/latest"}, "webhook_url_refused"),
        (
            {"url": "https://p.example.cn/h", "types": ["cn.sichuan.shulian.other.x.created.v1"]},
            "unknown_event_type",
        ),
        ({"url": "https://p.example.cn/h", "cities": ["519999"]}, "invalid_city"),
    ]
    for body, code in cases:
        response = await node.client.post("/v1/subscriptions", json=body, headers=partner(node))
        assert (response.status_code, response.json()["code"]) == (422, code), body

    listed = await node.client.get("/v1/subscriptions", headers=partner(node))
    assert listed.json() == {"items": []}


async def test_a_disabled_subscription_resumes_when_re_enabled(
    node: ServiceNode[Settings],
) -> None:
    state = {"status": 410}
    receiver = Receiver(secrets=[], respond=lambda _m, _a: state["status"])
    async with endpoint(receiver) as url:
        sub = await subscribe(node, url)
        receiver.secrets = [sub["secret"]]
        await write_notes(node, 1)
        await wait_until(lambda: len(receiver.arrivals) == 1)
        await wait_until(lambda: _status(node, sub["id"]), timeout=5)
        state["status"] = 204
        await write_notes(node, 1)  # owed to the disabled subscription, not sent
        disabled = await node.client.get(f"/v1/subscriptions/{sub['id']}", headers=partner(node))
        enabled = await node.client.patch(
            f"/v1/subscriptions/{sub['id']}",
            json={"status": "active"},
            headers={**partner(node), "If-Match": disabled.headers["ETag"]},
        )
        await wait_until(lambda: len(receiver.events) == 1)

    assert disabled.headers["ETag"] == '"2"'  # the 410 changed its state, and so its ETag
    assert enabled.json()["status"] == "active"
    assert enabled.json()["disabled_reason"] is None


async def _status(node: ServiceNode[Settings], sub_id: str) -> bool:
    response = await node.client.get(f"/v1/subscriptions/{sub_id}", headers=partner(node))
    return bool(response.json()["status"] == "disabled")


async def test_draining_waits_for_a_fan_out_another_round_holds(
    postgres_url: str, tmp_path: Path
) -> None:
    """On PostgreSQL a round skips a subscription whose fan-out another round holds (``SKIP
    LOCKED``): draining then sees nothing due yet, and must wait, not return with it undelivered."""
    receiver = Receiver(secrets=[])
    async with (
        run_node(create_app, example_settings(postgres_url, tmp_path)) as node,
        endpoint(receiver) as url,
    ):
        sub = await subscribe(node, url)
        receiver.secrets = [sub["secret"]]
        engine = create_engine(postgres_url)
        try:
            async with engine.begin() as held:  # another dispatcher's round, mid fan-out
                await held.execute(
                    text("SELECT id FROM partner_subscriptions WHERE id = :id FOR UPDATE"),
                    {"id": sub["id"]},
                )
                [event_id] = await write_notes(node, 1)
                await node.drain()
                dispatcher = node.runtime.webhooks
                assert dispatcher is not None
                draining = asyncio.create_task(dispatcher.drain(timeout=20))
                await asyncio.sleep(0.5)
                assert not draining.done(), "drained while a subscription was still behind"
            await draining
        finally:
            await engine.dispose()

    assert [p["id"] for p in receiver.events.values()] == [event_id]


async def test_a_dispatcher_stopped_mid_attempt_gives_its_claims_back_at_once(
    node: ServiceNode[Settings],
) -> None:
    """A claim holds a delivery for the attempt's timeout and a margin, so that a crashed
    dispatcher's work is taken over later; one stopped on purpose hands it over at once."""
    hanging = Receiver(secrets=[], hang=True)
    async with endpoint(hanging) as url:
        sub = await subscribe(node, url)
        await write_notes(node, 1)

        async def claimed() -> bool:
            async with node.runtime.engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(partner_deliveries.c.next_attempt_at).where(
                            partner_deliveries.c.subscription_id == sub["id"]
                        )
                    )
                ).first()
            if row is None:
                return False
            at: datetime = row.next_attempt_at  # naive on SQLite, which keeps UTC
            return (at if at.tzinfo else at.replace(tzinfo=UTC)) > datetime.now(UTC)

        await wait_until(claimed, timeout=20, message="the delivery claimed")
        await node.stop_workers()  # the dispatcher's loop and its endpoint workers stop
        assert not await claimed(), "the stopped dispatcher kept its claim to the lease's end"
        [log] = await log_of(node, sub["id"])
        assert (log["status"], log["attempts"]) == ("pending", 0)
