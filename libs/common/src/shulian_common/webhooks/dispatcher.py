"""The webhook dispatcher: matches published events to subscriptions, then delivers them.

Two steps, both durable. Fan-out: for each active subscription, in one transaction, read the
outbox after the subscription's own ``position``, write a delivery row for each matching event and
move the position; so an event is owed to an endpoint exactly once, and a crash repeats nothing.
Delivery: each subscription with due deliveries gets one worker at a time, which claims a few
(moving their next attempt past the timeout, so another dispatcher leaves them) and sends them one
by one, in position order. Endpoints never share a worker: a slow or dead endpoint holds only its
own (and each attempt is cut at ``webhook_timeout_s``), at most ``webhook_max_endpoints`` at once.

The partner's grant is checked at fan-out and again when deliveries are claimed: a grant
narrowed or withdrawn since fails what it no longer covers, unsent (``not_granted``).

Outcomes: a 2xx delivers; 410 Gone disables the subscription (the partner re-enables it); anything
else, a timeout or a refused address retries after ``base * factor**(n-1)`` seconds ± jitter, until
``webhook_max_attempts`` attempts have failed. Every attempt is logged with status and latency.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shulian_common.feed import (
    FeedFilter,
    in_division,
    industries_of,
    partner_grant,
    structured_event,
)
from shulian_common.outbox import as_utc
from shulian_common.pulse import Pulse
from shulian_common.settings import Settings
from shulian_common.webhooks import repository as repo
from shulian_common.webhooks.signing import signature_headers
from shulian_common.webhooks.targets import (
    PIN_EXTENSION,
    IPAddress,
    PinnedTransport,
    TargetRefusedError,
    lenient,
    resolve_and_check,
)

logger = logging.getLogger(__name__)

FAN_OUT_BATCH = 500  # outbox rows matched per subscription and transaction
CLAIM = 50  # deliveries one worker claims at a time
LEASE_MARGIN = 30.0  # seconds past the timeout a claim holds
USER_AGENT = "Shulian-Webhooks/1"
NOT_GRANTED = "not_granted"  # a delivery's last_error when the partner's grant no longer covers it


def matches(
    subscription: Row[Any] | Mapping[str, Any], event_type: str, data: Mapping[str, Any]
) -> bool:
    """Whether an event passes a subscription's filters (types, cities, industries)."""
    sub = subscription if isinstance(subscription, Mapping) else subscription._mapping
    types, cities, industries = sub["types"], sub["cities"], sub["industries"]
    if types and event_type not in types:
        return False
    if cities and not any(in_division(data, city) for city in cities):
        return False
    return not industries or bool(industries_of(data) & set(industries))


def grant_filter(settings: Settings, partner: str) -> FeedFilter | None:
    """What the partner's grant lets through now, public types only (``None``: nothing)."""
    grant = partner_grant(settings, partner)
    if grant is None:
        return None
    return FeedFilter(types=grant.types, cities=grant.cities, industries=grant.industries)


def payload_of(row: Row[Any], *, thin: bool, base_url: str) -> dict[str, Any]:
    """The delivery body: the structured CloudEvent, or without data and with a ``dataref``."""
    event = structured_event(row)
    if thin:
        del event["data"]
        event["dataref"] = f"{base_url}/v1/feed/events/{row.event_id}"
    return event


def retry_delay(attempts: int, settings: Settings, rng: random.Random) -> float:
    """Seconds before the attempt after ``attempts`` failed ones (exponential, with jitter)."""
    base = settings.webhook_retry_base_s * settings.webhook_retry_factor ** (attempts - 1)
    jitter = settings.webhook_jitter
    return base * (1 + rng.uniform(-jitter, jitter))


