"""The error classes: each carries its HTTP status, a stable code and a Chinese title."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shulian_common.logs import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://shulian.sichuan.example/problems/"
_RESERVED_MEMBERS = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "request_id"}
)


def problem_type(code: str) -> str:
    """The ``type`` URI of the problem with this code."""
    return f"{PROBLEM_TYPE_BASE}{code}"


class ShulianError(Exception):
    """Base of every domain error: an HTTP status, a stable snake_case code and a title."""

    status: int = 500
    code: str = "internal_error"
    title: str = "服务器内部错误"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.title
        if code is not None:
            self.code = code
        self.extra: dict[str, Any] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.detail)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class BadRequestError(ShulianError):
    """The request is malformed in a way schema validation cannot express."""

    status = 400
    code = "bad_request"
    title = "请求无效"


class UnauthorizedError(ShulianError):
    """No credentials, or credentials that are not valid (RFC 6750 challenge attached)."""

    status = 401
    code = "unauthorized"
    title = "未认证"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail, code=code, extra=extra, headers=headers)
        self.headers.setdefault("WWW-Authenticate", self._challenge())

    def _challenge(self) -> str:
        # RFC 6750 §3: a bare challenge when no token came, error="invalid_token" otherwise.
        if self.code == UnauthorizedError.code:
            return 'Bearer realm="shulian"'
        return f'Bearer realm="shulian", error="invalid_token", error_description="{self.code}"'


class ForbiddenError(ShulianError):
    """The principal is known but may not do this."""

    status = 403
    code = "forbidden"
    title = "无权限"


class NotFoundError(ShulianError):
    """The resource does not exist (or is not visible to the principal)."""

    status = 404
    code = "not_found"
    title = "资源不存在"


class ConflictError(ShulianError):
    """The request conflicts with the current state of the resource."""

    status = 409
    code = "conflict"
    title = "资源冲突"


class IdempotencyKeyInUseError(ShulianError):
    """A request with the same Idempotency-Key is still being processed."""

    status = 409
    code = "idempotency_key_in_use"
    title = "相同幂等键的请求正在处理"


class PreconditionFailedError(ShulianError):
    """The If-Match version is stale: someone changed the resource since it was read."""

    status = 412
    code = "precondition_failed"
    title = "资源版本已变化"


class ValidationFailedError(ShulianError):
    """The request is well-formed but breaks a domain rule."""

    status = 422
    code = "validation_error"
    title = "请求数据校验失败"


class InvalidCharacterError(ValidationFailedError):
    """Text carries U+0000 or an unpaired surrogate, which no database here can store."""

    code = "invalid_character"
    title = "请求含有无法存储的字符"


class IdempotencyConflictError(ShulianError):
    """An Idempotency-Key was reused with a different request (IETF idempotency-key draft)."""

    status = 422
    code = "idempotency_key_reused"
    title = "幂等键已用于不同的请求"


class PreconditionRequiredError(ShulianError):
    """The update needs an If-Match header carrying the version it was based on."""

    status = 428
    code = "precondition_required"
    title = "缺少 If-Match 前置条件"


class ServiceUnavailableError(ShulianError):
    """A dependency (database, bus) is not available right now."""

    status = 503
    code = "service_unavailable"
    title = "服务暂不可用"


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The problem document; standard members win over extras of the same name."""
    body = {k: v for k, v in (extra or {}).items() if k not in _RESERVED_MEMBERS}
    return {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "request_id": current_request_id(),
        **body,
    }
