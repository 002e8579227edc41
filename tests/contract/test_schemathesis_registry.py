"""Schemathesis against registry's OpenAPI: no server error, every response as documented, every
error a problem+json body with a stable ``code`` (the harness: ``conftest.py``). About 30 s a
backend."""

from __future__ import annotations

from pathlib import Path

from shulian_registry.main import create_app
from shulian_registry.settings import RegistrySettings

from .conftest import admin_headers, asgi_api, conformance_failures, operations_of, service_settings

MAX_EXAMPLES = 10  # per operation and generation mode


def test_registry_api_conforms_to_its_openapi(database_url: str, tmp_path: Path) -> None:
    settings = service_settings(RegistrySettings, database_url, tmp_path)
    with asgi_api(create_app(settings)) as api:
        operations = operations_of(api)
        assert len(operations) >= 15  # the registry's routes were all found
        failures = conformance_failures(
            operations, admin_headers(settings), max_examples=MAX_EXAMPLES
        )
    assert not failures, failures
