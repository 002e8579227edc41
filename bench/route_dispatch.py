"""Routing alone: CPU per request for FastAPI's router to reach a route, against the kit's
exact-path table (``shulian_common.app.dispatch``), on a service's real app.

Every API route's app is replaced by a no-op, so what is timed is the selection and the scope
set-up, nothing of the route's own work; the third line times building the scope and calling the
no-op, the floor both include. No database, no HTTP.

    uv run python bench/route_dispatch.py [--service matching] [--path /v1/orders]
        [--method GET] [--requests 50000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

from shulian_common.app.dispatch import ExactRoutes
from shulian_common.service import installed_service
from shulian_common.settings import Settings


async def _noop(scope: Any, receive: Any, send: Any) -> None:
    pass


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", default="matching")
    parser.add_argument("--path", default="/v1/orders")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    definition = installed_service(args.service)
    assert definition is not None, f"{args.service} is not installed"
    settings = Settings(service=args.service, env="test", data_dir=tempfile.mkdtemp())
    app = definition.create_app(settings)
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            context._effective_route.app = _noop
    routes = ExactRoutes(app.router)

    def scope() -> dict[str, Any]:
        return {
            "type": "http",
            "method": args.method,
            "path": args.path,
            "root_path": "",
            "query_string": b"",
            "headers": [],
        }

    assert routes.app_for(scope()) is _noop, f"{args.method} {args.path} is not in the table"

    async def router(n: int) -> None:
        for _ in range(n):
            await app.router(scope(), None, None)  # type: ignore[arg-type]

    async def table(n: int) -> None:
        for _ in range(n):
            request = scope()
            app_ = routes.app_for(request)
            assert app_ is not None
            await app_(request, None, None)  # type: ignore[arg-type]

    async def floor(n: int) -> None:
        for _ in range(n):
            await _noop(scope(), None, None)

    ways: list[tuple[str, Callable[[int], Awaitable[None]]]] = [
        ("FastAPI's router", router),
        ("exact-path table", table),
        ("scope and call only", floor),
    ]
    print(f"{args.service}: {args.method} {args.path}, {args.requests} requests a round")
    for round_ in range(1, args.rounds + 1):
        for name, way in ways:
            started = time.process_time()
            await way(args.requests)
            micros = (time.process_time() - started) / args.requests * 1e6
            print(f"round {round_}  {name:<20} {micros:6.2f} µs CPU/request")


if __name__ == "__main__":
    asyncio.run(main())
