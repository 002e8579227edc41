"""Flat handlers: a route whose dependencies take only the request and other dependencies is
served without FastAPI's per-request dependency solving, with the same answers, problems,
order of dependencies and clean-up; other routes, and overrides, stay FastAPI's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import fastapi.routing
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from pydantic import Field

from shulian_common.app.flat import install_flat_handlers
from shulian_common.auth import Principal, Role, mint_token
from shulian_common.deps import OperatorDep, PrincipalDep, get_principal
from shulian_common.errors import install_error_handlers
from shulian_common.http import Authenticated, json_response
from shulian_common.query import QueryModel, query_model
from shulian_common.settings import Settings

SETTINGS = Settings(env="test")


class Things(QueryModel):
    q: Annotated[str | None, Field(max_length=5)] = None
    limit: Annotated[int | None, Field(ge=1)] = None


async def resource(request: Request) -> AsyncIterator[str]:
    calls: list[str] = request.app.state.calls
    calls.append("resource opened")
    try:
        yield f"resource of {request.url.path}"
    finally:
        calls.append("resource closed")


async def noted(request: Request, principal: PrincipalDep) -> str:
    request.app.state.calls.append("noted")
    return principal.sub


ThingsDep = Annotated[Things, Depends(query_model(Things))]


def _app(calls: list[str]) -> FastAPI:
    """Routes the kit writes: router-level authentication, principals, a query model, an async
    generator dependency, a role check; and one with a query parameter FastAPI must solve."""
    app = FastAPI()
    app.state.settings = SETTINGS
    app.state.calls = calls
    install_error_handlers(app)
    router = APIRouter(prefix="/v1/things", dependencies=[Authenticated])

    @router.get("")
    async def list_things(
        principal: PrincipalDep,
        held: Annotated[str, Depends(resource)],
        note: Annotated[str, Depends(noted)],
        again: Annotated[str, Depends(noted)],  # cached: solved once per request
        things: ThingsDep,
    ) -> Response:
        calls.append("endpoint")
        body = {"sub": principal.sub, "held": held, "note": note, "again": again}
        return json_response({**body, "q": things.q, "limit": things.limit})

    @router.get("/operators")
    async def for_operators(operator: OperatorDep) -> JSONResponse:
        return JSONResponse({"role": str(operator.role)})

    @router.get("/mine")
    async def mine(request: Request, principal: PrincipalDep) -> JSONResponse:
        # The endpoint itself takes the request, after a dependency.
        return JSONResponse({"path": request.url.path, "sub": principal.sub})

    @router.get("/old")
    async def old_style(principal: PrincipalDep, q: Annotated[str | None, Query()] = None) -> Any:
        return {"sub": principal.sub, "q": q}

    app.include_router(router)
    return app


def _token(role: Role = Role.PARTNER) -> dict[str, str]:
    token = mint_token(SETTINGS, role=role, node="510000", sub="caller")
    return {"Authorization": f"Bearer {token}"}


REQUESTS = [
    ("/v1/things?q=abc&limit=3", _token()),
    ("/v1/things", _token()),
    ("/v1/things?q=abcdefg&limit=0", _token()),  # 422, both errors
    ("/v1/things?q=abcdefg", {}),  # 401 before the query is looked at
    ("/v1/things", {"Authorization": "Bearer not-a-token"}),
    ("/v1/things/operators", _token()),  # 403
    ("/v1/things/operators", _token(Role.PROVINCE_ADMIN)),
    ("/v1/things/mine", _token()),
    ("/v1/things/old?q=x", _token()),
]


def test_only_routes_without_parameters_for_fastapi_are_flattened() -> None:
    assert install_flat_handlers(_app([])) == [
        "GET /v1/things",
        "GET /v1/things/operators",
        "GET /v1/things/mine",
    ]


@pytest.mark.parametrize(("target", "headers"), REQUESTS)
def test_answers_and_problems_are_fastapis(target: str, headers: dict[str, str]) -> None:
    fastapis, flat = _app([]), _app([])
    install_flat_handlers(flat)
    with TestClient(fastapis) as one, TestClient(flat) as other:
        expected, got = one.get(target, headers=headers), other.get(target, headers=headers)
    assert got.status_code == expected.status_code
    assert got.headers.get("content-type") == expected.headers.get("content-type")
    assert got.headers.get("www-authenticate") == expected.headers.get("www-authenticate")
    assert got.json() == expected.json()


def test_dependencies_run_in_fastapis_order_once_and_are_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    app = _app(calls)
    install_flat_handlers(app)
    solved: list[object] = []
    solve = fastapi.routing.solve_dependencies

    async def counted(**kwargs: Any) -> Any:
        solved.append(kwargs["dependant"])
        return await solve(**kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    with TestClient(app) as client:
        response = client.get("/v1/things?q=ab", headers=_token())
        assert response.json() == {
            "sub": "caller",
            "held": "resource of /v1/things",
            "note": "caller",
            "again": "caller",
            "q": "ab",
            "limit": None,
        }
        assert calls == ["resource opened", "noted", "endpoint", "resource closed"]
        assert solved == []  # FastAPI solved nothing for the flat route
        client.get("/v1/things/old", headers=_token())
        assert len(solved) == 1  # and still solves the others

        # A failing dependency after the generator was opened still closes it.
        calls.clear()
        assert client.get("/v1/things?limit=0", headers=_token()).status_code == 422
        assert calls == ["resource opened", "noted", "resource closed"]


def test_overrides_are_honoured_by_handing_over_to_fastapi() -> None:
    app = _app([])
    install_flat_handlers(app)

    async def anyone() -> Principal:
        return Principal(sub="override", role=Role.PARTNER, node="510000")

    app.dependency_overrides[get_principal] = anyone
    with TestClient(app) as client:
        assert client.get("/v1/things").json()["sub"] == "override"
    app.dependency_overrides.clear()
    with TestClient(app) as client:
        assert client.get("/v1/things").status_code == 401
