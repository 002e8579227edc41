"""Settings of the events service on top of the common ``SHULIAN_*`` ones."""

from __future__ import annotations

from pydantic import Field, field_validator

from shulian_common.reference import is_division
from shulian_common.settings import Settings

SERVICE = "events"


class EventsSettings(Settings):
    """The common settings plus the demo calendar's size."""

    service: str = SERVICE
    demo_year: int = Field(default=2025, ge=2023, le=2100, description="year the demo fills")
    # The nodes of the demo network, comma-separated (``shulian up`` sets SHULIAN_DEMO_NODES to
    # the nodes it starts): each seeds only the activities no more specific node of them governs.
    # Empty: this node alone, its whole jurisdiction.
    demo_nodes: str = ""

    @field_validator("demo_nodes")
    @classmethod
    def _known_nodes(cls, value: str) -> str:
        for code in _codes(value):
            if not is_division(code):
                raise ValueError(f"unknown division code {code!r} in demo_nodes")
        return value

    @property
    def demo_network(self) -> list[str]:
        """The node codes of ``demo_nodes``."""
        return _codes(self.demo_nodes)


def _codes(value: str) -> list[str]:
    return [code.strip() for code in value.split(",") if code.strip()]


def events_settings(settings: Settings) -> EventsSettings:
    """The events service's settings built on settings handed over by the CLI or a test."""
    values = settings.model_dump()
    values["service"] = SERVICE
    return EventsSettings(**values)
