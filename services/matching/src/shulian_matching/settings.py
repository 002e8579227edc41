"""Settings of the matching service on top of the common ``SHULIAN_*`` ones."""

from __future__ import annotations

from pydantic import Field, field_validator

from shulian_common.reference import is_division
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
    # The nodes of the demo network, comma-separated (``shulian up`` sets SHULIAN_DEMO_NODES to
    # the nodes it starts): each seeds only the divisions no more specific node of them governs.
    # Empty: this node alone.
    demo_nodes: str = ""
    demo_trade: bool = Field(
        default=True, description="on a dev node, trade the demo's orders with each sweep"
    )

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


def matching_settings(settings: Settings) -> MatchingSettings:
    """Matching's settings built on settings handed over by the CLI or a test."""
    values = settings.model_dump()
    values["service"] = SERVICE
    return MatchingSettings(**values)
