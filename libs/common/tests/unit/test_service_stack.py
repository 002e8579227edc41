"""A service app's middleware stack: its one ``ServiceMiddleware`` right on the router answers
every request as FastAPI's stack around it would (problems, 404/405, 500, request ids, the
refusal of unstorable text, FastAPI's own handler); FastAPI's stack is the one it stands in for."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi._body_limit import AppBodyLimitMiddleware
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.responses import PlainTextResponse, Response
from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware
from pydantic import BaseModel
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Router
from starlette.types import ASGIApp

from shulian_common.app import ServiceApp, ServiceMiddleware, create_service_app
from shulian_common.errors import ConflictError
from shulian_common.settings import Settings


class Note(BaseModel):
    text: str


def _router() -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/plain")
    async def plain(request: Request) -> Response:
        return PlainTextResponse(request.state.request_id)

    @router.post("/notes", status_code=201)
    async def create_note(note: Note, n: Annotated[int, Query(ge=1)] = 1) -> dict[str, Any]:
        return {"text": note.text, "n": n}

    @router.get("/conflict")
    async def conflict() -> None:
        raise ConflictError("已存在", code="already_there")

    @router.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "茶壶")

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("boom")

    return router


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/v1/plain", {}),
    ("POST", "/v1/notes?n=2", {"json": {"text": "你好"}}),  # FastAPI's handler: its exit stack
    ("POST", "/v1/notes?n=0", {"json": {"text": "你好"}}),  # 422 from FastAPI's validation
    (
        "POST",
        "/v1/notes",
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
    ),
    ("POST", "/v1/notes", {"json": {"text": "a\u0000b"}}),  # 422 invalid_character, body
    ("GET", "/v1/plain?q=%00", {}),  # 422 invalid_character, query
    ("GET", "/v1/conflict", {}),  # the kit's problem
    ("GET", "/v1/teapot", {}),  # an HTTPException
    ("GET", "/v1/crash", {}),  # 500 naming only the request id
    ("GET", "/v1/nowhere", {}),  # the router's 404
    ("DELETE", "/v1/plain", {}),  # the router's 405
    ("GET", "/openapi.json", {}),
]


class Passthrough:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def _app(tmp_path: Path) -> FastAPI:
    settings = Settings(env="test", service="stacktest", node_id="510100", data_dir=tmp_path)
    return create_service_app(
        settings=settings, title="栈", description="the middleware stack", routers=[_router()]
    )


def _layers(stack: Any) -> list[type]:
    layers = []
    while not isinstance(stack, Router) and hasattr(stack, "app"):
        layers.append(type(stack))
        stack = stack.app
    return layers


async def _answers(app: FastAPI) -> list[tuple[int, dict[str, str], bytes]]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for method, url, options in REQUESTS:
            response = await client.request(method, url, **options)
            headers = dict(response.headers)
            request_id = headers.pop("x-request-id")
            answers.append(
                (
                    response.status_code,
                    headers,
                    response.content.replace(request_id.encode(), b"<id>"),
                )
            )
    return answers


def test_a_service_app_runs_its_middleware_right_on_the_router(tmp_path: Path) -> None:
    app = _app(tmp_path)
    assert isinstance(app, ServiceApp)
    stack = app.build_middleware_stack()
    assert type(stack) is ServiceMiddleware
    assert stack.app is app.router


def test_fastapis_stack_is_the_one_the_service_middleware_stands_in_for(tmp_path: Path) -> None:
    # The layers ``service_stack`` leaves out, and their order: a new FastAPI layer must be
    # looked at (does the service middleware need to do its work too?) before upgrading.
    app = _app(tmp_path)
    assert _layers(FastAPI.build_middleware_stack(app)) == [
        ServerErrorMiddleware,
        ExceptionTelemetryMiddleware,
        AppBodyLimitMiddleware,
        ServiceMiddleware,
        ExceptionMiddleware,
        AsyncExitStackMiddleware,
    ]


async def test_every_answer_is_the_one_fastapis_stack_gives(tmp_path: Path) -> None:
    lean, standard = _app(tmp_path), _app(tmp_path)
    standard.middleware_stack = FastAPI.build_middleware_stack(standard)
    expected = await _answers(standard)
    assert [status for status, _, _ in expected] == [
        200,
        201,
        422,
        422,
        422,
        422,
        409,
        418,
        500,
        404,
        405,
        200,
    ]
    assert await _answers(lean) == expected


@pytest.mark.parametrize(
    "change",
    [
        lambda app: app.add_middleware(Passthrough),
        lambda app: setattr(app, "max_body_size", 10),
        lambda app: setattr(app, "debug", True),
    ],
)
def test_anything_else_keeps_fastapis_stack(tmp_path: Path, change: Any) -> None:
    app = _app(tmp_path)
    change(app)
    assert type(app.build_middleware_stack()) is ServerErrorMiddleware
