"""Settings of the matching service on top of the common ``SHULIAN_*`` ones."""

from __future__ import annotations

from pydantic import Field

from shulian_common.settings import Settings

SERVICE = "matching"


class MatchingSettings(Settings):
    """The common settings plus the grab rules and the demo's size."""

    service: str = SERVICE
    award_confirm_seconds: int = Field(
        default=24 * 3600, ge=1, description="how long an awarded supplier has to confirm"
    )
    award_cap: int = Field(
        default=5,
        ge=1,
        description="awards a supplier may hold unfinished across the province at once",
    )
    sweep_seconds: float = Field(
        default=30.0, gt=0, description="how often unconfirmed awards and past deadlines are swept"
    )
    demo_orders: int = Field(default=400, ge=0, description="orders the demo year holds")
    demo_trade: bool = Field(
        default=True, description="on a dev node, trade the demo's orders with each sweep"
    )


def matching_settings(settings: Settings) -> MatchingSettings:
    """Matching's settings built on settings handed over by the CLI or a test."""
    values = settings.model_dump()
    values["service"] = SERVICE
    return MatchingSettings(**values)
