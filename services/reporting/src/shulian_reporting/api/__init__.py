"""Reporting's HTTP API under ``/v1``, and the dashboard with its static assets."""

from __future__ import annotations

from fastapi import APIRouter

from shulian_reporting.api import (
    dashboard,
    indicators,
    lists,
    notices,
    summaries,
    targets,
    warnings,
)


def routers() -> list[APIRouter]:
    """Every router of reporting."""
    return [
        indicators.router,
        targets.router,
        warnings.router,
        notices.router,
        lists.router,
        summaries.router,
        summaries.decisions_router,
        dashboard.router,
    ]