def live_secrets(subscription: Row[Any], now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous during its overlap."""
    found = [subscription.secret]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires is not None and as_utc(expires) > now:
        found.append(subscription.previous_secret)
    return found


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got: a status code, or an error; and how long it took."""

    status: int | None
    latency_ms: int
    error: str | None = None

    @property
    def delivered(self) -> bool:
        """2xx."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """410 Gone: the endpoint asks never to be called again."""
        return self.status == 410


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of one delivery: what came back, and when it was made."""

    delivery: Row[Any]
    outcome: Outcome
    at: datetime

    def log(self, subscription_id: str) -> dict[str, Any]:
        """The attempt-log row."""
        return {
            "delivery_id": self.delivery.id,
            "subscription_id": subscription_id,
            "attempted_at": self.at,
            "status_code": self.outcome.status,
            "latency_ms": self.outcome.latency_ms,
            "error": self.outcome.error,
        }


class WebhookDispatcher:
    """Fans published events out to subscriptions and delivers them (module docstring)."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        settings: Settings,
        pulse: Pulse | None = None,
        client: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._pulse = pulse or Pulse()
        self._client = client
        self._own_client = client is None
        self._rng = rng or random.Random()
        self._postgres = engine.dialect.name == "postgresql"
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(settings.webhook_max_endpoints)
        self.delivered = 0
        self.failed_attempts = 0

    @property
    def base_url(self) -> str:
        """Where partners reach this service (thin payloads link to it)."""
        s = self._settings
        return (s.public_url or f"http://{s.host}:{s.port}").rstrip("/")

    async def run(self, stop: asyncio.Event) -> None:
        """Fan out and deliver until ``stop`` is set."""
        try:
            while not stop.is_set():
                armed = self._pulse.arm()  # a publish during this round starts the next at once
                await self.fan_out()
                await self.dispatch_due()
                await self._pulse.wait(self._settings.webhook_poll_interval_s, since=armed)
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop the endpoint workers and close the HTTP client."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    # --- fan-out ------------------------------------------------------------------------------

    async def fan_out(self) -> int:
        """Owe each active subscription the matching events published since its position."""
        async with self._engine.connect() as conn:
            ids = await repo.behind_subscription_ids(conn)
        owed = 0
        for subscription_id in ids:
            while True:
                added, more = await self._fan_out_one(subscription_id)
                owed += added
                if not more:
                    break
        return owed

    async def _fan_out_one(self, subscription_id: str) -> tuple[int, bool]:
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            sub = await repo.lock_subscription(conn, subscription_id, postgres=self._postgres)
            if sub is None:
                return 0, False
            rows = await repo.published_after(conn, sub.position, FAN_OUT_BATCH)
            if not rows:
                return 0, False
            # The partner's grant as it is now: a narrowed grant holds back events at once.
            allowed = grant_filter(self._settings, sub.partner)
            owed = [
                self._delivery(sub, row, now)
                for row in rows
                if allowed is not None
                and allowed.matches(row.type, row.data)
                and matches(sub, row.type, row.data)
            ]
            await repo.insert_deliveries(conn, owed)
            await repo.update_subscription(conn, sub.id, {"position": rows[-1].position})
        return len(owed), len(rows) == FAN_OUT_BATCH

    def _delivery(self, sub: Row[Any], row: Row[Any], now: datetime) -> dict[str, Any]:
        return {
            "id": f"msg_{uuid.uuid4().hex}",
            "subscription_id": sub.id,
            "position": row.position,
            "event_id": row.event_id,
            "event_type": row.type,
            "payload": payload_of(row, thin=sub.payload == "thin", base_url=self.base_url),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }

    # --- delivery -----------------------------------------------------------------------------

    async def dispatch_due(self) -> None:
        """Start a worker for each subscription with due deliveries that has none running."""
        async with self._engine.connect() as conn:
            due = await repo.due_subscription_ids(conn, datetime.now(UTC))
        for subscription_id in due:
            worker = self._workers.get(subscription_id)
            if worker is None or worker.done():
                self._workers[subscription_id] = asyncio.create_task(
                    self._work(subscription_id), name=f"shulian webhook {subscription_id}"
                )

    async def drain(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - spans many rounds
        """Fan out and deliver until nothing is due (a test and bench helper)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.fan_out()
            await self.dispatch_due()
            running = [w for w in self._workers.values() if not w.done()]
            if not running:
                # Done only when no subscription is behind either: another round (this
                # dispatcher's own loop, or another process) may hold a subscription's fan-out
                # lock, so this round skipped it and saw nothing due yet.
                async with self._engine.connect() as conn:
                    behind = await repo.behind_subscription_ids(conn)
                    if not behind and not await repo.due_subscription_ids(conn, datetime.now(UTC)):
                        return
            await asyncio.wait(running or [asyncio.ensure_future(asyncio.sleep(0.01))], timeout=0.1)
        raise TimeoutError(f"webhook deliveries not drained within {timeout}s")

    async def _work(self, subscription_id: str) -> None:
        async with self._slots:
            try:
                while await self._deliver_claimed(subscription_id):
                    pass
            except Exception as exc:  # the next round starts a new worker
                logger.warning("webhook worker: %s: %s", type(exc).__name__, exc)

    async def _deliver_claimed(self, subscription_id: str) -> bool:
        """Claim due deliveries of one endpoint and send them; whether to claim again."""
        now = datetime.now(UTC)
        lease = timedelta(seconds=self._settings.webhook_timeout_s + LEASE_MARGIN)
        async with self._engine.begin() as conn:
            sub = await repo.get_subscription(conn, subscription_id)
            if sub is None or sub.status != "active":
                return False
            claimed = await repo.claim_due(
                conn, subscription_id, now=now, until=now + lease, limit=CLAIM
            )
            if not claimed:
                return False
            claimed = await self._within_grant(conn, sub, claimed)
        if not claimed:
            return True  # all refused: claim the next ones
        try:
            target = await self._target(sub.url)
            # The first delivery goes alone: an endpoint that is gone or unreachable gets one
            # request, and the rest of the batch waits for that one's next attempt.
            first = await self._attempt(sub, claimed[0], target)
            outcomes = [first]
            if first.outcome.status is not None and not first.outcome.gone:
                outcomes += await self._attempt_all(sub, claimed[1:], target)
            await self._record(sub, outcomes, unattempted=claimed[len(outcomes) :])
        except asyncio.CancelledError:
            # Stopping: give the claims back at once rather than at the lease's end, so the
            # next dispatcher (a restart, another replica) sends them without waiting. One
            # already sent goes again: receivers dedupe by webhook-id.
            await self._release_on_stop(claimed, leased_until=now + lease)
            raise
        return not first.outcome.gone

    async def _within_grant(
        self, conn: AsyncConnection, sub: Row[Any], claimed: Sequence[Row[Any]]
    ) -> list[Row[Any]]:
        """The claimed deliveries the partner's grant allows now; the others fail for good,
        unsent (``not_granted``): a grant narrowed or withdrawn after the fan-out stops the
        retries and redeliveries of what it no longer covers."""
        allowed = grant_filter(self._settings, sub.partner)
        kept: list[Row[Any]] = []
        if allowed is not None and allowed.scans:  # divisions or industries: by the data
            data = {d.event_id: d.payload["data"] for d in claimed if "data" in d.payload}
            thin = [d.event_id for d in claimed if d.event_id not in data]
            data |= await repo.event_data(conn, thin)  # purged from the outbox: not sent
            kept = [
                d
                for d in claimed
                if d.event_id in data and allowed.matches(d.event_type, data[d.event_id] or {})
            ]
        elif allowed is not None:
            kept = [d for d in claimed if allowed.matches(d.event_type, {})]
        sent = {d.id for d in kept}
        refused = [d.id for d in claimed if d.id not in sent]
        if refused:
            await repo.refuse(conn, refused, NOT_GRANTED)
            logger.warning("%d webhook deliveries beyond the partner's grant refused", len(refused))
        return kept

    async def _release_on_stop(
        self, claimed: Sequence[Row[Any]], *, leased_until: datetime
    ) -> None:
        try:
            async with asyncio.timeout(2), self._engine.begin() as conn:
                await repo.release(
                    conn, [d.id for d in claimed], datetime.now(UTC), leased_until=leased_until
                )
        except Exception as exc:  # the lease expires on its own
            logger.warning("webhook claims kept to their lease: %s: %s", type(exc).__name__, exc)

    async def _attempt_all(
        self, sub: Row[Any], deliveries: Sequence[Row[Any]], target: IPAddress | str
    ) -> list[Attempt]:
        """Attempt ``deliveries``, ``webhook_endpoint_concurrency`` at a time."""
        limit = asyncio.Semaphore(self._settings.webhook_endpoint_concurrency)

        async def one(delivery: Row[Any]) -> Attempt:
            async with limit:
                return await self._attempt(sub, delivery, target)

        return list(await asyncio.gather(*(one(delivery) for delivery in deliveries)))

    async def _attempt(self, sub: Row[Any], delivery: Row[Any], target: IPAddress | str) -> Attempt:
        """Sign and send one delivery to the checked address (a ``str``: why it was refused)."""
        now = datetime.now(UTC)
        if isinstance(target, str):
            return Attempt(delivery, Outcome(None, 0, target), now)
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = signature_headers(
            live_secrets(sub, now), msg_id=delivery.id, timestamp=int(now.timestamp()), body=body
        )
        return Attempt(delivery, await self._send(sub.url, target, body, headers), now)

    async def _target(self, url: str) -> IPAddress | str:
        """The address the batch goes to, resolved and checked once; or why it is refused."""
        try:
            return await resolve_and_check(url, allow_local=lenient(self._settings))
        except TargetRefusedError as exc:
            return f"refused: {exc}"[:200]

    async def _send(
        self, url: str, address: IPAddress, body: bytes, headers: dict[str, str]
    ) -> Outcome:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._settings.webhook_timeout_s):
                response = await self._http().post(
                    url,
                    content=body,
                    headers={**headers, "content-type": "application/json"},
                    extensions={PIN_EXTENSION: str(address)},
                )
        except TimeoutError:
            return Outcome(None, _ms_since(started), "timeout")
        except httpx.HTTPError as exc:
            return Outcome(None, _ms_since(started), type(exc).__name__)
        return Outcome(response.status_code, _ms_since(started))

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = webhook_client(self._settings)
        return self._client

    async def _record(
        self, sub: Row[Any], attempts: Sequence[Attempt], *, unattempted: Sequence[Row[Any]]
    ) -> None:
        """Log a batch's attempts and move its deliveries on, in one transaction."""
        gone = any(a.outcome.gone for a in attempts)
        changes = [self._changes(attempt) for attempt in attempts]
        # Not tried: due again with the first one's retry (now, if it was delivered or gone).
        retry_at = None if gone else changes[0]["next_attempt_at"]
        async with self._engine.begin() as conn:
            for attempt, change in zip(attempts, changes, strict=True):
                await repo.record_attempt(conn, attempt=attempt.log(sub.id), delivery=change)
            await repo.release(conn, [d.id for d in unattempted], retry_at or datetime.now(UTC))
            if gone:
                await repo.update_subscription(
                    conn,
                    sub.id,
                    {
                        "status": "disabled",
                        "disabled_reason": "endpoint_gone (HTTP 410)",
                        "version": repo.subs.c.version + 1,  # a new ETag: the state changed
                    },
                )
        if gone:
            logger.warning("webhook subscription %s disabled: its endpoint answered 410", sub.id)

    def _changes(self, attempt: Attempt) -> dict[str, Any]:
        """What one attempt changes in its delivery row."""
        outcome, count = attempt.outcome, attempt.delivery.attempts + 1
        changes: dict[str, Any] = {
            "attempts": count,
            "last_status_code": outcome.status,
            "last_error": outcome.error,
            "last_latency_ms": outcome.latency_ms,
        }
        if outcome.delivered:
            self.delivered += 1
            changes.update(status="delivered", delivered_at=datetime.now(UTC), next_attempt_at=None)
        else:
            self.failed_attempts += 1
            answered = attempt.at + timedelta(milliseconds=outcome.latency_ms)
            changes.update(self._after_failure(count, outcome, answered))
        return changes

    def _after_failure(self, attempts: int, outcome: Outcome, at: datetime) -> dict[str, Any]:
        if outcome.gone or attempts >= self._settings.webhook_max_attempts:
            return {"status": "failed", "next_attempt_at": None}
        delay = retry_delay(attempts, self._settings, self._rng)
        # From when this attempt failed, not from the end of its batch.
        return {"next_attempt_at": at + timedelta(seconds=delay)}


