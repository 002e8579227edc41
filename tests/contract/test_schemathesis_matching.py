"""Schemathesis against matching's OpenAPI: no server error, every response as documented.

Matching runs in-process (ASGI, its lifespan started by schemathesis) on SQLite, then on
PostgreSQL (where text SQLite stores silently can fail), with the local bus; every generated
request carries a province admin's token, so the operations get past authentication and reach
their own rules (a talent's or a supplier's routes answer its role check with a documented 403).
Each operation gets a bounded number of examples (positive and negative data): about 70 s a
backend.
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
from shulian_matching.main import create_app
from shulian_matching.settings import MatchingSettings

MAX_EXAMPLES = 10  # per operation and generation mode


@pytest.fixture
def matching_settings(database_url: str, tmp_path: Path) -> MatchingSettings:
    return MatchingSettings(
        env="test",
        node_id=PROVINCE_CODE,
        data_dir=tmp_path,
        database_url=database_url,
        bus_url=f"local://{tmp_path / 'bus.db'}",
        telemetry_enabled=False,
        log_level="WARNING",
    )


@pytest.fixture
def matching_api(matching_settings: MatchingSettings) -> Iterator[Any]:
    """Matching's schema bound to a running app (its lifespan ends with the test)."""
    app = create_app(matching_settings)
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        shutdown_lifespans()


@pytest.fixture
def bearer(matching_settings: MatchingSettings) -> dict[str, str]:
    token = mint_token(
        matching_settings, role=Role.PROVINCE_ADMIN, node=PROVINCE_CODE, division=PROVINCE_CODE
    )
    return {"Authorization": f"Bearer {token}"}


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


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
            case.call_and_validate(headers=dict(bearer), checks=CHECKS)
        except AssertionError as exc:  # schemathesis reports every failed check in one error
            failures.append(f"{operation.label} [{mode.value}]: {exc}".strip()[:2000])

    try:
        run()
    except Unsatisfiable:  # no invalid input exists (an operation without parameters)
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


def test_matching_api_conforms_to_its_openapi(matching_api: Any, bearer: dict[str, str]) -> None:
    operations = [result.ok() for result in matching_api.get_all_operations()]
    assert len(operations) >= 20  # matching's routes were all found
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for failure in _failures_of(operation, mode, bearer)
    ]
    assert not failures, "\n\n".join(dict.fromkeys(failures))
