"""The industry and HR service-line taxonomy: stable snake_case codes, lookups, high-end lines."""

from __future__ import annotations

import re

import pytest

from shulian_common.reference import (
    INDUSTRIES,
    SERVICE_LINES,
    high_end_lines,
    industry,
    is_industry,
    is_service_line,
    service_line,
)

CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


@pytest.mark.parametrize("codes", [[i.code for i in INDUSTRIES], [s.code for s in SERVICE_LINES]])
def test_codes_are_unique_snake_case(codes: list[str]) -> None:
    assert len(codes) == len(set(codes))
    assert all(CODE.match(code) for code in codes), codes


def test_lookups_by_code() -> None:
    assert industry("power_batteries").name == "动力电池"
    assert service_line("headhunting").high_end
    assert is_industry("crystalline_pv")
    assert not is_industry("headhunting")
    assert is_service_line("recruitment")
    assert not is_service_line("power_batteries")
    with pytest.raises(KeyError):
        industry("quantum_teleportation")


def test_high_end_lines_are_the_knowledge_intensive_ones() -> None:
    assert high_end_lines() == {"headhunting", "assessment", "consulting", "hr_software"}
