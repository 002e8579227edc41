"""Reference data routes: divisions, industries and service lines (codes with Chinese names)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shulian_common.http import Authenticated
from shulian_common.reference import DivisionLevel, Region, all_divisions, region_of
from shulian_common.reference.taxonomy import INDUSTRIES, SERVICE_LINES
from shulian_registry.schemas import DivisionRead, IndustryRead, ServiceLineRead

router = APIRouter(prefix="/v1/reference", tags=["reference"], dependencies=[Authenticated])


def _region(code: str, level: DivisionLevel) -> Region | None:
    return None if level is DivisionLevel.PROVINCE else region_of(code)


@router.get("/divisions", response_model=list[DivisionRead])
async def list_divisions(
    level: Annotated[DivisionLevel | None, Query()] = None,
    parent: Annotated[str | None, Query(description="parent code, e.g. 511500")] = None,
) -> list[DivisionRead]:
    """Sichuan's GB/T 2260 divisions (province, 21 cities, counties), with economic regions."""
    found = []
    for division in all_divisions():
        if (level is None or division.level is level) and (
            parent is None or division.parent_code == parent
        ):
            region = _region(division.code, division.level)
            found.append(
                DivisionRead(
                    code=division.code,
                    name=division.name,
                    level=division.level,
                    parent_code=division.parent_code,
                    short_name=division.short_name,
                    region=region,
                    region_name=region.label if region else None,
                )
            )
    return found


@router.get("/industries", response_model=list[IndustryRead])
async def list_industries() -> list[IndustryRead]:
    """The industries of the seed notice as a coded taxonomy."""
    return [IndustryRead(code=i.code, name=i.name, aliases=list(i.aliases)) for i in INDUSTRIES]


@router.get("/service-lines", response_model=list[ServiceLineRead])
async def list_service_lines() -> list[ServiceLineRead]:
    """HR service lines and which count as mid-to-high-end (中高端业态)."""
    return [
        ServiceLineRead(code=s.code, name=s.name, high_end=s.high_end, aliases=list(s.aliases))
        for s in SERVICE_LINES
    ]
