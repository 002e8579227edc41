"""``/v1/subscriptions``: a partner manages its webhook endpoints and reads their delivery log.

Only partners call these routes, and each sees only its own subscriptions (another's answer 404,
as if they did not exist). A service whose migrations did not create the partner tables answers
503 ``webhooks_unavailable``.

The kit's HTTP conventions hold: a subscription carries an ``ETag`` (its ``version``); changing or
deleting one needs ``If-Match`` (428 without, 412 when stale, checked in the ``UPDATE`` itself so
two concurrent changes cannot both win); creating takes an ``Idempotency-Key``, kept in the kit's
``idempotency_keys`` table in the creating transaction, so a retried create answers the same
subscription (with its secret, ``Idempotent-Replayed: true``) and the same key with another body
is 422 ``idempotency_key_reused``.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shulian_common.app.runtime import ServiceRuntime
from shulian_common.auth import Principal, Role
from shulian_common.catalogue import catalogue
from shulian_common.deps import RuntimeDep, SettingsDep, require_roles
from shulian_common.errors import (
    BadRequestError,
    ConflictError,
    IdempotencyConflictError,
    NotFoundError,
    PreconditionFailedError,
    ServiceUnavailableError,
    ValidationFailedError,
    problem_responses,
)
from shulian_common.feed import NotGrantedError, reader_grant, within_grant
from shulian_common.http import (
    IDEMPOTENT_REPLAYED,
    IdempotencyDep,
    IfMatch,
    decode_cursor,
    encode_cursor,
    etag,
    expected_versions,
    record_response,
)
from shulian_common.idempotency import Idempotency
from shulian_common.outbox import as_utc
from shulian_common.records import Versions
from shulian_common.reference import is_division
from shulian_common.settings import Settings
from shulian_common.webhooks import repository as repo
from shulian_common.webhooks.schemas import (
    AttemptRead,
    DeliveryPage,
    DeliveryRead,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionRead,
    SubscriptionUpdate,
)
from shulian_common.webhooks.signing import new_secret
from shulian_common.webhooks.targets import TargetRefusedError, check_url, lenient

PartnerDep = Annotated[Principal, Depends(require_roles(Role.PARTNER))]


async def get_partner_engine(runtime: RuntimeDep) -> AsyncEngine:
    """The database holding the partner tables; 503 where the service has none."""
    if runtime.webhooks is None:
        raise ServiceUnavailableError("本服务未启用 Webhook 订阅", code="webhooks_unavailable")
    return runtime.engine


EngineDep = Annotated[AsyncEngine, Depends(get_partner_engine)]


def _check_filters(
    settings: Settings,
    partner: Principal,
    body: SubscriptionCreate | SubscriptionUpdate,
) -> None:
    """Refuse a target or filters that are invalid (422) or beyond the partner's grant (403)."""
    url, types, cities = body.url, body.types, body.cities
    if url is not None:
        try:
            check_url(url, allow_local=lenient(settings))
        except TargetRefusedError as exc:
            raise ValidationFailedError(
                f"Webhook 地址不可用：{exc}", code="webhook_url_refused"
            ) from None
    known = {spec.type for spec in catalogue.for_service(settings.service)}
    unknown = sorted(set(types or ()) - known)
    if unknown:
        raise ValidationFailedError(
            f"本服务不发布以下事件类型：{'、'.join(unknown)}", code="unknown_event_type"
        )
    bad = sorted(code for code in cities or () if not is_division(code))
    if bad:
        raise ValidationFailedError(f"行政区划代码不存在：{'、'.join(bad)}", code="invalid_city")
    within_grant(
        reader_grant(settings, partner), types=types, cities=cities, industries=body.industries
    )


