"""Schemathesis against the calendar's OpenAPI: no server error, every response as documented,
and every error a problem+json body with a stable ``code``.

The calendar runs in-process (ASGI, its lifespan started by schemathesis) on SQLite, then on
PostgreSQL, with the local bus; every generated request carries a province admin's token, so the
operations get past authentication and reach their own rules. Each operation gets a bounded number
of examples (positive and negative data). The kit's partner feed (``/v1/feed``), mounted on every
service, is left out: a generated ``wait`` long-polls for up to 30 s per example, and the
registry's run and the kit's tests cover it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
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
from shulian_events.main import create_app
from shulian_events.settings import EventsSettings

MAX_EXAMPLES = 8  # per operation and generation mode
PROBLEM = "application/problem+json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def events_settings(database_url: str, tmp_path: Path) -> EventsSettings:
    return EventsSettings(
        env="test",
        node_id=PROVINCE_CODE,
        data_dir=tmp_path,
        database_url=database_url,
        bus_url=f"local://{tmp_path / 'bus.db'}",
        telemetry_enabled=False,
        log_level="WARNING",
    )


@pytest.fixture
def events_api(events_settings: EventsSettings) -> Iterator[Any]:
    """The calendar's schema bound to a running app (its lifespan ends with the test)."""
    app = create_app(events_settings)
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        shutdown_lifespans()


@pytest.fixture
def bearer(events_settings: EventsSettings) -> dict[str, str]:
    token = mint_token(
        events_settings, role=Role.PROVINCE_ADMIN, node=PROVINCE_CODE, division=PROVINCE_CODE
    )
    return {"Authorization": f"Bearer {token}"}


def _problem(response: Any) -> str | None:
    """What is wrong with an error response's body, if anything."""
    if response.status_code < 400:
        return None
    if not response.headers.get("content-type", [""])[0].startswith(PROBLEM):
        return f"{response.status_code} without {PROBLEM}"
    body = response.json()
    if not isinstance(body.get("code"), str) or body.get("status") != response.status_code:
        return f"{response.status_code} problem without a code or its status: {body}"
    return None


def _failures_of(operation: Any, mode: GenerationMode, bearer: dict[str, str]) -> list[str]:
    """Run one operation's examples in one mode; what broke, one line per failing example."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        try:
            response = case.call_and_validate(headers=dict(bearer), checks=CHECKS)
        except AssertionError as exc:  # schemathesis reports every failed check in one error
            failures.append(f"{operation.label} [{mode.value}]: {exc}".strip()[:2000])
            return
        wrong = _problem(response)
        if wrong is not None:
            failures.append(f"{operation.label} [{mode.value}]: {wrong}"[:2000])

    try:
        run()
    except Unsatisfiable:  # no invalid input exists (an operation without parameters)
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


def test_events_api_conforms_to_its_openapi(events_api: Any, bearer: dict[str, str]) -> None:
    operations = [
        operation
        for operation in (result.ok() for result in events_api.get_all_operations())
        if not operation.path.startswith("/v1/feed")
    ]
    labels = {operation.label for operation in operations}
    assert {"POST /v1/activities", "POST /v1/activities/{activity_id}/registrations"} <= labels
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for failure in _failures_of(operation, mode, bearer)
    ]
    assert not failures, "\n\n".join(dict.fromkeys(failures))
