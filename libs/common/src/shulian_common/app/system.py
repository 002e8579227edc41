"""The routes every service has: liveness, readiness and its event catalogue."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from shulian_common.app.runtime import BusState, ServiceRuntime, oldest_unsent_age, runtime_of
from shulian_common.catalogue import catalogue
from shulian_common.errors import ServiceUnavailableError, problem_responses
from shulian_common.settings import Settings

logger = logging.getLogger(__name__)

SYSTEM_TAGS: list[dict[str, Any]] = [
    {"name": "system", "description": "存活与就绪检查"},
    {"name": "events", "description": "本服务发布的事件目录（JSON Schema 与 AsyncAPI）"},
    {"name": "feed", "description": "合作平台变更流：按提交顺序读取、长轮询与实时推送（SSE）"},
    {"name": "subscriptions", "description": "合作平台 Webhook 订阅、签名推送与投递记录"},
]


class Health(BaseModel):
    """The process is alive."""

    status: str = Field(examples=["ok"])


class ReadinessWarning(BaseModel):
    """Something an operator should look at that does not stop the service from serving."""

    code: str = Field(description="stable, snake_case", examples=["outbox_backlog_old"])
    detail: str = Field(examples=["最早未发布的事件已等待 75 秒（阈值 60 秒）"])


class Readiness(BaseModel):
    """The service can serve requests: its database answers. The bus, the outbox and the
    consumers are reported, never decisive: writes go to the outbox while the broker is down."""

    status: Literal["ready"] = Field(examples=["ready"])
    database: Literal["ok"] = Field(examples=["ok"])
    bus: BusState = Field(
        description="the bus as the last background ping found it", examples=["ok"]
    )
    bus_checked_seconds_ago: float | None = Field(
        description="age of that ping; null before the first", examples=[1.2]
    )
    outbox_backlog: int = Field(description="events committed but not yet published", examples=[0])
    outbox_oldest_age_seconds: float | None = Field(
        description="how long the oldest unpublished event has waited; null when none waits",
        examples=[None],
    )
    consumer_lag: int | None = Field(
        description="records the consumers are behind the log end (last reading); null when "
        "the service consumes nothing",
        examples=[0],
    )
    warnings: list[ReadinessWarning] = Field(
        description="thresholds crossed (SHULIAN_READY_*_WARN settings); still ready",
        examples=[[]],
    )


def system_router(settings: Settings) -> APIRouter:
    """Probes and event catalogue routes for the service ``settings`` names."""
    router = APIRouter()

    @router.get("/healthz", tags=["system"], response_model=Health)
    async def healthz() -> Health:
        """Liveness: the process answers (checks no dependency)."""
        return Health(status="ok")

    @router.get(
        "/readyz",
        tags=["system"],
        response_model=Readiness,
        responses=problem_responses(ServiceUnavailableError),
    )
    async def readyz(request: Request) -> Readiness:
        """Readiness: the database answers; bus, outbox and consumer lag are reported."""
        return await check_readiness(runtime_of(request.app))

    @router.get("/v1/events/catalogue", tags=["events"])
    async def event_catalogue() -> JSONResponse:
        """The JSON Schema of each event type this service publishes, with its topic."""
        return JSONResponse(catalogue.for_service(settings.service).json_schemas())

    @router.get("/v1/events/asyncapi.json", tags=["events"])
    async def event_asyncapi() -> JSONResponse:
        """The AsyncAPI 3 document of the events this service publishes."""
        doc = catalogue.for_service(settings.service).asyncapi(
            title=f"Shulian {settings.service} events"
        )
        return JSONResponse(doc)

    return router


@dataclass(frozen=True, slots=True)
class _OutboxState:
    backlog: int
    oldest_age: float | None


async def _check_database(runtime: ServiceRuntime) -> _OutboxState:
    async with runtime.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return _OutboxState(
        backlog=await runtime.relay.backlog(),
        oldest_age=await oldest_unsent_age(runtime.engine),
    )


async def check_readiness(runtime: ServiceRuntime) -> Readiness:
    """Ready when the database answers in time (503 ``not_ready`` otherwise); the bus state is
    the background watcher's last reading, so a hanging broker never delays the answer."""
    try:
        async with asyncio.timeout(runtime.settings.ready_database_timeout_s):
            state = await _check_database(runtime)
    except Exception as exc:  # whatever the driver raises, the database cannot serve
        logger.warning("readiness: database: %s: %s", type(exc).__name__, exc)
        raise ServiceUnavailableError(
            "服务未就绪：数据库不可用",
            code="not_ready",
            extra={"checks": {"database": "unavailable", "bus": runtime.bus_state}},
        ) from None
    lag = runtime.consumers.stats()["lag"] if runtime.consumers is not None else None
    checked = runtime.bus_checked_at
    return Readiness(
        status="ready",
        database="ok",
        bus=runtime.bus_state,
        bus_checked_seconds_ago=None if checked is None else round(time.monotonic() - checked, 3),
        outbox_backlog=state.backlog,
        outbox_oldest_age_seconds=None if state.oldest_age is None else round(state.oldest_age, 3),
        consumer_lag=lag,
        warnings=_warnings(runtime.settings, runtime.bus_state, state, lag),
    )


def _warnings(
    settings: Settings, bus: BusState, outbox: _OutboxState, lag: int | None
) -> list[ReadinessWarning]:
    warnings = []
    if bus == "down":
        warnings.append(
            ReadinessWarning(code="bus_down", detail="事件总线不可用，事件暂存于发件箱")
        )
    age_limit = settings.ready_outbox_age_warn_s
    if outbox.oldest_age is not None and outbox.oldest_age > age_limit:
        warnings.append(
            ReadinessWarning(
                code="outbox_backlog_old",
                detail=f"最早未发布的事件已等待 {outbox.oldest_age:.0f} 秒"
                f"（阈值 {age_limit:g} 秒）",
            )
        )
    if outbox.backlog > settings.ready_outbox_backlog_warn:
        warnings.append(
            ReadinessWarning(
                code="outbox_backlog_large",
                detail=f"{outbox.backlog} 个事件未发布"
                f"（阈值 {settings.ready_outbox_backlog_warn}）",
            )
        )
    if lag is not None and lag > settings.ready_consumer_lag_warn:
        warnings.append(
            ReadinessWarning(
                code="consumer_lag",
                detail=f"消费者落后 {lag} 条记录（阈值 {settings.ready_consumer_lag_warn}）",
            )
        )
    return warnings
