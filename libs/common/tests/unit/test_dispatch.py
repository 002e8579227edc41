"""Exact-path dispatch: a request whose path and method select a route by themselves reaches it
without the router's walk, with the scope FastAPI's routing gives it; every other request (a
shadowed path, 405, a trailing slash, HEAD, a mount, a 404) is answered as FastAPI answers it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from shulian_common.app import ServiceMiddleware, create_service_app
from shulian_common.app.dispatch import ExactRoutes, exact_routes
from shulian_common.settings import Settings
from shulian_common.testing.routes import dispatch_mismatches, tabled


def _said(request: Request) -> JSONResponse:
    """What routing left in the scope: which route, endpoint and limits the request reached."""
    scope = request.scope
    route = scope["route"]
    return JSONResponse(
        {
            "route": f"{sorted(route.methods)} {route.path}",
            "endpoint": scope["endpoint"].__name__,
            "path_params": scope["path_params"],
            "form_limits": scope["fastapi"].get("form_limits"),
            "router_is_the_apps": scope["router"] is request.app.router,
        }
    )


async def who() -> str:
    return "the real one"


def _routers(early: APIRouter) -> list[APIRouter]:
    things = APIRouter(prefix="/v1/things")

    @things.get("")
    async def list_things(request: Request) -> JSONResponse:
        return _said(request)

    @things.post("")
    async def create_thing(request: Request) -> JSONResponse:
        return _said(request)

    @things.get("/{thing_id}")
    async def read_thing(thing_id: str, request: Request) -> JSONResponse:
        return _said(request)

    @things.get("/mine")  # shadowed: ``/{thing_id}`` comes first and takes "mine"
    async def mine(request: Request) -> JSONResponse:
        return _said(request)

    mounted = APIRouter()
    mounted.mount("/v1/mounted", PlainTextResponse("a mounted app"))

    plain = APIRouter(prefix="/v1")

    @plain.get("/plain")
    async def read_plain(request: Request) -> JSONResponse:
        return _said(request)

    @plain.post("/plain")
    async def create_plain(request: Request) -> JSONResponse:
        return _said(request)

    @plain.api_route("/both", methods=["GET", "PUT"])
    async def both(request: Request) -> JSONResponse:
        return _said(request)

    @plain.api_route("/heads", methods=["GET", "HEAD"])
    async def heads(request: Request) -> JSONResponse:
        return _said(request)

    @plain.get("/mounted/readme")  # shadowed by the mount of the router included before
    async def files(request: Request) -> JSONResponse:
        return _said(request)

    @plain.get("/who")
    async def read_who(request: Request, name: Annotated[str, Depends(who)]) -> JSONResponse:
        return JSONResponse({"who": name, "route": request.scope["route"].path})

    inner = APIRouter(prefix="/inner")

    @inner.get("")
    async def read_inner(request: Request) -> JSONResponse:
        return _said(request)

    # Three routers deep, each inclusion with form limits of its own.
    middle = APIRouter()
    middle.include_router(inner, form_limits={"max_fields": 5})
    outer = APIRouter(prefix="/v1/outer")
    outer.include_router(middle, form_limits={"max_files": 2, "max_fields": 9})
    return [early, things, mounted, plain, outer]


def _app(tmp_path: Path, early: APIRouter | None = None) -> FastAPI:
    """The app; ``early``, empty at first, is included before the other routers (so a route
    added to it later comes before theirs)."""
    settings = Settings(env="test", service="routetest", node_id="510100", data_dir=tmp_path)
    routers = _routers(early if early is not None else APIRouter())
    return create_service_app(
        settings=settings, title="路由", description="exact-path dispatch", routers=routers
    )


REQUESTS: list[tuple[str, str]] = [
    ("GET", "/v1/plain"),  # in the table
    ("POST", "/v1/plain"),  # the same path, another route
    ("GET", "/v1/things"),
    ("GET", "/v1/things/mine"),  # shadowed: the route with a parameter answers
    ("GET", "/v1/things/42"),
    ("GET", "/v1/outer/inner"),  # nested routers: their form limits in the scope
    ("GET", "/v1/mounted/readme"),  # the mount, not the route it shadows
    ("DELETE", "/v1/plain"),  # 405 and its Allow header
    ("HEAD", "/v1/plain"),  # FastAPI's routes take HEAD only when they name it: 405
    ("GET", "/v1/plain/"),  # a redirect to the path without the slash
    ("GET", "/v1/nowhere"),  # 404
    ("PUT", "/v1/both"),  # a route of two methods
    ("HEAD", "/v1/heads"),  # a route that names HEAD
]


async def _answers(
    app: FastAPI, requests: list[tuple[str, str]] = REQUESTS, root_path: str = ""
) -> list[tuple[int, dict[str, str], bytes]]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, root_path=root_path)
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for method, path in requests:
            response = await client.request(method, root_path + path)
            headers = dict(response.headers)
            request_id = headers.pop("x-request-id")
            answers.append(
                (response.status_code, headers, response.content.replace(request_id.encode(), b""))
            )
    return answers


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the router was walked")


async def _without_the_router(app: FastAPI) -> FastAPI:
    """``app``, whose service middleware fails any request that reaches the router."""
    await _answers(app, [("GET", "/healthz")])  # builds the middleware stack
    stack = app.middleware_stack
    assert isinstance(stack, ServiceMiddleware)
    stack.app = _refuse
    return app


def test_the_table_holds_the_requests_a_path_and_a_method_select(tmp_path: Path) -> None:
    table = tabled(_app(tmp_path))
    assert {
        "GET /v1/plain",
        "POST /v1/plain",
        "GET /v1/things",
        "POST /v1/things",
        "GET /v1/who",
        "GET /v1/outer/inner",
        "GET /v1/both",
        "PUT /v1/both",
        "GET /v1/heads",
        "HEAD /v1/heads",
        "GET /healthz",
    } <= table
    # Shadowed (by a route with a parameter, by a mount), or not a method the route takes.
    assert not {"GET /v1/things/mine", "GET /v1/mounted/readme", "HEAD /v1/plain"} & table
    assert not any("{" in request for request in table)


async def test_each_request_of_the_table_is_routed_as_fastapi_routes_it(tmp_path: Path) -> None:
    assert await dispatch_mismatches(_app(tmp_path)) == []


async def test_every_answer_is_fastapis(tmp_path: Path) -> None:
    lean, standard = _app(tmp_path), _app(tmp_path)
    standard.middleware_stack = FastAPI.build_middleware_stack(standard)
    expected = await _answers(standard)
    assert [status for status, _, _ in expected] == [
        200, 200, 200, 200, 200, 200, 200, 405, 405, 307, 404, 200, 200,
    ]  # fmt: skip
    assert expected[3][2].startswith(b'{"route":"[\'GET\'] /v1/things/{thing_id}"')
    assert b'"form_limits":{"max_fields":5,"max_files":2}' in expected[5][2]
    assert expected[6][2] == b"a mounted app"
    assert expected[7][1]["allow"] == expected[8][1]["allow"] == "GET, POST"
    assert expected[9][1]["location"] == "http://test/v1/plain"
    assert await _answers(lean) == expected
    # Behind a proxy's prefix (``root_path``), the same again.
    behind = await _answers(standard, root_path="/api")
    assert behind[9][1]["location"] == "http://test/api/v1/plain"
    assert await _answers(lean, root_path="/api") == behind


async def test_a_request_of_the_table_never_walks_the_router(tmp_path: Path) -> None:
    app = await _without_the_router(_app(tmp_path))
    answers = await _answers(app, [("GET", "/v1/plain"), ("POST", "/v1/plain")])
    assert [status for status, _, _ in answers] == [200, 200]
    assert b'"endpoint":"create_plain"' in answers[1][2]
    # Behind a proxy's prefix too: the table is keyed by the path without the root path.
    assert (await _answers(app, [("GET", "/v1/plain")], root_path="/api"))[0][0] == 200
    # Any other request does walk it (here, into the refusal).
    answers = await _answers(app, [("GET", "/v1/things/mine"), ("DELETE", "/v1/plain")])
    assert [status for status, _, _ in answers] == [500, 500]


async def test_dependency_overrides_are_honoured(tmp_path: Path) -> None:
    app = await _without_the_router(_app(tmp_path))

    async def someone_else() -> str:
        return "an override"

    app.dependency_overrides[who] = someone_else
    response = (await _answers(app, [("GET", "/v1/who")]))[0]
    assert (response[0], response[2]) == (200, b'{"who":"an override","route":"/v1/who"}')


async def test_routes_added_after_the_first_request_are_routed_as_fastapi_routes_them(
    tmp_path: Path,
) -> None:
    early = APIRouter()
    app = _app(tmp_path, early)
    assert b'"endpoint":"read_plain"' in (await _answers(app, [("GET", "/v1/plain")]))[0][2]

    # A router included before the others now has GET /v1/plain: FastAPI selects its route.
    @early.get("/v1/plain")
    async def earlier(request: Request) -> JSONResponse:
        return _said(request)

    assert b'"endpoint":"earlier"' in (await _answers(app, [("GET", "/v1/plain")]))[0][2]
    assert await dispatch_mismatches(app) == []


def test_a_scope_fastapi_has_routed_or_observes_is_left_to_the_router(tmp_path: Path) -> None:
    routes = ExactRoutes(_app(tmp_path).router)
    scope: Scope = {"type": "http", "method": "GET", "path": "/v1/plain", "root_path": ""}
    for key in ("fastapi", "fastapi.telemetry"):
        observed = {**scope, key: object()}
        assert routes.app_for(observed) is None
        assert observed.keys() == {*scope, key}
    assert routes.app_for(dict(scope)) is not None


class TimedRoute(APIRoute):
    """A custom route class: it may match or handle as it likes."""


def _with_a_host(app: FastAPI) -> None:
    app.host("other.example", PlainTextResponse("another host"))


def _with_a_custom_route(app: FastAPI) -> None:
    router = APIRouter(route_class=TimedRoute)
    router.add_api_route("/v1/timed", who)
    app.include_router(router)


@pytest.mark.parametrize("change", [_with_a_host, _with_a_custom_route])
def test_the_table_is_empty_when_matching_may_depend_on_more_than_path_and_method(
    tmp_path: Path, change: Callable[[FastAPI], None]
) -> None:
    app = _app(tmp_path)
    assert exact_routes(app.router) != {}
    change(app)
    assert exact_routes(app.router) == {}
