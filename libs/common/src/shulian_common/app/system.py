"""The routes every service has: liveness, readiness and its event catalogue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from shulian_common.app.runtime import ServiceRuntime, runtime_of
from shulian_common.catalogue import Catalogue, catalogue
from shulian_common.errors import ServiceUnavailableError, problem_responses
from shulian_common.settings import Settings

logger = logging.getLogger(__name__)

# A safety net against hangs, longer than the bus clients' own connect timeout (5 s for Kafka) so
# that it fires first and cleans up after itself.
READINESS_TIMEOUT = 10.0  # seconds each /readyz check may take

SYSTEM_TAGS: list[dict[str, Any]] = [
    {"name": "system", "description": "存活与就绪检查"},
    {"name": "events", "description": "本服务发布的事件目录（JSON Schema 与 AsyncAPI）"},
]

T = TypeVar("T")


class Health(BaseModel):
    """The process is alive."""

    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    """The service can serve: its database and its bus answer."""

    status: str = Field(examples=["ready"])
    database: str = Field(examples=["ok"])
    bus: str = Field(examples=["ok"])
    outbox_backlog: int = Field(description="events committed but not yet published", examples=[0])


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
        """Readiness: the database answers ``SELECT 1`` and the bus answers a ping."""
        return await check_readiness(runtime_of(request.app))

    @router.get("/v1/events/catalogue", tags=["events"])
    async def event_catalogue() -> JSONResponse:
        """The JSON Schema of each event type this service publishes, with its topic."""
        return JSONResponse(_service_catalogue(settings.service).json_schemas())

    @router.get("/v1/events/asyncapi.json", tags=["events"])
    async def event_asyncapi() -> JSONResponse:
        """The AsyncAPI 3 document of the events this service publishes."""
        doc = _service_catalogue(settings.service).asyncapi(
            title=f"Shulian {settings.service} events"
        )
        return JSONResponse(doc)

    return router


def _service_catalogue(service: str) -> Catalogue:
    """The events of one service (several services' models may share a process in tests)."""
    own = Catalogue()
    for spec in catalogue:
        if spec.service == service:
            own.register(spec.model, type=spec.type, topic=spec.topic)
    return own


async def _attempt(name: str, probe: Awaitable[T]) -> tuple[bool, T | None]:
    """Whether ``probe`` succeeded in time, and its result; why not is logged, not shown."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT):
            return True, await probe
    except Exception as exc:
        logger.warning("readiness: %s: %s: %s", name, type(exc).__name__, exc)
        return False, None


async def _database_backlog(runtime: ServiceRuntime) -> int:
    async with runtime.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return await runtime.relay.backlog()


async def check_readiness(runtime: ServiceRuntime) -> Readiness:
    """Check the database and the bus; 503 ``not_ready`` naming whichever failed."""
    (database_ok, backlog), (bus_ok, _) = await asyncio.gather(
        _attempt("database", _database_backlog(runtime)),
        _attempt("bus", runtime.publisher.ping()),
    )
    if not database_ok or not bus_ok or backlog is None:
        failed = [name for name, ok in (("数据库", database_ok), ("事件总线", bus_ok)) if not ok]
        raise ServiceUnavailableError(
            f"服务未就绪：{'、'.join(failed)}不可用",
            code="not_ready",
            extra={"checks": {"database": _status(database_ok), "bus": _status(bus_ok)}},
        )
    return Readiness(status="ready", database="ok", bus="ok", outbox_backlog=backlog)


def _status(ok: bool) -> str:
    return "ok" if ok else "unavailable"
