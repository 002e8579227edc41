"""Schemathesis against registry's OpenAPI: no server error, every response as documented, every
error a problem+json body with a stable ``code`` (the harness: ``conftest.py``). About 20 s a
backend."""

from __future__ import annotations

from pathlib import Path

from shulian_registry.main import create_app
from shulian_registry.settings import RegistrySettings

from .conftest import admin_headers, asgi_api, conformance_failures, operations_of, service_settings

MAX_EXAMPLES = 10  # per operation and generation mode
# The kit's live tail answers a valid request with a stream that stays open: each such example
# holds until the client gives up (about 5 s). Two per mode still send valid and invalid input.
STREAM = "/v1/feed/stream"
STREAM_EXAMPLES = 2


def test_registry_api_conforms_to_its_openapi(database_url: str, tmp_path: Path) -> None:
    settings = service_settings(RegistrySettings, database_url, tmp_path)
    with asgi_api(create_app(settings)) as api:
        operations = operations_of(api)
        assert len(operations) >= 15  # the registry's routes were all found
        stream = [operation for operation in operations if operation.path == STREAM]
        assert stream, f"{STREAM} was not found"
        headers = admin_headers(settings)
        failures = conformance_failures(
            [operation for operation in operations if operation.path != STREAM],
            headers,
            max_examples=MAX_EXAMPLES,
        ) + conformance_failures(stream, headers, max_examples=STREAM_EXAMPLES)
    assert not failures, failures
