"""A service from ``create_service_app``, run through its lifespan on SQLite and the local bus."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, status
from pydantic import BaseModel
from sqlalchemy import column, func, insert, select, table

from shulian_common import db, telemetry
from shulian_common.app import ServiceRuntime, create_service_app
from shulian_common.auth import Role, mint_token
from shulian_common.bus import TopicPartition
from shulian_common.catalogue import EventModel, catalogue
from shulian_common.consumer import Subscription
from shulian_common.deps import OperatorDep, PrincipalDep, SessionDep, UowFactoryDep, WriterDep
from shulian_common.envelope import CloudEvent
from shulian_common.errors import NotFoundError, ValidationFailedError, ValidationProblem
from shulian_common.readers import ReaderModel, Reads
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWork

MIGRATIONS = Path(__file__).parent / "migrations"
SERVICE = "apptest"
NODE = "510100"
ITEM_CREATED = "cn.sichuan.shulian.apptest.item.created.v1"
ITEMS_TOPIC = "shulian.apptest.items.v1"

# Personal data in failing requests, built at run time: no traceback's source line shows it.
PHONE = "".join(["139", "1234", "5678"])
EMAIL = "@".join(["leak", "example.cn"])

items = table("items", column("id"), column("name"))
applied = table("applied", column("consumer"), column("event_id"), column("key"), column("n"))


class ItemCreated(EventModel):
    """An item was created."""

    id: str
    name: str


catalogue.register(ItemCreated, type=ITEM_CREATED, topic=ITEMS_TOPIC)


class ItemIn(BaseModel):
    name: str


def _router() -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post("/items", status_code=status.HTTP_201_CREATED)
    async def create_item(body: ItemIn, _: WriterDep, uows: UowFactoryDep) -> dict[str, str]:
        item_id = uuid.uuid4().hex
        async with uows() as uow:
            await uow.session.execute(insert(items).values(id=item_id, name=body.name))
            uow.record(ItemCreated(id=item_id, name=body.name), key=item_id)
            await uow.commit()
        return {"id": item_id}

    @router.get("/items/{item_id}")
    async def read_item(item_id: str, _: PrincipalDep, session: SessionDep) -> dict[str, str]:
        row = (await session.execute(select(items).where(items.c.id == item_id))).first()
        if row is None:
            raise NotFoundError(f"条目 {item_id} 不存在")
        return {"id": row.id, "name": row.name}

    @router.delete("/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_item(item_id: str, _: WriterDep) -> None:
        raise ValidationFailedError(f"条目 {item_id} 仍被引用，不能删除", code="item_in_use")

    @router.post("/sneaky-items")
    async def write_through_read_session(session: SessionDep) -> dict[str, str]:
        await session.execute(insert(items).values(id="sneaky", name="x"))
        return {"id": "sneaky"}

    @router.get("/admin")
    async def admin_only(principal: OperatorDep) -> dict[str, str]:
        return {"role": principal.role}

    @router.get("/bad-response", response_model=ItemIn)
    async def bad_response() -> dict[str, object]:
        # A stored value the response model refuses (e.g. legacy or replicated data).
        return {"name": [PHONE, EMAIL]}

    @router.get("/bad-model")
    async def bad_model() -> None:
        try:
            ItemIn.model_validate({"name": {"phone": PHONE}})
        except ValueError as exc:
            raise RuntimeError("could not build the item") from exc

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("connection string postgres://u:hunter2@db")

    return router


class ItemRead(ReaderModel):
    """What the test consumer reads of an item."""

    id: str


async def _apply_item(uow: UnitOfWork, event: CloudEvent, data: ItemRead) -> None:
    await uow.session.execute(
        insert(applied).values(consumer="apptest", event_id=event.id, key=data.id, n=1)
    )


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(env="test", service=SERVICE, node_id=NODE, data_dir=tmp_path, **extra)


def _app(settings: Settings, **extra: Any) -> Any:
    return create_service_app(
        settings=settings,
        title="测试服务",
        description="create_service_app under test",
        routers=[_router()],
        migrations=MIGRATIONS,
        **extra,
    )


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan started, and a client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            yield client


def _bearer(settings: Settings, role: Role, division: str | None = None) -> dict[str, str]:
    if role is Role.CITY_OPERATOR:
        division = division or NODE
    token = mint_token(settings, role=role, node=NODE, division=division)
    return {"Authorization": f"Bearer {token}"}


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    """Wait until ``check()`` holds (the relay and consumer run in the background)."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_healthz_needs_nothing_and_readyz_waits_for_the_lifespan(tmp_path: Path) -> None:
    app = _app(_settings(tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()["code"]) == (503, "not_started")


async def test_ready_on_the_database_and_local_bus(tmp_path: Path, database_url: str) -> None:
    started: list[ServiceRuntime] = []

    async def on_startup(runtime: ServiceRuntime) -> None:
        started.append(runtime)

    app = _app(_settings(tmp_path, database_url=database_url), on_startup=on_startup)
    async with running(app) as client:
        response = await client.get("/readyz")
        assert started == [app.state.runtime]
    assert response.status_code == 200
    body = response.json()
    assert 0 <= body.pop("bus_checked_seconds_ago") < 5
    assert body == {
        "status": "ready",
        "database": "ok",
        "bus": "ok",
        "outbox_backlog": 0,
        "outbox_oldest_age_seconds": None,
        "consumer_lag": None,
        "warnings": [],
    }


async def test_a_write_is_relayed_to_the_bus_and_consumed(
    tmp_path: Path, database_url: str
) -> None:
    settings = _settings(tmp_path, database_url=database_url)
    subscription = Subscription(ITEMS_TOPIC, {ITEM_CREATED: Reads(ItemRead, _apply_item)})
    app = _app(settings, subscriptions=[subscription])
    async with running(app) as client:
        created = await client.post(
            "/v1/items", json={"name": "桌子"}, headers=_bearer(settings, Role.CITY_OPERATOR)
        )
        assert created.status_code == 201
        item_id = created.json()["id"]
        runtime: ServiceRuntime = app.state.runtime

        async def consumed() -> bool:
            async with runtime.engine.connect() as connection:
                query = select(func.count()).select_from(applied).where(applied.c.key == item_id)
                return (await connection.execute(query)).scalar_one() == 1

        async def relayed() -> bool:
            # The relay marks the row published in its own transaction after the bus took it,
            # so a fast consumer can apply the event a moment before the backlog reads 0.
            ready = await client.get("/readyz")
            return bool(ready.json()["outbox_backlog"] == 0)

        await _until(consumed)
        await _until(relayed)
        read = await client.get(f"/v1/items/{item_id}", headers=_bearer(settings, Role.TALENT))
    assert read.json() == {"id": item_id, "name": "桌子"}


@pytest.mark.parametrize("freeze", [True, False])
async def test_start_up_garbage_is_frozen_while_the_service_runs(
    tmp_path: Path, freeze: bool
) -> None:
    gc.unfreeze()
    app = _app(_settings(tmp_path, gc_freeze=freeze))
    async with running(app):
        frozen_while_running = gc.get_freeze_count()
    assert (frozen_while_running > 0) is freeze
    assert gc.get_freeze_count() == 0  # unfrozen at shutdown: the app can be freed


async def test_an_http_only_worker_writes_to_the_outbox_and_runs_nothing_else(
    tmp_path: Path,
) -> None:
    # What ``shulian serve --workers N`` runs besides its first worker.
    settings = _settings(tmp_path, http_only=True)
    subscription = Subscription(ITEMS_TOPIC, {ITEM_CREATED: Reads(ItemRead, _apply_item)})
    app = _app(settings, subscriptions=[subscription])
    async with running(app) as client:
        created = await client.post(
            "/v1/items", json={"name": "柜子"}, headers=_bearer(settings, Role.CITY_OPERATOR)
        )
        runtime: ServiceRuntime = app.state.runtime
        ready = await client.get("/readyz")
    assert created.status_code == 201
    assert (runtime.tasks, runtime.consumers, runtime.webhooks) == ([], None, None)
    # The row waits in the outbox for the first worker's relay.
    assert ready.status_code == 200
    assert ready.json()["outbox_backlog"] == 1


async def test_writes_succeed_and_the_service_stays_ready_while_the_bus_is_down(
    tmp_path: Path,
) -> None:
    # A zero age threshold: the unsent row's age is reported as a warning, and still 200.
    settings = _settings(
        tmp_path,
        bus_url="kafka://127.0.0.1:1",
        ready_outbox_age_warn_s=0,
        ready_outbox_backlog_warn=0,
    )
    app = _app(settings)
    async with running(app) as client:
        created = await client.post(
            "/v1/items", json={"name": "椅子"}, headers=_bearer(settings, Role.CITY_OPERATOR)
        )
        await asyncio.sleep(1.1)  # SQLite stamps created_at to the second
        ready = await client.get("/readyz")
    assert created.status_code == 201
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["database"], body["bus"]) == ("ready", "ok", "down")
    assert body["outbox_backlog"] == 1
    assert body["outbox_oldest_age_seconds"] > 0
    assert [w["code"] for w in body["warnings"]] == [
        "bus_down",
        "outbox_backlog_old",
        "outbox_backlog_large",
    ]


