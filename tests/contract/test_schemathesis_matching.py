"""Schemathesis against matching's OpenAPI: no server error, every response as documented,
every error a problem+json body with a stable ``code`` (the harness: ``conftest.py``).

A talent's or a supplier's routes answer the province admin's token with a documented 403; the
kit's partner feed is left out (a generated ``wait`` long-polls; the registry's run covers it).
"""

from __future__ import annotations

from pathlib import Path

from shulian_matching.main import create_app
from shulian_matching.settings import MatchingSettings

from .conftest import admin_headers, asgi_api, conformance_failures, operations_of, service_settings

MAX_EXAMPLES = 10  # per operation and generation mode


def test_matching_api_conforms_to_its_openapi(database_url: str, tmp_path: Path) -> None:
    settings = service_settings(MatchingSettings, database_url, tmp_path)
    with asgi_api(create_app(settings)) as api:
        operations = operations_of(api, skip_prefixes=("/v1/feed",))
        assert len(operations) >= 20  # matching's routes were all found
        failures = conformance_failures(
            operations, admin_headers(settings), max_examples=MAX_EXAMPLES
        )
    assert not failures, failures
