"""The calendar's HTTP API under ``/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from shulian_events.api import activities, calendar, registrations


def routers() -> list[APIRouter]:
    """Every router of the calendar (the .ics routes first: they share a prefix)."""
    return [calendar.router, activities.router, registrations.router]
