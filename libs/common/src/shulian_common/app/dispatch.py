"""Exact-path dispatch: the route FastAPI would select for a request, looked up in a table
rather than walked to, when the request's path is one of a route's own (no path parameters).

FastAPI selects a route by walking its routers: for ``GET /v1/orders`` the app's router asks each
included router whether it matches (which matches each of its routes' regexes), then asks the
selected one again to handle, which matches again, then the route checks the method: about three
``_IncludedRouter._match`` and eight ``matches`` calls per request, a tenth of a list request's
CPU (issue 13). For a path without parameters the answer depends only on the path and the
method, so it can be asked once: ``ExactRoutes`` asks FastAPI's own matching, for every route
whose path has no parameters and each of its methods (HEAD too where GET is), which route it
would select for exactly that path, and keeps the pair only when the answer is that route.
Anything else (a path another route shadows, a method the route does not take, a trailing
slash, a mount, a route with parameters) is not in the table and goes through FastAPI's router,
so its 404, 405 with ``Allow``, redirect or mount is FastAPI's.

On a hit the scope is set up as FastAPI's routing sets it up for that route (``router``,
``endpoint``, ``path_params``, ``route`` and the ``fastapi`` keys its handler reads: the
effective route context, the included router and any form limits), and the route's app, the one
``APIRoute.handle`` would call, is called directly. The table is built on the first request and
again whenever the routers' version changes (``include_router``, ``add_api_route`` and the like
mark it); a route appended to ``routes`` by hand after that can only follow the ones FastAPI
selects first, so it cannot change an entry. FastAPI's own telemetry of a request (the
``fastapi.telemetry`` scope key, set when the app's telemetry is on) is fed by its routing, so
such a request goes through the router, as does one arriving with FastAPI's keys already in its
scope (an app mounted in another FastAPI app). The table is left empty when some route's
matching may depend on more than the path and the method (a ``Host``, a custom route class).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from fastapi.routing import (
    APIRoute,
    APIRouter,
    APIWebSocketRoute,
    _EffectiveRouteContext,
    _IncludedRouter,
)
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Scope

# What FastAPI keeps in ``scope["fastapi"]`` (``fastapi.routing._FASTAPI_*_KEY``).
_FASTAPI = "fastapi"
_CONTEXT = "effective_route_context"
_INCLUDED_ROUTER = "included_router"
_FORM_LIMITS = "form_limits"

_VERSION = attrgetter("_routes_version")  # bumped by ``APIRouter._mark_routes_changed``

# Route kinds whose matching depends only on the scope's type, path and method.
_PLAIN_ROUTES = (APIRoute, Route, Mount, WebSocketRoute, APIWebSocketRoute)


@dataclass(frozen=True, slots=True)
class _Selected:
    """A route FastAPI selects, with what its routing leaves in the scope on the way."""

    router: APIRouter
    included_router: _IncludedRouter
    context: _EffectiveRouteContext
    form_limits: dict[str, Any] | None  # merged as FastAPI merges them; None when none is set

    def enter(self, scope: Scope) -> ASGIApp:
        """Set ``scope`` up as FastAPI's routing does for this route; the route's app."""
        fastapi: dict[str, Any] = {}
        if self.form_limits is not None:
            fastapi[_FORM_LIMITS] = dict(self.form_limits)
        fastapi[_INCLUDED_ROUTER] = self.included_router
        fastapi[_CONTEXT] = self.context
        scope[_FASTAPI] = fastapi
        scope.setdefault("router", self.router)
        scope["endpoint"] = self.context.endpoint
        scope["path_params"] = dict(scope.get("path_params", ()))
        scope["route"] = self.context.original_route
        app = self.context.app
        assert app is not None  # an APIRoute's context always has one
        return app


class ExactRoutes:
    """The routes of ``router`` that a request's exact path and method select (see the module)."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        # Every router in the tree, and the sum of their versions when the table was built: a
        # change anywhere marks one of them (including a router into another marks that one).
        # Summed here rather than by ``_get_routes_version``, which walks the tree (5 µs).
        self._routers: tuple[APIRouter, ...] = ()
        self._version = -1
        self._table: dict[str, dict[str, _Selected]] = {}

    def app_for(self, scope: Scope) -> ASGIApp | None:
        """The app of the route FastAPI would select for this HTTP request, with ``scope`` set
        up as its routing would; None, and ``scope`` untouched, when the router must decide."""
        if _FASTAPI in scope or scope.get("fastapi.telemetry") is not None:
            return None
        if sum(map(_VERSION, self._routers)) != self._version:
            self._rebuild()
        methods = self._table.get(get_route_path(scope))
        selected = None if methods is None else methods.get(scope["method"])
        return None if selected is None else selected.enter(scope)

    def _rebuild(self) -> None:
        self._routers = tuple({id(router): router for router in _routers(self.router)}.values())
        self._version = sum(map(_VERSION, self._routers))
        self._table = exact_routes(self.router)


