"""Settings of the events service on top of the common ``SHULIAN_*`` ones."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from shulian_common.settings import Settings
from shulian_events.domain.terms import TIMEZONE

SERVICE = "events"


class EventsSettings(Settings):
    """The common settings plus the demo calendar's size."""

    service: str = SERVICE
    # The current year by default, so the dashboard (which opens on the current year) shows the
    # demo's activities beside the registry's and matching's records, which are dated today.
    demo_year: int = Field(
        default=0, description="year the demo fills, 2023-2100 (0: the current year in Sichuan)"
    )
    demo_check_ins: bool = Field(
        default=True,
        description="on a dev node, check registered suppliers in at the demo's past activities",
    )

    @field_validator("demo_year")
    @classmethod
    def _a_year_of_the_action_or_after(cls, value: int) -> int:
        if value != 0 and not 2023 <= value <= 2100:
            raise ValueError("demo_year is 0 (the current year) or a year from 2023 to 2100")
        return value

    @property
    def filled_demo_year(self) -> int:
        """The year the demo fills: ``demo_year``, or the current year in Asia/Shanghai."""
        return self.demo_year or datetime.now(ZoneInfo(TIMEZONE)).year


def events_settings(settings: Settings) -> EventsSettings:
    """The events service's settings built on settings handed over by the CLI or a test."""
    values = settings.model_dump()
    values["service"] = SERVICE
    return EventsSettings(**values)
