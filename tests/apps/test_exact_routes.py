"""Every installed service's app: the requests its exact-path table serves without walking the
router are routed as FastAPI's router routes them, and every list endpoint is among them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shulian_common.service import installed_services
from shulian_common.settings import Settings
from shulian_common.testing.routes import dispatch_mismatches, parameterless_get_routes, tabled

SERVICES = sorted(installed_services())


def test_the_services_are_installed() -> None:
    assert {"registry", "events", "matching", "reporting"} <= set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
async def test_the_table_routes_as_fastapi_does(service: str, tmp_path: Path) -> None:
    app = installed_services()[service].create_app(
        Settings(service=service, env="test", data_dir=tmp_path)
    )
    assert await dispatch_mismatches(app) == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_get_route_without_path_parameters_is_in_the_table(
    service: str, tmp_path: Path
) -> None:
    app = installed_services()[service].create_app(
        Settings(service=service, env="test", data_dir=tmp_path)
    )
    gets = parameterless_get_routes(app)
    assert "GET /healthz" in gets  # the kit's own routes are counted too
    assert gets - tabled(app) == set()
