"""Schemathesis against the calendar's OpenAPI: no server error, every response as documented,
every error a problem+json body with a stable ``code`` (the harness: ``conftest.py``).

The kit's partner feed (``/v1/feed``), mounted on every service, is left out: a generated ``wait``
long-polls for up to 30 s per example, and the registry's run and the kit's tests cover it.
"""

from __future__ import annotations

from pathlib import Path

from shulian_events.main import create_app
from shulian_events.settings import EventsSettings

from .conftest import admin_headers, asgi_api, conformance_failures, operations_of, service_settings

MAX_EXAMPLES = 8  # per operation and generation mode


def test_events_api_conforms_to_its_openapi(database_url: str, tmp_path: Path) -> None:
    settings = service_settings(EventsSettings, database_url, tmp_path)
    with asgi_api(create_app(settings)) as api:
        operations = operations_of(api, skip_prefixes=("/v1/feed",))
        labels = {operation.label for operation in operations}
        assert {"POST /v1/activities", "POST /v1/activities/{activity_id}/registrations"} <= labels
        failures = conformance_failures(
            operations, admin_headers(settings), max_examples=MAX_EXAMPLES
        )
    assert not failures, failures