async def test_readyz_reports_consumer_lag_and_warns_past_its_threshold(tmp_path: Path) -> None:
    settings = _settings(tmp_path, ready_consumer_lag_warn=10)
    subscription = Subscription(ITEMS_TOPIC, {ITEM_CREATED: Reads(ItemRead, _apply_item)})
    app = _app(settings, subscriptions=[subscription])
    async with running(app) as client:
        quiet = (await client.get("/readyz")).json()
        runtime: ServiceRuntime = app.state.runtime
        assert runtime.consumers is not None
        # The runner's last lag reading, as its own lag sampling records it.
        partitions = [TopicPartition(ITEMS_TOPIC, 0), TopicPartition(ITEMS_TOPIC, 1)]
        runtime.consumers.lag = dict(zip(partitions, (7, 5), strict=True))
        behind = await client.get("/readyz")
    assert (quiet["consumer_lag"], quiet["warnings"]) == (0, [])
    assert behind.status_code == 200
    assert behind.json()["consumer_lag"] == 12
    assert [w["code"] for w in behind.json()["warnings"]] == ["consumer_lag"]


class _HangingPing:
    """Stands in for ``Publisher.ping`` against a broker that accepts and never answers."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        await asyncio.Event().wait()


async def test_readyz_answers_at_once_while_the_bus_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, ready_bus_check_interval_s=0.05, ready_bus_probe_timeout_s=0.3)
    app = _app(settings)
    async with running(app) as client:
        runtime: ServiceRuntime = app.state.runtime
        hanging = _HangingPing()
        monkeypatch.setattr(runtime.publisher, "ping", hanging)
        timings, states = [], []
        deadline = time.monotonic() + 10
        while "down" not in states and time.monotonic() < deadline:
            started = time.monotonic()
            response = await client.get("/readyz")
            timings.append(time.monotonic() - started)
            assert response.status_code == 200
            states.append(response.json()["bus"])
            await asyncio.sleep(0.05)
    assert hanging.calls >= 1
    assert states[-1] == "down"
    assert max(timings) < 1.0


async def test_readyz_is_503_when_the_database_is_down(tmp_path: Path) -> None:
    app = _app(_settings(tmp_path, ready_database_timeout_s=0.5))
    async with running(app) as client:
        runtime: ServiceRuntime = app.state.runtime
        healthy = runtime.engine
        # Nothing listens on port 1: every connection is refused, as with a database that is down.
        runtime.engine = db.create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/gone")
        try:
            started = time.monotonic()
            response = await client.get("/readyz")
            elapsed = time.monotonic() - started
        finally:
            await runtime.engine.dispose()
            runtime.engine = healthy
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["checks"] == {"database": "unavailable", "bus": "ok"}
    assert "数据库" in body["detail"]
    assert elapsed < 2.0


async def test_readiness_gauges_report_the_outbox_and_the_bus(tmp_path: Path) -> None:
    # Telemetry on although no exporter is configured here: the gauges are what is tested.
    settings = _settings(
        tmp_path,
        bus_url="kafka://127.0.0.1:1",
        outbox_sample_interval_s=0.05,
        telemetry_enabled=True,
    )
    app = _app(settings)
    async with running(app) as client:
        await client.post(
            "/v1/items", json={"name": "凳子"}, headers=_bearer(settings, Role.CITY_OPERATOR)
        )
        runtime: ServiceRuntime = app.state.runtime
        names = {"service": SERVICE, "node": NODE}

        async def sampled() -> bool:
            return (float(1), names) in telemetry.outbox_backlog.values()

        await _until(sampled)
        bus_up = telemetry.bus_up.values()
        ages = [v for v, attrs in telemetry.outbox_oldest_age.values() if attrs == names]
        assert runtime.outbox_oldest_age is not None
    assert (0.0, names) in bus_up
    assert len(ages) == 1
    assert ages[0] >= 0


async def test_missing_or_bad_token_is_401(tmp_path: Path) -> None:
    async with running(_app(_settings(tmp_path))) as client:
        missing = await client.get("/v1/items/x")
        bad = await client.get("/v1/items/x", headers={"Authorization": "Bearer nope"})
        basic = await client.get("/v1/items/x", headers={"Authorization": "Basic dTpw"})
    assert (missing.status_code, missing.json()["code"]) == (401, "unauthorized")
    assert missing.headers["www-authenticate"] == 'Bearer realm="shulian"'
    assert (bad.status_code, bad.json()["code"]) == (401, "invalid_token")
    assert (basic.status_code, basic.json()["code"]) == (401, "unauthorized")


async def test_partners_read_but_never_write(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    partner = _bearer(settings, Role.PARTNER)
    async with running(_app(settings)) as client:
        write = await client.post("/v1/items", json={"name": "x"}, headers=partner)
        read = await client.get("/v1/items/none", headers=partner)
    assert (write.status_code, write.json()["code"]) == (403, "read_only_principal")
    assert (read.status_code, read.json()["code"]) == (404, "not_found")


async def test_roles_are_enforced(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    async with running(_app(settings)) as client:
        supplier = await client.get("/v1/admin", headers=_bearer(settings, Role.SUPPLIER))
        county = await client.get(
            "/v1/admin", headers=_bearer(settings, Role.COUNTY_OPERATOR, "510104")
        )
    assert (supplier.status_code, supplier.json()["code"]) == (403, "forbidden_role")
    assert (county.status_code, county.json()) == (200, {"role": "county_operator"})


async def test_the_request_session_never_commits(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    async with running(_app(settings)) as client:
        await client.post("/v1/sneaky-items")
        read = await client.get("/v1/items/sneaky", headers=_bearer(settings, Role.TALENT))
    assert read.status_code == 404


async def test_request_id_is_kept_when_sane_and_generated_otherwise(tmp_path: Path) -> None:
    async with running(_app(_settings(tmp_path))) as client:
        kept = await client.get("/v1/items/x", headers={"X-Request-ID": "abc-123"})
        replaced = await client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 200})
        fresh = await client.get("/healthz")
    assert kept.headers["x-request-id"] == "abc-123"
    assert kept.json()["request_id"] == "abc-123"
    for response in (replaced, fresh):
        generated = response.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)


async def test_an_unhandled_error_is_a_500_problem_with_the_request_id(tmp_path: Path) -> None:
    async with running(_app(_settings(tmp_path))) as client:
        response = await client.get("/v1/crash", headers={"X-Request-ID": "crash-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "crash-1"
    body = response.json()
    assert (body["code"], body["request_id"], body["instance"]) == (
        "internal_error",
        "crash-1",
        "/v1/crash",
    )
    assert "hunter2" not in response.text


async def test_event_catalogue_and_openapi(tmp_path: Path) -> None:
    app = _app(_settings(tmp_path))
    async with running(app) as client:
        schemas = (await client.get("/v1/events/catalogue")).json()
        asyncapi = (await client.get("/v1/events/asyncapi.json")).json()
        openapi = (await client.get("/openapi.json")).json()
    assert list(schemas) == [ITEM_CREATED]
    assert schemas[ITEM_CREATED]["required"] == ["id", "name"]
    assert [c["address"] for c in asyncapi["channels"].values()] == [ITEMS_TOPIC]
    assert openapi["info"]["title"] == "测试服务"
    assert openapi["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"system", "events"} <= {tag["name"] for tag in openapi["tags"]}
    readyz = openapi["paths"]["/readyz"]["get"]["responses"]["503"]
    assert "application/problem+json" in readyz["content"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_probes_answer_after_shutdown_as_not_started(tmp_path: Path, path: str) -> None:
    app = _app(_settings(tmp_path))
    async with running(app):
        pass
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        response = await client.get(path)
    assert response.status_code == (200 if path == "/healthz" else 503)


async def test_a_405_lists_every_method_the_path_allows(tmp_path: Path) -> None:
    async with running(_app(_settings(tmp_path))) as client:
        response = await client.put("/v1/items/x")
    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")
    assert response.headers["allow"] == "GET, DELETE"
    assert response.json()["detail"] == "请求方法不被允许"


async def test_a_domain_422_is_a_validation_problem_with_errors(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    async with running(_app(settings)) as client:
        response = await client.delete("/v1/items/x", headers=_bearer(settings, Role.CITY_OPERATOR))
    assert response.status_code == 422
    problem = ValidationProblem.model_validate(response.json())
    assert problem.code == "item_in_use"
    assert [issue.model_dump() for issue in problem.errors] == [
        {"loc": [], "msg": "条目 x 仍被引用，不能删除", "type": "item_in_use"}
    ]


async def test_a_body_that_is_not_utf8_is_a_documented_400(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    async with running(_app(settings)) as client:
        response = await client.post(
            "/v1/items",
            content=b'{"name": "\xff\xfe"}',
            headers={**_bearer(settings, Role.CITY_OPERATOR), "content-type": "application/json"},
        )
        openapi = (await client.get("/openapi.json")).json()
    assert (response.status_code, response.json()["code"]) == (400, "bad_request")
    assert response.json()["detail"] == "请求体无法解析：须为 UTF-8 编码的 JSON"
    create = openapi["paths"]["/v1/items"]["post"]["responses"]
    assert {"400", "401", "422"} <= set(create)
    assert "application/problem+json" in create["400"]["content"]


async def test_every_route_behind_a_token_documents_its_401(tmp_path: Path) -> None:
    async with running(_app(_settings(tmp_path))) as client:
        openapi = (await client.get("/openapi.json")).json()
    secured = [
        (path, method, operation["responses"])
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    ]
    assert len(secured) >= 4
    for path, method, responses in secured:
        assert "401" in responses, (path, method)
    assert "401" not in openapi["paths"]["/healthz"]["get"]["responses"]


async def test_unstorable_text_is_refused_in_bodies_without_a_content_type(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    writer = _bearer(settings, Role.CITY_OPERATOR)
    async with running(_app(settings)) as client:
        untyped = await client.post("/v1/items", content=b'{"name": "a\\u0000"}', headers=writer)
        key = await client.get("/v1/items/x", headers={**writer, "X-Item-Key": "a\x00"})
        openapi = (await client.get("/openapi.json")).json()
    assert (untyped.status_code, untyped.json()["code"]) == (422, "invalid_character")
    assert untyped.json()["errors"][0]["loc"] == ["body", "name"]
    assert (key.status_code, key.json()["errors"][0]["loc"]) == (422, ["header", "x-item-key"])
    examples = openapi["paths"]["/v1/items"]["post"]["responses"]["422"]["content"][
        "application/problem+json"
    ]["examples"]
    assert "invalid_character" in examples


@pytest.mark.parametrize("path", ["/v1/bad-response", "/v1/bad-model"])
async def test_a_500_from_a_validation_error_logs_where_but_not_the_input(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    async with running(_app(_settings(tmp_path))) as client:
        response = await client.get(path)
    assert response.status_code == 500
    formatter = logging.Formatter()
    logged = "\n".join(formatter.format(r) for r in caplog.records if r.exc_info)
    assert "unhandled error" in logged
    assert "name: " in logged  # which field failed, and how
    assert "input withheld" in logged
    assert "Traceback" in logged
    assert PHONE not in logged
    assert EMAIL not in logged
