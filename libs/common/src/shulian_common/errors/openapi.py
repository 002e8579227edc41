"""The Problem schemas in OpenAPI, and ``problem_responses`` for routes to document their errors."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from shulian_common.errors.base import (
    PROBLEM_MEDIA_TYPE,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    InvalidCharacterError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
    ServiceUnavailableError,
    ShulianError,
    UnauthorizedError,
    ValidationFailedError,
    problem_body,
    problem_type,
)


class Problem(BaseModel):
    """An RFC 9457 problem detail, with Shulian's stable ``code`` and the request id."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(examples=[problem_type("not_found")])
    title: str = Field(examples=[NotFoundError.title])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["供应商 S1 不存在"])
    instance: str | None = Field(default=None, examples=["/v1/suppliers/S1"])
    code: str = Field(
        description="stable, snake_case; clients branch on it", examples=["not_found"]
    )
    request_id: str | None = Field(default=None, description="echo of X-Request-ID")


class ValidationIssue(BaseModel):
    """One field that failed validation (``loc`` is empty when a rule spans the request)."""

    loc: list[str | int] = Field(examples=[["body", "name"]])
    msg: str = Field(examples=["Field required"])
    type: str = Field(examples=["missing"])


class ValidationProblem(Problem):
    """A 422 problem listing every field that failed validation."""

    model_config = ConfigDict(extra="allow", title="ValidationProblem")

    errors: list[ValidationIssue]


_STATUS_DEFAULTS: dict[int, type[ShulianError]] = {
    cls.status: cls
    for cls in (
        BadRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        PreconditionFailedError,
        ValidationFailedError,
        PreconditionRequiredError,
        ServiceUnavailableError,
        ShulianError,
    )
}


def _default_error(status: int) -> type[ShulianError]:
    try:
        return _STATUS_DEFAULTS[status]
    except KeyError:
        raise ValueError(f"no default error for HTTP {status}: pass an error class") from None


def _example(error: type[ShulianError]) -> dict[str, Any]:
    value = problem_body(
        status=error.status,
        code=error.code,
        title=error.title,
        detail=error.title,
        instance="/v1/…",
    )
    value["request_id"] = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    if error.status == 422:
        value["errors"] = [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]
        if error.code != ValidationFailedError.code:
            value["errors"] = [{"loc": [], "msg": error.title, "type": error.code}]
    return {"summary": error.title, "value": value}


def problem_responses(*errors: int | type[ShulianError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting these statuses or error classes as problems."""
    by_status: dict[int, list[type[ShulianError]]] = {}
    for error in errors:
        cls = _default_error(error) if isinstance(error, int) else error
        by_status.setdefault(cls.status, []).append(cls)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, classes in sorted(by_status.items()):
        schema = "ValidationProblem" if status == 422 else "Problem"
        responses[status] = {
            "description": "；".join(dict.fromkeys(c.title for c in classes)),
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": f"#/components/schemas/{schema}"},
                    "examples": {c.code: _example(c) for c in classes},
                }
            },
        }
    return responses


def _problem_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (Problem, ValidationProblem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _replace_default_422(operation: dict[str, Any]) -> None:
    # FastAPI documents request validation as HTTPValidationError; ours is a ValidationProblem.
    response = operation.get("responses", {}).get("422")
    if not response or PROBLEM_MEDIA_TYPE in response.get("content", {}):
        return
    response["content"] = problem_responses(ValidationFailedError)[422]["content"]


def _document_request_errors(operation: dict[str, Any]) -> None:
    """Document what any route may answer before its own code runs."""
    responses = operation.setdefault("responses", {})
    common: list[type[ShulianError]] = []
    if operation.get("security"):
        common.append(UnauthorizedError)
    if "requestBody" in operation:
        common.append(BadRequestError)  # a body that is not UTF-8 JSON
    for status, response in problem_responses(*common).items():
        responses.setdefault(str(status), response)
    if operation.get("parameters") or "requestBody" in operation:
        # Text no database can store is refused before validation (see the app middleware).
        unstorable = problem_responses(InvalidCharacterError)[422]["content"][PROBLEM_MEDIA_TYPE]
        response = responses.setdefault("422", problem_responses(ValidationFailedError)[422])
        content = response.setdefault("content", {}).setdefault(PROBLEM_MEDIA_TYPE, {})
        content.setdefault("examples", {}).update(unstorable["examples"])


def _drop_unreferenced(doc: dict[str, Any], *names: str) -> None:
    # In order: HTTPValidationError is what references ValidationError.
    schemas = doc["components"]["schemas"]
    for name in names:
        if name in schemas and f'"#/components/schemas/{name}"' not in json.dumps(doc):
            del schemas[name]


def install_problem_openapi(app: FastAPI) -> None:
    """Document the Problem schemas, and request validation as a ValidationProblem."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            for path in doc.get("paths", {}).values():
                for operation in path.values():
                    _replace_default_422(operation)
                    _document_request_errors(operation)
            doc.setdefault("components", {}).setdefault("schemas", {}).update(_problem_schemas())
            _drop_unreferenced(doc, "HTTPValidationError", "ValidationError")
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
