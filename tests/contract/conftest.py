"""The schemathesis harness every service's contract test shares.

A service's app runs in-process (ASGI, its lifespan started by schemathesis) on SQLite, then on
PostgreSQL (the ``database_url`` fixture), with the local bus. Every generated request carries a
province admin's token, so the operations get past authentication and reach their own rules. Each
operation gets a bounded number of examples in both generation modes (positive and negative data),
and each response must be no server error, have a documented status, content type and body, and,
when it is an error, be a problem+json body with a stable ``code`` and its status.

A service's test is then three lines: its settings (:func:`service_settings`), its operations
(:func:`operations_of`, leaving out paths whose examples cannot run in bounded time) and
``assert not conformance_failures(operations, admin_headers(settings), …)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shulian_common.auth import Role, mint_token
from shulian_common.reference import PROVINCE_CODE
from shulian_common.settings import Settings
from shulian_common.testing.node import node_settings

S = TypeVar("S", bound=Settings)

PROBLEM = "application/problem+json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def service_settings(settings_type: type[S], database_url: str, tmp_path: Path) -> S:
    """The province node's settings of a service under test, quiet."""
    return node_settings(
        settings_type, database_url=database_url, tmp_path=tmp_path, log_level="WARNING"
    )


def admin_headers(settings: Settings) -> dict[str, str]:
    """A province admin's bearer token, so generated requests reach the operations' own rules."""
    token = mint_token(
        settings, role=Role.PROVINCE_ADMIN, node=PROVINCE_CODE, division=PROVINCE_CODE
    )
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def asgi_api(app: FastAPI) -> Iterator[Any]:
    """The app's schema bound to the running app (its lifespan ends with the block)."""
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        shutdown_lifespans()


def operations_of(api: Any, *, skip_prefixes: Sequence[str] = ()) -> list[Any]:
    """The API's operations, without those under ``skip_prefixes``."""
    return [
        operation
        for operation in (result.ok() for result in api.get_all_operations())
        if not operation.path.startswith(tuple(skip_prefixes))
    ]


def problem_issue(response: Any) -> str | None:
    """What is wrong with an error response's body, if anything."""
    if response.status_code < 400:
        return None
    if not response.headers.get("content-type", [""])[0].startswith(PROBLEM):
        return f"{response.status_code} without {PROBLEM}"
    body = response.json()
    if not isinstance(body.get("code"), str) or body.get("status") != response.status_code:
        return f"{response.status_code} problem without a code or its status: {body}"
    return None


def _failures_of(
    operation: Any, mode: GenerationMode, headers: dict[str, str], max_examples: int
) -> list[str]:
    """Run one operation's examples in one mode; what broke, one line per failing example."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        try:
            response = case.call_and_validate(headers=dict(headers), checks=CHECKS)
        except AssertionError as exc:  # schemathesis reports every failed check in one error
            failures.append(f"{operation.label} [{mode.value}]: {exc}".strip()[:2000])
            return
        wrong = problem_issue(response)
        if wrong is not None:
            failures.append(f"{operation.label} [{mode.value}]: {wrong}"[:2000])

    try:
        run()
    except Unsatisfiable:  # no invalid input exists (an operation without parameters)
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


def conformance_failures(
    operations: Sequence[Any], headers: dict[str, str], *, max_examples: int
) -> str:
    """Every operation's examples in both modes; the distinct failures, one paragraph each
    (empty when the API conforms)."""
    failures = [
        failure
        for operation in operations
        for mode in MODES
        for failure in _failures_of(operation, mode, headers, max_examples)
    ]
    return "\n\n".join(dict.fromkeys(failures))