def _routers(router: APIRouter) -> Iterator[APIRouter]:
    yield router
    for route in router.routes:
        if isinstance(route, _IncludedRouter):
            yield from _routers(route.original_router)


def exact_routes(router: APIRouter) -> dict[str, dict[str, _Selected]]:
    """Path, then method, to the route FastAPI's matching selects for exactly that request,
    for every route whose path has no parameters (empty when matching is not predictable)."""
    if not _predictable(router):
        return {}
    table: dict[str, dict[str, _Selected]] = {}
    for context in _parameterless_api_contexts(router):
        methods = set(context.methods)
        if "GET" in methods:
            methods.add("HEAD")
        for method in sorted(methods):
            selected = select(router, context.path, method)
            if selected is not None and selected.context is context:
                table.setdefault(context.path, {})[method] = selected
    return table


def select(router: APIRouter, path: str, method: str) -> _Selected | None:
    """The included route FastAPI's matching selects with a full match for an HTTP request of
    ``method`` on ``path`` (the route path, without root path), as ``APIRouter.app`` and
    ``_IncludedRouter._handle_selected`` select it; None when none matches fully or the one
    selected is not an ``APIRoute`` included through a router."""
    scope: Scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [],
        _FASTAPI: {},
    }
    # The first route that matches fully, in order (an earlier partial match only answers 405
    # when no route matches fully).
    top = next((route for route in router.routes if route.matches(scope)[0] is Match.FULL), None)
    if not isinstance(top, _IncludedRouter):
        return None
    included = top
    limits = [router.form_limits, included.include_context.form_limits]
    while True:
        scope[_FASTAPI][_INCLUDED_ROUTER] = included
        match, _, route, context = included._match(scope)
        if match is not Match.FULL:
            return None
        if not isinstance(route, _IncludedRouter):
            break
        included = route
        limits.append(included.include_context.form_limits)
    if context is None or not isinstance(context.original_route, APIRoute):
        return None
    return _Selected(router, included, context, _merged(limits))


def _merged(limits: list[Any]) -> dict[str, Any] | None:
    """The form limits FastAPI leaves in the scope, each router's overriding the outer ones
    (``_apply_router_form_limits``): None when no router on the way sets any."""
    merged: dict[str, Any] | None = None
    for own in limits:
        if own:
            merged = {**(merged or {}), **own}
    return merged


def _parameterless_api_contexts(router: APIRouter) -> Iterator[_EffectiveRouteContext]:
    for route in router.routes:
        if isinstance(route, _IncludedRouter):
            for context in route.effective_route_contexts():
                if isinstance(context.original_route, APIRoute) and not context.param_convertors:
                    yield context


def _predictable(router: APIRouter) -> bool:
    """Whether every route's matching, and the router's dispatch, depend only on the request's
    type, path and method, as FastAPI's own classes do (no custom class, no ``Host``, no
    middleware on the router itself)."""
    if type(router) is not APIRouter or router.middleware_stack != router.app:
        return False
    return all(_plain(route) for route in router.routes)


def _plain(route: BaseRoute | _EffectiveRouteContext) -> bool:
    if isinstance(route, _EffectiveRouteContext):
        return type(route.original_route) in _PLAIN_ROUTES
    if type(route) is _IncludedRouter:
        return type(route.original_router) is APIRouter and all(
            _plain(candidate) for candidate in route.effective_candidates()
        )
    return type(route) in _PLAIN_ROUTES