def _read(row: Row[Any]) -> SubscriptionRead:
    expires = row.previous_secret_expires_at
    return SubscriptionRead(
        id=row.id,
        url=row.url,
        types=row.types,
        cities=row.cities,
        industries=row.industries,
        payload=row.payload,
        status=row.status,
        disabled_reason=row.disabled_reason,
        previous_secret_expires_at=None if expires is None else as_utc(expires),
        version=row.version,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def _delivery(row: Row[Any]) -> DeliveryRead:
    def utc(moment: datetime | None) -> datetime | None:
        return None if moment is None else as_utc(moment)

    return DeliveryRead(
        id=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=utc(row.next_attempt_at),
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        last_latency_ms=row.last_latency_ms,
        created_at=as_utc(row.created_at),
        delivered_at=utc(row.delivered_at),
    )


async def _own(conn: AsyncConnection, subscription_id: str, partner: Principal) -> Row[Any]:
    row = await repo.get_subscription(conn, subscription_id, partner=partner.sub)
    if row is None:
        raise NotFoundError("订阅不存在", code="subscription_not_found")
    return row


def subscriptions_router() -> APIRouter:
    """The partner subscription routes."""
    router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
    common = (401, 403, ServiceUnavailableError)

    @router.post(
        "",
        status_code=201,
        response_model=SubscriptionCreated,
        responses=problem_responses(*common, 409, 422, NotGrantedError),
    )
    async def create(
        body: SubscriptionCreate,
        partner: PartnerDep,
        engine: EngineDep,
        settings: SettingsDep,
        idempotency: IdempotencyDep,
    ) -> JSONResponse:
        """Register a webhook endpoint; it receives events published from now on.

        With an `Idempotency-Key`, a retry answers the subscription the first request created."""
        _check_filters(settings, partner, body)
        now = datetime.now(UTC)
        values = {
            "id": str(uuid.uuid4()),
            "partner": partner.sub,
            **body.model_dump(),
            "status": "active",
            "secret": new_secret(),
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with engine.begin() as conn:
                row = await _replay(conn, idempotency, partner)
                replayed = row is not None
                if row is None:
                    values["position"] = await repo.highest_position(conn)
                    await repo.insert_subscription(conn, values)
                    kept = {"id": values["id"], "version": 1}
                    await _remember(conn, idempotency, kept, now)
                    row = await _own(conn, values["id"], partner)
        except IntegrityError:  # a concurrent request with the same key won
            async with engine.connect() as conn:
                row = await _replay(conn, idempotency, partner)
            if row is None:
                raise ConflictError(
                    "与同时进行的另一写入冲突，请重试", code="concurrent_write"
                ) from None
            replayed = True
        headers = {"Location": f"/v1/subscriptions/{row.id}", "ETag": etag(row.version)}
        if replayed:
            headers[IDEMPOTENT_REPLAYED] = "true"
        created = SubscriptionCreated(**_read(row).model_dump(), secret=row.secret)
        return JSONResponse(created.model_dump(mode="json"), status_code=201, headers=headers)

    @router.get("", response_model=SubscriptionList, responses=problem_responses(*common))
    async def list_(partner: PartnerDep, engine: EngineDep) -> SubscriptionList:
        """The caller's subscriptions."""
        async with engine.connect() as conn:
            rows = await repo.list_subscriptions(conn, partner.sub)
        return SubscriptionList(items=[_read(row) for row in rows])

    @router.get(
        "/{subscription_id}",
        response_model=SubscriptionRead,
        responses=problem_responses(*common, 404),
    )
    async def read(subscription_id: str, partner: PartnerDep, engine: EngineDep) -> JSONResponse:
        """One of the caller's subscriptions, with its `ETag`."""
        async with engine.connect() as conn:
            row = await _own(conn, subscription_id, partner)
        return record_response(_read(row), version=row.version)

    @router.patch(
        "/{subscription_id}",
        response_model=SubscriptionRead,
        responses=problem_responses(*common, 404, 412, 422, 428, NotGrantedError),
    )
    async def change(
        subscription_id: str,
        body: SubscriptionUpdate,
        partner: PartnerDep,
        engine: EngineDep,
        settings: SettingsDep,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        """Change an endpoint's URL, filters or payload; `status: active` re-enables it.

        Needs `If-Match` with the subscription's `ETag`."""
        expected = expected_versions(if_match)
        _check_filters(settings, partner, body)
        changes = body.model_dump(exclude_unset=True)
        if changes.get("status") == "active":
            changes["disabled_reason"] = None
        async with engine.begin() as conn:
            row = await _current(conn, subscription_id, partner, expected)
            changes |= {"version": row.version + 1, "updated_at": datetime.now(UTC)}
            await _update(conn, row, changes)
            row = await _own(conn, subscription_id, partner)
        return record_response(_read(row), version=row.version)

    @router.delete(
        "/{subscription_id}",
        status_code=204,
        responses=problem_responses(*common, 404, 412, 428),
    )
    async def remove(
        subscription_id: str, partner: PartnerDep, engine: EngineDep, if_match: IfMatch = None
    ) -> Response:
        """Delete an endpoint with its delivery log (needs `If-Match`)."""
        expected = expected_versions(if_match)
        async with engine.begin() as conn:
            row = await _current(conn, subscription_id, partner, expected)
            # The version in the UPDATE guards against a change committed since the read.
            await _update(conn, row, {"version": row.version + 1})
            await repo.delete_subscription(conn, subscription_id)
        return Response(status_code=204)

    @router.post(
        "/{subscription_id}/secret",
        response_model=SecretRotated,
        responses=problem_responses(*common, 404, 409, 412, 422),
    )
    async def rotate(
        subscription_id: str,
        partner: PartnerDep,
        engine: EngineDep,
        settings: SettingsDep,
        idempotency: IdempotencyDep,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        """Rotate the signing secret; the old one keeps signing during the overlap.

        `If-Match` is optional here. With an `Idempotency-Key`, a retry answers the secret the
        first request made instead of rotating again (which would end the overlap of the secret
        the partner still holds); 409 `secret_superseded` once that secret was rotated out."""
        expected = expected_versions(if_match) if if_match is not None else None
        now = datetime.now(UTC)
        try:
            async with engine.begin() as conn:
                replayed = await _replayed_rotation(conn, idempotency, subscription_id, partner)
                if replayed is not None:
                    row = replayed
                else:
                    row = await _current(conn, subscription_id, partner, expected)
                    secret = new_secret()
                    changes = {
                        "secret": secret,
                        "previous_secret": row.secret,
                        "previous_secret_expires_at": now
                        + timedelta(seconds=settings.webhook_secret_overlap_s),
                        "version": row.version + 1,
                        "updated_at": now,
                    }
                    await _update(conn, row, changes)  # two rotations at once: one is 412
                    kept = {"id": row.id, "secret_sha256": _digest(secret)}
                    await _remember(conn, idempotency, kept, now, status_code=200)
                    row = await _own(conn, subscription_id, partner)
        except IntegrityError:  # a concurrent request with the same key won
            async with engine.connect() as conn:
                replayed = await _replayed_rotation(conn, idempotency, subscription_id, partner)
            if replayed is None:
                raise ConflictError(
                    "与同时进行的另一写入冲突，请重试", code="concurrent_write"
                ) from None
            row = replayed
        rotated = SecretRotated(
            secret=row.secret, previous_expires_at=as_utc(row.previous_secret_expires_at)
        )
        response = record_response(rotated, version=row.version)
        if replayed is not None:
            response.headers[IDEMPOTENT_REPLAYED] = "true"
        return response

    @router.get(
        "/{subscription_id}/deliveries",
        response_model=DeliveryPage,
        responses=problem_responses(*common, 400, 404),
    )
    async def deliveries(
        subscription_id: str,
        partner: PartnerDep,
        engine: EngineDep,
        status: Literal["pending", "delivered", "failed"] | None = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> DeliveryPage:
        """The delivery log, newest first: status, attempts, last status code and latency."""
        before = decode_cursor(cursor)
        async with engine.connect() as conn:
            await _own(conn, subscription_id, partner)
            rows = await repo.list_deliveries(
                conn,
                subscription_id,
                before=None if before is None else _position(before),
                status=status,
                limit=limit + 1,
            )
        shown = rows[:limit]
        more = len(rows) > limit
        next_cursor = encode_cursor(str(shown[-1].position)) if more else None
        return DeliveryPage(items=[_delivery(r) for r in shown], next_cursor=next_cursor)

    @router.get(
        "/{subscription_id}/deliveries/{delivery_id}/attempts",
        response_model=list[AttemptRead],
        responses=problem_responses(*common, 404),
    )
    async def attempts(
        subscription_id: str, delivery_id: str, partner: PartnerDep, engine: EngineDep
    ) -> list[AttemptRead]:
        """Every attempt of one delivery, oldest first."""
        async with engine.connect() as conn:
            await _own(conn, subscription_id, partner)
            await _delivery_of(conn, subscription_id, delivery_id)
            rows = await repo.list_attempts(conn, delivery_id)
        return _attempts(rows)

    @router.post(
        "/{subscription_id}/deliveries/{delivery_id}/redeliver",
        status_code=202,
        response_model=DeliveryRead,
        responses=problem_responses(*common, 404),
    )
    async def redeliver(
        subscription_id: str, delivery_id: str, partner: PartnerDep, runtime: RuntimeDep
    ) -> DeliveryRead:
        """Send a delivery again now (same `webhook-id`), with a fresh retry budget."""
        engine = await get_partner_engine(runtime)
        async with engine.begin() as conn:
            await _own(conn, subscription_id, partner)
            await _delivery_of(conn, subscription_id, delivery_id)
            await repo.requeue_delivery(conn, delivery_id, datetime.now(UTC))
            row = await _delivery_of(conn, subscription_id, delivery_id)
        _wake(runtime)
        return _delivery(row)

    return router


async def _current(
    conn: AsyncConnection, subscription_id: str, partner: Principal, expected: Versions
) -> Row[Any]:
    """The caller's subscription, if it is still at a version ``If-Match`` accepts (else 412)."""
    row = await _own(conn, subscription_id, partner)
    if expected is not None and row.version not in expected:
        raise _stale(row.version)
    return row


async def _update(conn: AsyncConnection, row: Row[Any], changes: dict[str, Any]) -> None:
    """Write ``changes`` unless another writer changed the subscription since ``row`` was read."""
    if not await repo.update_subscription(conn, row.id, changes, version=row.version):
        current = await repo.get_subscription(conn, row.id)
        if current is None:
            raise NotFoundError("订阅不存在", code="subscription_not_found")
        raise _stale(current.version)


def _stale(version: int) -> PreconditionFailedError:
    return PreconditionFailedError(
        f"订阅已被修改：当前版本为 {version}，请求基于的版本已过期",
        extra={"current_version": version},
        headers={"ETag": etag(version)},
    )


async def _prior_key(conn: AsyncConnection, idempotency: Idempotency) -> Row[Any] | None:
    """What an earlier request with this ``Idempotency-Key`` kept, if there was one (409 when
    that request was another one)."""
    stored = await repo.stored_key(conn, idempotency.principal_sub, idempotency.key)
    if stored is not None and stored.fingerprint != idempotency.fingerprint:
        raise IdempotencyConflictError(
            "该 Idempotency-Key 已用于另一个请求", extra={"idempotency_key": idempotency.key}
        )
    return stored


async def _replay(
    conn: AsyncConnection, idempotency: Idempotency | None, partner: Principal
) -> Row[Any] | None:
    """The subscription an earlier request with this ``Idempotency-Key`` created, if any."""
    if idempotency is None:
        return None
    stored = await _prior_key(conn, idempotency)
    if stored is None:
        return None
    row = await repo.get_subscription(conn, str(stored.body.get("id")), partner=partner.sub)
    if row is None:
        raise NotFoundError(
            "该 Idempotency-Key 的原请求所建订阅已不存在",
            code="subscription_not_found",
            extra={"idempotency_key": idempotency.key},
        )
    return row


async def _remember(
    conn: AsyncConnection,
    idempotency: Idempotency | None,
    body: dict[str, Any],
    now: datetime,
    *,
    status_code: int = 201,
) -> None:
    if idempotency is not None:
        await repo.remember_key(
            conn,
            {
                "principal_sub": idempotency.principal_sub,
                "key": idempotency.key,
                "fingerprint": idempotency.fingerprint,
                "status_code": status_code,
                "body": body,
                "created_at": now,
            },
        )


def _digest(secret: str) -> str:
    """What a rotation's ``Idempotency-Key`` keeps of the secret it made (never the secret)."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def _replayed_rotation(
    conn: AsyncConnection,
    idempotency: Idempotency | None,
    subscription_id: str,
    partner: Principal,
) -> Row[Any] | None:
    """The subscription as the rotation an earlier request with this key made left it, if any
    (409 ``secret_superseded`` when its secret was rotated again since)."""
    if idempotency is None:
        return None
    stored = await _prior_key(conn, idempotency)
    if stored is None:
        return None
    row = await _own(conn, subscription_id, partner)
    if not hmac.compare_digest(_digest(row.secret), str(stored.body.get("secret_sha256"))):
        raise ConflictError(
            "该请求所换的签名密钥已被再次更换，请重新更换密钥",
            code="secret_superseded",
            extra={"idempotency_key": idempotency.key},
        )
    return row


def _position(cursor: str) -> int:
    if not cursor.isdigit():
        raise BadRequestError("分页游标无效", code="invalid_cursor")
    return int(cursor)


async def _delivery_of(conn: AsyncConnection, subscription_id: str, delivery_id: str) -> Row[Any]:
    row = await repo.get_delivery(conn, subscription_id, delivery_id)
    if row is None:
        raise NotFoundError("投递记录不存在", code="delivery_not_found")
    return row


def _attempts(rows: Sequence[Row[Any]]) -> list[AttemptRead]:
    return [
        AttemptRead(
            attempted_at=as_utc(r.attempted_at),
            status_code=r.status_code,
            latency_ms=r.latency_ms,
            error=r.error,
        )
        for r in rows
    ]


def _wake(runtime: ServiceRuntime) -> None:
    runtime.relay.published_pulse.fire()  # the dispatcher waits on the relay's pulse
