"""The registry's HTTP API under ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from shulian_registry.api import network, reference, suppliers


def routers() -> list[APIRouter]:
    """Every router of the registry."""
    return [
        suppliers.router,
        *(network.record_router(resource) for resource in network.RESOURCES),
        reference.router,
    ]
