"""Settings of the registry service on top of the common ``SHULIAN_*`` ones."""

from __future__ import annotations

from pydantic import Field

from shulian_common.reference import get_division
from shulian_common.settings import Settings

SERVICE = "registry"


class RegistrySettings(Settings):
    """The common settings plus the registry's demo seeding."""

    service: str = SERVICE
    # The nodes of the demo network, comma-separated (``shulian up`` sets it to the nodes it
    # starts): each seeds only what no more specific node of them governs. Empty: this node alone.
    demo_nodes: str = ""
    demo_suppliers: int = Field(default=600, ge=0, description="suppliers the demo generates")

    @property
    def demo_network(self) -> list[str]:
        """The codes of ``demo_nodes``, each checked to be a known division."""
        codes = [code.strip() for code in self.demo_nodes.split(",") if code.strip()]
        return [get_division(code).code for code in codes]


def registry_settings(settings: Settings) -> RegistrySettings:
    """The registry's settings built on settings handed over by the CLI or a test."""
    values = settings.model_dump()
    values["service"] = SERVICE
    return RegistrySettings(**values)
