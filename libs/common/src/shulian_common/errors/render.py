"""Exception handlers: every error (domain, validation, routing, unhandled) becomes a problem."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shulian_common.errors.base import (
    PROBLEM_MEDIA_TYPE,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ShulianError,
    UnauthorizedError,
    ValidationFailedError,
    problem_body,
)
from shulian_common.errors.openapi import install_problem_openapi
from shulian_common.errors.redact import loggable

logger = logging.getLogger(__name__)


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An ``application/problem+json`` response for ``request``."""
    body = problem_body(
        status=status,
        code=code,
        title=title,
        detail=detail,
        instance=request.url.path if request is not None else None,
        extra=extra,
    )
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_MEDIA_TYPE,
    )


def error_response(request: Request | None, exc: ShulianError) -> JSONResponse:
    """The problem response of a domain error; a 422 always lists ``errors``."""
    extra = exc.extra
    if exc.status == 422 and "errors" not in extra:
        # The documented 422 is a ValidationProblem. A domain rule that names no field spans
        # the request as a whole: an empty ``loc``.
        extra = {**extra, "errors": [{"loc": [], "msg": exc.detail, "type": exc.code}]}
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        extra=extra,
        headers=exc.headers,
    )


def internal_error_response(request: Request | None) -> JSONResponse:
    """A 500 problem that says nothing about the exception (it is logged, not shown)."""
    return error_response(
        request, ShulianError("服务器内部错误，请稍后重试；如需排查请提供 request_id。")
    )


_HTTP_TITLES: dict[int, str] = {
    400: BadRequestError.title,
    401: UnauthorizedError.title,
    403: ForbiddenError.title,
    404: NotFoundError.title,
    405: "请求方法不被允许",
    406: "无法提供所请求的表示形式",
    409: ConflictError.title,
    413: "请求体过大",
    415: "不支持的媒体类型",
    429: "请求过于频繁",
}


def _http_code(status: int) -> str:
    # 404/405 keep the codes clients already branch on; others follow the HTTP reason phrase.
    known = {404: "not_found", 405: "method_not_allowed"}
    try:
        return known.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_")
    except ValueError:
        return f"http_{status}"


async def _shulian_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShulianError)
    return error_response(request, exc)


async def _validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only loc/msg/type: the offending input may be personal data and must not be echoed.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return problem_response(
        request,
        status=422,
        code=ValidationFailedError.code,
        title=ValidationFailedError.title,
        detail=f"请求中有 {len(errors)} 处数据不符合要求",
        extra={"errors": errors},
    )


# Starlette's and FastAPI's own English details, as the Chinese the API speaks.
_HTTP_DETAILS: dict[str, str] = {
    "There was an error parsing the body": "请求体无法解析：须为 UTF-8 编码的 JSON",
}
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    title = _HTTP_TITLES.get(status) or HTTPStatus(status).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else title
    if detail == HTTPStatus(status).phrase:
        detail = title
    headers = dict(exc.headers or {})
    if status == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(
        request,
        status=status,
        code=_http_code(status),
        title=title,
        detail=_HTTP_DETAILS.get(detail, detail),
        headers=headers,
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path: the router's own 405 names only the
    methods of the first route whose path matched."""
    routes = request.app.router.routes

    def served(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] is Match.FULL for route in routes)

    return [method for method in _METHODS if served(method)]


async def _unhandled_error_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error", exc_info=loggable(exc))
    return internal_error_response(request)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as problem+json, and document the Problem schemas in OpenAPI."""
    app.add_exception_handler(ShulianError, _shulian_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unhandled_error_handler)
    install_problem_openapi(app)
