"""Checks of the kit's exact-path dispatch (``shulian_common.app.dispatch``): for each request
in its table, FastAPI's own router, driven for real, hands the same route the same scope."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shulian_common.app.dispatch import ExactRoutes, exact_routes

# Plain data is compared by value; anything else (routes, contexts, routers, endpoints) must be
# the very same object.
_DATA = (str, bytes, int, float, list, tuple, type(None))


class _Recorder:
    """Stands in for a route's app: keeps the scope it is called with, answers nothing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002
        self.scopes.append({**scope, "fastapi": dict(scope.get("fastapi", {}))})


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """Each API route of the app as FastAPI serves it (its effective context when included)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context._effective_route


@contextmanager
def _recording(app: FastAPI) -> Iterator[None]:
    """Every API route's app replaced by a recorder, for the duration."""
    replaced: list[tuple[Any, ASGIApp]] = []
    for route in _api_routes(app):
        replaced.append((route, route.app))
        route.app = _Recorder(f"{sorted(route.methods)} {route.path}")
    try:
        yield
    finally:
        for route, original in replaced:
            route.app = original


def _scope(path: str, method: str) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test")],
    }


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Message) -> None:
    pass


async def _selected_by_fastapi(app: FastAPI, path: str, method: str) -> tuple[Any, Scope]:
    """The recorder FastAPI's router calls for the request, and the scope it hands it."""
    before = {id(r): len(r.scopes) for r in _recorders(app)}
    await app.router(_scope(path, method), _receive, _send)
    called = [r for r in _recorders(app) if len(r.scopes) > before[id(r)]]
    if len(called) != 1:
        return None, {}
    return called[0], called[0].scopes[-1]


def _recorders(app: FastAPI) -> Iterator[_Recorder]:
    for route in _api_routes(app):
        if isinstance(route.app, _Recorder):
            yield route.app


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, _DATA) and isinstance(b, _DATA):
        return bool(a == b)
    return a is b


async def dispatch_mismatches(app: FastAPI) -> list[str]:
    """Each request of the app's exact-path table for which FastAPI's router, driven for real,
    calls another route's app, or the same one with another scope: empty when they agree."""
    mismatches: list[str] = []
    with _recording(app):
        routes = ExactRoutes(app.router)
        for path, methods in exact_routes(app.router).items():
            for method in sorted(methods):
                recorder, by_fastapi = await _selected_by_fastapi(app, path, method)
                by_table = _scope(path, method)
                routed = routes.app_for(by_table)
                if recorder is None or routed is not recorder:
                    theirs = getattr(recorder, "name", "no route")
                    ours = getattr(routed, "name", "no route")
                    mismatches.append(f"{method} {path}: FastAPI selects {theirs}, table {ours}")
                elif not _same(by_fastapi, by_table):
                    mismatches.append(f"{method} {path}: the scopes differ")
    return mismatches


def parameterless_get_routes(app: FastAPI) -> set[str]:
    """``"GET path"`` of each API route of the app that takes GET on a path without
    parameters: the requests a list endpoint serves."""
    return {
        f"GET {route.path}"
        for route in _api_routes(app)
        if "GET" in route.methods and not route.param_convertors
    }


def tabled(app: FastAPI) -> set[str]:
    """``"METHOD path"`` of each request in the app's exact-path table."""
    table = exact_routes(app.router)
    return {f"{method} {path}" for path, methods in table.items() for method in methods}
