"""Targets seeded from the notice (policy-2023-09-20): the province's, and the per-city ones.

After seeding, targets are data: the province edits them (and sets region and city targets)
through the API; seeding never overwrites a target that exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from shulian_common.reference import PROVINCE_CODE, cities
from shulian_reporting.domain.indicators import INDICATORS, PER_CITY_POLICY_TARGETS

POLICY_NOTE = "依据《人力资源赋能产业专项行动》(2023-09-20)"


@dataclass(frozen=True, slots=True)
class SeedTarget:
    """A target the notice sets."""

    indicator: str
    scope_code: str
    value: float
    note: str = POLICY_NOTE


def policy_targets() -> list[SeedTarget]:
    """The notice's targets: one per indicator for the province; per city where it says so.

    "各市(州)原则上不少于1场" is a target of 1 for each city; at the province it adds up to
    one activity per city, 21.
    """
    seeds = []
    city_codes = [city.code for city in cities()]
    for ind in INDICATORS:
        if ind.code in PER_CITY_POLICY_TARGETS:
            seeds.append(SeedTarget(ind.code, PROVINCE_CODE, ind.policy_target * len(city_codes)))
            seeds.extend(SeedTarget(ind.code, code, ind.policy_target) for code in city_codes)
        else:
            seeds.append(SeedTarget(ind.code, PROVINCE_CODE, ind.policy_target))
    return seeds
