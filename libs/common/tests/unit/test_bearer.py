"""The bearer-token dependency: the token read as FastAPI's ``HTTPBearer(auto_error=False)``
reads it (without its per-request credentials model), and the OpenAPI document declaring the
same security scheme, and the same requirement on each operation, as with ``HTTPBearer``."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.security import HTTPBearer

from shulian_common.auth import BEARER_SCHEME
from shulian_common.deps import BearerToken, get_principal, principal_by_key_or_bearer

HEADERS: list[list[tuple[bytes, bytes]]] = [
    [],
    [(b"authorization", b"")],
    [(b"authorization", b"Bearer abc.def.ghi")],
    [(b"authorization", b"bearer abc")],
    [(b"authorization", b"BEARER abc")],
    [(b"authorization", b"Bearer")],
    [(b"authorization", b"Bearer ")],
    [(b"authorization", b"Bearer    ")],
    [(b"authorization", b"Bearer   abc  ")],
    [(b"authorization", b"Bearer a b")],
    [(b"authorization", b" Bearer abc")],
    [(b"authorization", b"Basic dXNlcjpwdw==")],
    [(b"authorization", b"Bearerabc")],
    [(b"authorization", b"Bearer\tabc")],
    [(b"authorization", b"Bearer \xe9t\xe9")],
    [(b"authorization", b"Bearer first"), (b"authorization", b"Bearer second")],
    [(b"authorization", b"Basic x"), (b"authorization", b"Bearer second")],
    [(b"x-authorization", b"Bearer abc")],
    [(b"accept", b"*/*"), (b"authorization", b"Bearer late")],
]

DESCRIPTION = "A JWT carrying role and node scope (`shulian token` mints one for dev)."


def _request(headers: list[tuple[bytes, bytes]]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize("headers", HEADERS)
async def test_token_is_what_http_bearer_reads(headers: list[tuple[bytes, bytes]]) -> None:
    fastapi_bearer = HTTPBearer(auto_error=False)
    credentials = await fastapi_bearer(_request(headers))
    ours = BearerToken(scheme_name=BEARER_SCHEME, bearer_format="JWT", description="")
    assert await ours(_request(headers)) == (
        credentials.credentials if credentials is not None else None
    )


def _app(principal: Any, keyed: Any) -> FastAPI:
    """The kit's ways of requiring a principal: a router's dependency, a route's, a link key's
    (``principal`` and ``keyed`` the dependencies, on the security dependency underneath)."""
    app = FastAPI()
    router = APIRouter(prefix="/v1/things", dependencies=[Depends(principal)])

    @router.get("")
    async def list_things() -> Response:
        return Response()

    @router.post("")
    async def add_thing() -> Response:
        return Response()

    app.include_router(router)

    @app.get("/v1/mine")
    async def mine(caller: Any = Depends(principal)) -> Response:
        return Response()

    @app.get("/v1/calendar.ics")
    async def calendar(caller: Any = Depends(keyed)) -> Response:
        return Response()

    @app.get("/v1/public")
    async def public() -> Response:
        return Response()

    return app


def test_openapi_declares_the_scheme_as_http_bearer_did() -> None:
    fastapi_bearer = HTTPBearer(
        auto_error=False, scheme_name=BEARER_SCHEME, bearerFormat="JWT", description=DESCRIPTION
    )

    async def principal(request: Request, token: Any = Depends(fastapi_bearer)) -> Any:
        return token

    async def keyed(
        request: Request, token: Any = Depends(fastapi_bearer), key: str | None = None
    ) -> Any:
        return token

    theirs = _app(principal, keyed).openapi()
    ours = _app(get_principal, principal_by_key_or_bearer("calendar")).openapi()

    assert ours["components"]["securitySchemes"] == theirs["components"]["securitySchemes"]
    assert ours["components"]["securitySchemes"] == {
        BEARER_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": DESCRIPTION,
        }
    }

    def security(document: dict[str, Any]) -> dict[tuple[str, str], Any]:
        return {
            (path, method): operation.get("security")
            for path, item in document["paths"].items()
            for method, operation in item.items()
        }

    assert security(ours) == security(theirs)
    assert security(ours)[("/v1/mine", "get")] == [{BEARER_SCHEME: []}]
    assert security(ours)[("/v1/public", "get")] is None
