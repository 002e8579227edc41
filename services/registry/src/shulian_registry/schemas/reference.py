"""HTTP models of the reference data."""

from __future__ import annotations

from pydantic import BaseModel


class DivisionRead(BaseModel):
    """A GB/T 2260 division of Sichuan."""

    code: str
    name: str
    level: str
    parent_code: str | None
    short_name: str | None
    region: str | None
    region_name: str | None


class IndustryRead(BaseModel):
    """An industry code of the taxonomy."""

    code: str
    name: str
    aliases: list[str]


class ServiceLineRead(BaseModel):
    """A service line code and whether it is mid-to-high-end."""

    code: str
    name: str
    high_end: bool
    aliases: list[str]
