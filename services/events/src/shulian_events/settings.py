"""Settings of the events service on top of the common ``SHULIAN_*`` ones."""

from __future__ import annotations

from pydantic import Field

from shulian_common.settings import Settings

SERVICE = "events"


class EventsSettings(Settings):
    """The common settings plus the demo calendar's size."""

    service: str = SERVICE
    demo_year: int = Field(default=2025, ge=2023, le=2100, description="year the demo fills")
    demo_check_ins: bool = Field(
        default=True,
        description="on a dev node, check registered suppliers in at the demo's past activities",
    )


def events_settings(settings: Settings) -> EventsSettings:
    """The events service's settings built on settings handed over by the CLI or a test."""
    values = settings.model_dump()
    values["service"] = SERVICE
    return EventsSettings(**values)
