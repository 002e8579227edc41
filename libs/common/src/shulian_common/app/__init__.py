"""The service app factory: one FastAPI app per service, with its runtime started by the lifespan.

The lifespan opens the database (and migrates it), connects the bus, and runs the outbox relay
and the consumers as background tasks until shutdown. A broker that is down at start does not
stop the service: writes only append to the outbox, so they keep succeeding, and the background
tasks keep trying to connect and drain the backlog when it returns. ``/readyz`` says so meanwhile.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp

from shulian_common.app.flat import install_flat_handlers
from shulian_common.app.middleware import REQUEST_ID_HEADER, ServiceMiddleware, service_stack
from shulian_common.app.runtime import (
    ServiceRuntime,
    StartupHook,
    runtime_of,
    start_runtime,
    stop_runtime,
)
from shulian_common.app.system import SYSTEM_TAGS, Readiness, check_readiness, system_router
from shulian_common.auth import BEARER_SCHEME
from shulian_common.consumer import Subscription
from shulian_common.errors import install_error_handlers
from shulian_common.logs import bind_service, configure_logging, reset_service
from shulian_common.settings import Settings
from shulian_common.telemetry import configure_telemetry, telemetry_active

__all__ = [
    "REQUEST_ID_HEADER",
    "Readiness",
    "ServiceApp",
    "ServiceMiddleware",
    "ServiceRuntime",
    "StartupHook",
    "check_readiness",
    "create_service_app",
    "runtime_of",
    "start_runtime",
    "stop_runtime",
]


# FastAPI's own telemetry, for a service whose telemetry is off: FastAPI asks per request whether
# it is enabled, looking up the global tracer, meter and logger providers (issue 13); off in its
# configuration, the answer is three dictionary lookups. A service with telemetry on keeps
# FastAPI's defaults.
_NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class ServiceApp(FastAPI):
    """A FastAPI app whose middleware stack is the kit's (``middleware.service_stack``)."""

    def build_middleware_stack(self) -> ASGIApp:
        return service_stack(self, super().build_middleware_stack())


def create_service_app(
    *,
    settings: Settings,
    title: str,
    description: str,
    version: str = "0.1.0",
    routers: Sequence[APIRouter] = (),
    migrations: Path | None = None,
    subscriptions: Sequence[Subscription] = (),
    on_startup: StartupHook | None = None,
    openapi_tags: Sequence[dict[str, Any]] = (),
) -> FastAPI:
    """A service's FastAPI app: error handling, request ids, tracing, probes, partner feed."""
    app = ServiceApp(
        title=title,
        description=description,
        version=version,
        openapi_tags=[*SYSTEM_TAGS, *openapi_tags],
        lifespan=_lifespan(settings, migrations, subscriptions, on_startup),
        telemetry=None if telemetry_active(settings) else _NO_NATIVE_TELEMETRY,
    )
    app.state.settings = settings
    # ``shulian migrate`` (Kubernetes' init container) upgrades the database without serving.
    app.state.migrations = migrations
    install_error_handlers(app)
    # Imported here: ``query`` builds on ``http``, whose dependencies use this package's runtime.
    from shulian_common.query import install_query_models_openapi

    install_query_models_openapi(app)
    _document_bearer_scheme(app)
    app.add_middleware(ServiceMiddleware, service=settings.service, node=settings.node_id)
    app.include_router(system_router(settings))
    for router in routers:
        app.include_router(router)
    # Every service serves partners its published events: changes feed, live tail, webhooks.
    # Imported here: their routes use ``deps``, which imports this package's runtime.
    from shulian_common.feed_api import feed_router
    from shulian_common.webhooks.api import subscriptions_router

    app.include_router(feed_router())
    app.include_router(subscriptions_router())
    # Instrument now: the middleware stack is built on the first ASGI call, the lifespan's.
    configure_telemetry(settings, app=app)
    # Routes that take only the request and other dependencies skip FastAPI's per-request
    # dependency solving (issue 13); the others, and the OpenAPI document, are FastAPI's.
    install_flat_handlers(app)
    return app


def _lifespan(
    settings: Settings,
    migrations: Path | None,
    subscriptions: Sequence[Subscription],
    on_startup: StartupHook | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings)
        service_token = bind_service(settings.service, settings.node_id)
        telemetry = configure_telemetry(settings)
        runtime = await start_runtime(settings, migrations=migrations, subscriptions=subscriptions)
        app.state.runtime = runtime
        try:
            if on_startup is not None:
                await on_startup(runtime)
            frozen = _freeze_startup_garbage(settings)
            yield
        finally:
            if frozen:
                gc.unfreeze()
            del app.state.runtime
            await stop_runtime(runtime)
            if telemetry is not None:
                telemetry.force_flush()
            reset_service(service_token)

    return lifespan


def _freeze_startup_garbage(settings: Settings) -> bool:
    """Collect once, then move every object start-up left (modules, the app, the OpenAPI
    models, caches) out of the collector's sight; whether it did.

    Without it the oldest generation holds that whole heap, and each full collection, which
    allocation-heavy requests trigger every few hundred requests, walks it: 130-200 ms pauses
    that were the p99 of a search (issue 13). Unfrozen at shutdown, so that a process that
    starts apps again and again (tests) can still free them.
    """
    if not settings.gc_freeze:
        return False
    gc.collect()
    gc.freeze()
    return True


def _document_bearer_scheme(app: FastAPI) -> None:
    """Always list the bearer scheme, even before any route requires it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        doc = build()
        schemes = doc.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes.setdefault(
            BEARER_SCHEME,
            {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        )
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
