"""Settings of the registry service on top of the common ``SHULIAN_*`` ones."""

from __future__ import annotations

from pydantic import Field, field_validator

from shulian_common.reference import is_division
from shulian_common.settings import Settings

SERVICE = "registry"


class RegistrySettings(Settings):
    """The common settings plus the registry's demo seeding."""

    service: str = SERVICE
    # The nodes of the demo network, comma-separated (``shulian up`` sets it to the nodes it
    # starts): each seeds only what no more specific node of them governs. Empty: this node alone.
    demo_nodes: str = ""
    demo_suppliers: int = Field(default=600, ge=0, description="suppliers the demo generates")

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


def registry_settings(settings: Settings) -> RegistrySettings:
    """The registry's settings built on settings handed over by the CLI or a test."""
    values = settings.model_dump()
    values["service"] = SERVICE
    return RegistrySettings(**values)
