"""Flat request handlers: routes whose dependencies FastAPI need not solve per request.

FastAPI handles a request by walking the route's dependency tree (``solve_dependencies``): per
request and per dependency it looks the call up, builds its cache key, sorts the parameters by
kind, opens exit stacks, and then runs the endpoint through its serialisation layer. On a list
route that answers bytes (``http.json_response``) this was a quarter of the request's CPU, more
than the query (issue 13). Most of the kit's routes need nothing of it: every parameter they take
is the request itself or another dependency (``PrincipalDep``, ``ConnectionDep``,
``query_model(…)``, ``require_roles(…)``), and they answer a ``Response`` they built.

For such a route, ``install_flat_handlers`` computes once, at start-up, the order in which
FastAPI would call the dependencies (sub-dependencies first, each cached one once, the router's
own before the route's) and replaces the route's handler with one that calls them in that order
and then the endpoint. Everything else stays FastAPI's: matching, the OpenAPI document (built
from the same dependants, untouched), the exception handlers (a dependency's error propagates as
it does under FastAPI, so a 401, 403, 422 or 400 problem is the same), middlewares.

A route is flattened only when every dependant in its tree takes nothing but the request and
other dependencies (no path, query, header, cookie or body parameter for FastAPI to validate; no
``Response``, background tasks or security scopes), every call is a coroutine or an async
generator function (a plain ``def`` would need FastAPI's thread pool), and the endpoint is
declared to return a ``Response``. Any other route keeps FastAPI's handler. While
``app.dependency_overrides`` holds anything, a flattened route hands the request to FastAPI's
handler too, so overrides work as documented.

Differences from FastAPI's handler, both invisible to clients: an async-generator dependency
(the request's database connection) is closed when the endpoint returns, before the response
bytes are sent (FastAPI closes it after sending), which returns the connection to the pool
sooner; and FastAPI's per-request telemetry hooks (``fastapi.telemetry``, unused by the kit)
are not called.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi._body_limit import wrap_app_with_body_limit
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

_REQUEST = -1  # an argument that is the request itself, not a step's result


@dataclass(frozen=True, slots=True)
class _Step:
    """One dependency call: its keyword arguments taken from earlier steps (or the request)."""

    call: Callable[..., Any]
    arguments: tuple[tuple[str, int], ...]
    generator: bool  # an async generator: entered, and closed when the endpoint returns


class _Unflattenable(Exception):
    """The route needs something only FastAPI's own handler does."""


def _is_async(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004  (an instance such as HTTPBearer)
    )


def _check(dependant: Dependant) -> None:
    if (
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or dependant.websocket_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.own_oauth_scopes
        or dependant.call is None
    ):
        raise _Unflattenable


def _plan(route_dependant: Dependant) -> tuple[_Step, ...]:
    """The dependency calls of ``route_dependant`` in FastAPI's order, the endpoint last."""
    steps: list[_Step] = []
    cached: dict[tuple[Any, Any], int] = {}

    def add(dependant: Dependant, *, endpoint: bool) -> int:
        _check(dependant)
        call = dependant.call
        assert call is not None
        key = (call, dependant.scope)
        if not endpoint and dependant.use_cache and key in cached:
            return cached[key]
        arguments: list[tuple[str, int]] = []
        for sub in dependant.dependencies:
            index = add(sub, endpoint=False)
            if sub.name is not None:
                arguments.append((sub.name, index))
        # The request, declared as a ``Request`` or an ``HTTPConnection`` (as ``HTTPBearer`` does).
        for name in (dependant.request_param_name, dependant.http_connection_param_name):
            if name is not None:
                arguments.append((name, _REQUEST))
        generator = inspect.isasyncgenfunction(call)
        if not generator and not _is_async(call):
            raise _Unflattenable  # FastAPI runs it in a thread, or it is a sync generator
        if endpoint and (generator or not _returns_response(call)):
            raise _Unflattenable
        steps.append(_Step(call, tuple(arguments), generator))
        index = len(steps) - 1
        if not endpoint and dependant.use_cache:
            cached[key] = index
        return index

    add(route_dependant, endpoint=True)
    return tuple(steps)


def _returns_response(call: Callable[..., Any]) -> bool:
    try:
        returned = inspect.signature(call, eval_str=True).return_annotation
    except (NameError, TypeError, ValueError):
        return False
    return isinstance(returned, type) and issubclass(returned, Response)


def _arguments(step: _Step, request: Request, results: list[Any]) -> dict[str, Any]:
    return {
        name: request if index == _REQUEST else results[index] for name, index in step.arguments
    }


def _handler(steps: tuple[_Step, ...]) -> Callable[[Request], Any]:
    *dependencies, endpoint = steps

    async def handle(request: Request) -> Response:
        results: list[Any] = []
        async with AsyncExitStack() as stack:
            for step in dependencies:
                kwargs = _arguments(step, request, results)
                if step.generator:
                    opened = asynccontextmanager(step.call)(**kwargs)
                    results.append(await stack.enter_async_context(opened))
                else:
                    results.append(await step.call(**kwargs))
            response: Response = await endpoint.call(**_arguments(endpoint, request, results))
        return response

    return handle


def _asgi(handle: Callable[[Request], Any]) -> ASGIApp:
    """``handle`` as the route's ASGI app: Starlette's ``request_response`` without the layer
    that answers the route's exceptions (two closures and a ``send`` wrapper per request). The
    same handlers answer them one layer out: the kit's ``ServiceMiddleware`` on the service
    stack, FastAPI's ``ExceptionMiddleware`` on the standard one."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response: Response = await handle(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


class _Flat:
    """A flattened route's ASGI app, handing over to FastAPI's while overrides are set."""

    def __init__(self, app: FastAPI, flat: ASGIApp, fastapi: ASGIApp) -> None:
        self.overrides = app.dependency_overrides
        self.flat = flat
        self.fastapi = fastapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.overrides:
            await self.fastapi(scope, receive, send)
        else:
            await self.flat(scope, receive, send)


def _contexts(app: FastAPI) -> Iterator[Any]:
    for context in iter_route_contexts(app.routes):
        effective = context._effective_route
        if getattr(effective, "app", None) is not None and isinstance(
            getattr(effective, "dependant", None), Dependant
        ):
            yield effective


def install_flat_handlers(app: FastAPI) -> list[str]:
    """Give each route that qualifies (see the module) a flat handler; the flattened routes,
    as ``"METHOD path"`` (for tests and the start-up log)."""
    flattened: list[str] = []
    for effective in _contexts(app):
        if isinstance(effective.app, _Flat):
            continue
        try:
            steps = _plan(effective.dependant)
        except _Unflattenable:
            continue
        flat = wrap_app_with_body_limit(
            _asgi(_handler(steps)), getattr(effective, "max_body_size", None)
        )
        effective.app = _Flat(app, flat, effective.app)
        flattened.extend(f"{method} {effective.path}" for method in sorted(effective.methods))
    return flattened
