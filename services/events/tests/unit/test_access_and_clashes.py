"""Who may schedule and register, and the double-booking warning's rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shulian_common.auth import Principal, Role
from shulian_common.errors.base import ShulianError
from shulian_events.domain import access
from shulian_events.domain.conflicts import Slot, clashes
from shulian_events.domain.terms import Level, ParticipantKind

PROVINCE = Principal(sub="p", role=Role.PROVINCE_ADMIN, node="510000", division="510000")
YIBIN = Principal(sub="y", role=Role.CITY_OPERATOR, node="511500", division="511500")
CUIPING = Principal(sub="c", role=Role.COUNTY_OPERATOR, node="511500", division="511502")
SUPPLIER = Principal(sub="s", role=Role.SUPPLIER, node="511500", supplier_id="s1")
PARTNER = Principal(sub="x", role=Role.PARTNER, node="510000")


@pytest.mark.parametrize(
    ("principal", "node", "division", "code"),
    [
        (PROVINCE, "510000", "511500", None),  # the province schedules any
        (PROVINCE, "510000", "510000", None),
        (YIBIN, "511500", "511500", None),  # a city its own
        (YIBIN, "511500", "511502", None),  # and its counties'
        (YIBIN, "511500", "510100", "outside_scope"),  # not another city's
        (CUIPING, "511500", "511502", None),  # a county its own
        (CUIPING, "511500", "511500", "outside_scope"),  # not its city's
        (PROVINCE, "510100", "511500", "outside_node_scope"),  # Chengdu's node owns no Yibin
        (SUPPLIER, "511500", "511500", "read_only_role"),
        (PARTNER, "510000", "510000", "read_only_role"),
    ],
)
def test_who_schedules_what_on_which_node(
    principal: Principal, node: str, division: str, code: str | None
) -> None:
    if code is None:
        access.ensure_may_schedule(principal, node_id=node, division_code=division)
        return
    with pytest.raises(ShulianError) as refused:
        access.ensure_may_schedule(principal, node_id=node, division_code=division)
    assert refused.value.code == code
    assert refused.value.status == 403


def test_the_level_fits_the_division() -> None:
    access.check_level(Level.PROVINCE, "510000")
    access.check_level(Level.CITY, "511500")
    access.check_level(Level.COUNTY, "511502")
    for level, code in (
        (Level.CITY, "511502"),
        (Level.PROVINCE, "511500"),
        (Level.COUNTY, "510100"),
    ):
        with pytest.raises(ShulianError) as refused:
            access.check_level(level, code)
        assert refused.value.code == "invalid_level"
    with pytest.raises(ShulianError) as unknown:
        access.check_level(Level.CITY, "999999")
    assert unknown.value.code == "invalid_division"


def test_suppliers_register_only_themselves() -> None:
    access.ensure_may_register(SUPPLIER, ParticipantKind.SUPPLIER, "s1")
    access.ensure_may_register(YIBIN, ParticipantKind.SUPPLIER, "anyone")
    for kind, who in ((ParticipantKind.SUPPLIER, "s2"), (ParticipantKind.ENTERPRISE, "s1")):
        with pytest.raises(ShulianError) as refused:
            access.ensure_may_register(SUPPLIER, kind, who)
        assert refused.value.code == "not_self"
    with pytest.raises(ShulianError) as partner:
        access.ensure_may_register(PARTNER, ParticipantKind.SUPPLIER, "s1")
    assert partner.value.code == "read_only_role"


def test_only_the_owner_node_changes_an_activity() -> None:
    access.ensure_owner("511500", "511500")
    with pytest.raises(ShulianError) as refused:
        access.ensure_owner("510100", "511500")
    assert (refused.value.code, refused.value.status) == ("not_owner_node", 409)


T = datetime(2025, 3, 1, 1, tzinfo=UTC)


def _slot(activity: str, start_hours: float, hours: float) -> Slot:
    start = T + timedelta(hours=start_hours)
    return Slot(activity, f"活动{activity}", start, start + timedelta(hours=hours))


def test_overlapping_slots_of_other_activities_clash() -> None:
    ours = [_slot("a", 0, 3), _slot("a", 168, 3)]
    theirs = [_slot("b", 2, 2), _slot("c", 3, 1), _slot("d", 169, 1), _slot("a", 0, 3)]
    found = clashes(ours, theirs)
    assert [(c.ours.starts_at, c.theirs.activity_id) for c in found] == [
        (T, "b"),
        (T + timedelta(hours=168), "d"),
    ]
    assert "活动b" in found[0].detail
