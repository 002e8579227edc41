"""Every error reaches the client as the same RFC 9457 problem document."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from shulian_common.errors import (
    PROBLEM_MEDIA_TYPE,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    IdempotencyConflictError,
    IdempotencyKeyInUseError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
    ServiceUnavailableError,
    ShulianError,
    UnauthorizedError,
    ValidationFailedError,
    install_error_handlers,
    problem_responses,
)

BASE = "https://shulian.sichuan.example/problems/"


class InvalidUSCCError(ValidationFailedError):
    code = "invalid_uscc"
    title = "统一社会信用代码无效"


class SupplierIn(BaseModel):
    name: str
    staff: int


def _app(error: ShulianError | Exception | None = None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        assert error is not None
        raise error

    @app.post("/suppliers", responses=problem_responses(404, ConflictError, InvalidUSCCError))
    async def create(body: SupplierIn) -> SupplierIn:
        return body

    @app.put("/suppliers/{supplier_id}")
    async def replace(supplier_id: str, body: SupplierIn) -> SupplierIn:
        return body

    return app


async def _call(app: FastAPI, method: str, url: str, **kwargs: Any) -> httpx.Response:
    # raise_app_exceptions=False: Starlette re-raises a 500 after answering, for the server's log.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, url, **kwargs)


@pytest.mark.parametrize(
    ("cls", "status", "code"),
    [
        (BadRequestError, 400, "bad_request"),
        (UnauthorizedError, 401, "unauthorized"),
        (ForbiddenError, 403, "forbidden"),
        (NotFoundError, 404, "not_found"),
        (ConflictError, 409, "conflict"),
        (IdempotencyKeyInUseError, 409, "idempotency_key_in_use"),
        (PreconditionFailedError, 412, "precondition_failed"),
        (ValidationFailedError, 422, "validation_error"),
        (IdempotencyConflictError, 422, "idempotency_key_reused"),
        (PreconditionRequiredError, 428, "precondition_required"),
        (ServiceUnavailableError, 503, "service_unavailable"),
        (InvalidUSCCError, 422, "invalid_uscc"),
    ],
)
async def test_each_error_renders_its_exact_problem(
    cls: type[ShulianError], status: int, code: str
) -> None:
    response = await _call(_app(cls("具体原因", extra={"supplier_id": "S1"})), "GET", "/boom")
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    # A 422 is documented as a ValidationProblem: it always lists its errors.
    errors = {"errors": [{"loc": [], "msg": "具体原因", "type": code}]} if status == 422 else {}
    assert response.json() == {
        "type": BASE + code,
        "title": cls.title,
        "status": status,
        "detail": "具体原因",
        "instance": "/boom",
        "code": code,
        "request_id": None,
        "supplier_id": "S1",
        **errors,
    }


async def test_a_422_keeps_the_errors_its_raiser_named() -> None:
    named = [{"loc": ["body", "uscc"], "msg": "校验码错误", "type": "invalid_uscc"}]
    error = ValidationFailedError("校验码错误", extra={"errors": named})
    response = await _call(_app(error), "GET", "/boom")
    assert response.json()["errors"] == named


async def test_detail_defaults_to_title_and_code_can_be_set_per_instance() -> None:
    response = await _call(_app(ConflictError(code="order_already_taken")), "GET", "/boom")
    body = response.json()
    assert (response.status_code, body["code"], body["type"]) == (
        409,
        "order_already_taken",
        BASE + "order_already_taken",
    )
    assert body["detail"] == ConflictError.title


async def test_extras_never_override_standard_members() -> None:
    error = NotFoundError("x", extra={"status": 200, "code": "ok", "type": "t", "hint": "h"})
    body = (await _call(_app(error), "GET", "/boom")).json()
    assert (body["status"], body["code"], body["type"], body["hint"]) == (
        404,
        "not_found",
        BASE + "not_found",
        "h",
    )


async def test_unauthorized_carries_a_bearer_challenge() -> None:
    bare = await _call(_app(UnauthorizedError()), "GET", "/boom")
    assert bare.headers["www-authenticate"] == 'Bearer realm="shulian"'
    invalid = await _call(_app(UnauthorizedError(code="invalid_token")), "GET", "/boom")
    assert 'error="invalid_token"' in invalid.headers["www-authenticate"]


async def test_request_validation_lists_fields_without_echoing_input() -> None:
    response = await _call(_app(), "POST", "/suppliers", json={"staff": "SECRET-VALUE"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["instance"] == "/suppliers"
    assert sorted(body["errors"], key=lambda e: e["loc"]) == [
        {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
        {
            "loc": ["body", "staff"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        },
    ]
    assert "SECRET-VALUE" not in response.text


async def test_unknown_route_and_wrong_method_are_problems() -> None:
    missing = await _call(_app(), "GET", "/nowhere")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert missing.headers["content-type"] == PROBLEM_MEDIA_TYPE
    wrong = await _call(_app(), "DELETE", "/suppliers")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")
    assert wrong.headers["allow"] == "POST"


async def test_unhandled_error_is_a_500_that_hides_the_exception() -> None:
    response = await _call(_app(RuntimeError("password=hunter2 at db.internal")), "GET", "/boom")
    assert response.status_code == 500
    body = response.json()
    assert (body["code"], body["type"], body["instance"]) == (
        "internal_error",
        BASE + "internal_error",
        "/boom",
    )
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text


def test_openapi_documents_problems_instead_of_fastapi_defaults() -> None:
    doc = _app().openapi()
    responses = doc["paths"]["/suppliers"]["post"]["responses"]
    conflict = responses["409"]["content"][PROBLEM_MEDIA_TYPE]
    assert conflict["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert conflict["examples"]["conflict"]["value"]["code"] == "conflict"
    assert responses["404"]["content"][PROBLEM_MEDIA_TYPE]["examples"].keys() == {"not_found"}
    # The declared domain 422 and FastAPI's request validation share one ValidationProblem entry.
    invalid = responses["422"]["content"][PROBLEM_MEDIA_TYPE]
    assert invalid["schema"] == {"$ref": "#/components/schemas/ValidationProblem"}
    assert "invalid_uscc" in invalid["examples"]
    default = doc["paths"]["/suppliers/{supplier_id}"]["put"]["responses"]["422"]["content"]
    assert default.keys() == {PROBLEM_MEDIA_TYPE}
    assert default[PROBLEM_MEDIA_TYPE]["schema"] == {
        "$ref": "#/components/schemas/ValidationProblem"
    }
    schemas = doc["components"]["schemas"]
    assert {"Problem", "ValidationProblem", "ValidationIssue"} <= schemas.keys()
    assert "HTTPValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) >= {"type", "title", "status", "detail", "code"}
