"""Settings of the registry service on top of the common ``SHULIAN_*`` ones."""

from __future__ import annotations

from pydantic import Field

from shulian_common.settings import Settings

SERVICE = "registry"


class RegistrySettings(Settings):
    """The common settings plus the registry's demo seeding."""

    service: str = SERVICE
    demo_suppliers: int = Field(default=600, ge=0, description="suppliers the demo generates")


def registry_settings(settings: Settings) -> RegistrySettings:
    """The registry's settings built on settings handed over by the CLI or a test."""
    values = settings.model_dump()
    values["service"] = SERVICE
    return RegistrySettings(**values)
