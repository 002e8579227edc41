"""Settings of the reporting service on top of the common ``SHULIAN_*`` ones."""

from __future__ import annotations

from pydantic import Field

from shulian_common.settings import Settings

SERVICE = "reporting"


class ReportingSettings(Settings):
    """The common settings plus how often warnings are evaluated and the rebuild's batch size."""

    service: str = SERVICE
    warning_interval_s: float = Field(
        default=300.0, gt=0, description="seconds between evaluations of the warning rules"
    )
    rebuild_batch_size: int = Field(
        default=20_000, ge=1, le=100_000, description="events per transaction when rebuilding"
    )


def reporting_settings(settings: Settings) -> ReportingSettings:
    """The reporting settings built on settings handed over by the CLI or a test."""
    values = settings.model_dump()
    values["service"] = SERVICE
    return ReportingSettings(**values)