def webhook_client(
    settings: Settings, transport: Callable[[], httpx.AsyncBaseTransport] | None = None
) -> httpx.AsyncClient:
    """The dispatcher's HTTP client: no redirects, each request sent to its pinned address
    (``transport``: makes each host's transport; tests pass their own).

    A host's pool never makes one endpoint wait for another: several endpoints (subscriptions)
    may share a host name, and the pool caps connections across them, so it holds as many as
    the dispatcher may send at once (every endpoint's share); the dispatcher itself limits
    each endpoint (``webhook_endpoint_concurrency``) and the endpoints at once
    (``webhook_max_endpoints``)."""
    at_once = settings.webhook_max_endpoints * settings.webhook_endpoint_concurrency
    limits = httpx.Limits(max_connections=at_once, max_keepalive_connections=at_once)

    def per_host() -> httpx.AsyncBaseTransport:
        return httpx.AsyncHTTPTransport(limits=limits)

    return httpx.AsyncClient(
        transport=PinnedTransport(transport or per_host),
        timeout=settings.webhook_timeout_s,
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
    )


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


async def owed(engine: AsyncEngine, subscription_ids: Sequence[str]) -> int:
    """How many deliveries of these subscriptions are still pending (tests and bench)."""
    query = (
        select(func.count())
        .select_from(repo.deliveries)
        .where(
            repo.deliveries.c.subscription_id.in_(list(subscription_ids)),
            repo.deliveries.c.status == "pending",
        )
    )
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())
