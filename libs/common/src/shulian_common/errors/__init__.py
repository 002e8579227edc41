"""Domain errors with an HTTP status and a stable ``code``, rendered as RFC 9457 problem+json.

Every error response of every service is an ``application/problem+json`` document::

    {"type": "https://shulian.sichuan.example/problems/not_found", "title": "资源不存在",
     "status": 404, "detail": "供应商 S1 不存在", "instance": "/v1/suppliers/S1",
     "code": "not_found", "request_id": "…", …extras}

``type`` is an absolute URI (RFC 9457 recommends absolute URIs; relative ones would resolve
against each request's URL) built from ``PROBLEM_TYPE_BASE`` and the code. It identifies the
problem; it need not be dereferenceable. Clients branch on ``code``, which never changes once
published; ``title`` and ``detail`` are human-facing Chinese text and may change.
"""

from shulian_common.errors.base import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_TYPE_BASE,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    IdempotencyConflictError,
    IdempotencyKeyInUseError,
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
from shulian_common.errors.openapi import (
    Problem,
    ValidationIssue,
    ValidationProblem,
    problem_responses,
)
from shulian_common.errors.render import (
    error_response,
    install_error_handlers,
    internal_error_response,
    problem_response,
)

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TYPE_BASE",
    "BadRequestError",
    "ConflictError",
    "ForbiddenError",
    "IdempotencyConflictError",
    "IdempotencyKeyInUseError",
    "InvalidCharacterError",
    "NotFoundError",
    "PreconditionFailedError",
    "PreconditionRequiredError",
    "Problem",
    "ServiceUnavailableError",
    "ShulianError",
    "UnauthorizedError",
    "ValidationFailedError",
    "ValidationIssue",
    "ValidationProblem",
    "error_response",
    "install_error_handlers",
    "internal_error_response",
    "problem_body",
    "problem_response",
    "problem_responses",
    "problem_type",
]
