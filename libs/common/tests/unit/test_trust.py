"""The trust rule: an event's source node must own the aggregate and govern its division."""

from __future__ import annotations

import pytest

from shulian_common.envelope import CloudEvent
from shulian_common.trust import UntrustedEventError, check_trust, governs


def event(node: str, **data: object) -> CloudEvent:
    return CloudEvent(
        source=f"/nodes/{node}/registry",
        type="cn.sichuan.shulian.registry.supplier.registered.v1",
        partitionkey="sup-1",
        data=data,
    )


@pytest.mark.parametrize(
    ("node", "data"),
    [
        ("510100", {"owner_node": "510100", "county_code": "510104", "city_code": "510100"}),
        ("510100", {"owner_node": "510100", "division_code": "510100"}),
        ("511500", {"owner_node": "511500", "county_code": "511502", "city_code": "511500"}),
        ("510000", {"owner_node": "510000", "county_code": "510104", "city_code": "510100"}),
        ("510000", {"owner_node": "510000", "division_code": "513400"}),
        ("510104", {"owner_node": "510104", "county_code": "510104"}),
        ("510100", {"owner_node": "510100"}),  # no division named: only ownership to check
        ("510100", {"name": "no aggregate fields at all"}),
    ],
)
def test_an_owner_within_its_jurisdiction_is_trusted(node: str, data: dict[str, object]) -> None:
    check_trust(event(node, **data))


@pytest.mark.parametrize(
    ("node", "data", "reason"),
    [
        ("511500", {"owner_node": "511500", "county_code": "510104"}, "county_code 510104"),
        ("511500", {"owner_node": "511500", "city_code": "510100"}, "city_code 510100"),
        ("511500", {"county_code": "510104"}, "county_code 510104"),  # no owner named
        ("510100", {"owner_node": "510100", "division_code": "510000"}, "division_code 510000"),
        ("510104", {"owner_node": "510104", "city_code": "510100"}, "city_code 510100"),
        ("510100", {"owner_node": "510100", "county_code": "511502"}, "county_code 511502"),
        ("510100", {"owner_node": "510100", "county_code": "999999"}, "county_code 999999"),
        ("510100", {"owner_node": "510100", "county_code": 510104}, "county_code 510104"),
        ("510100", {"owner_node": "511500"}, "owned by 511500"),
    ],
)
def test_an_event_outside_the_source_nodes_jurisdiction_is_untrusted(
    node: str, data: dict[str, object], reason: str
) -> None:
    with pytest.raises(UntrustedEventError, match=reason):
        check_trust(event(node, **data))


def test_a_source_that_names_no_node_governs_nothing() -> None:
    partner = CloudEvent(
        source="/partners/acme",
        type="cn.sichuan.shulian.x.y.z.v1",
        partitionkey="k",
        data={"county_code": "510104"},
    )
    with pytest.raises(UntrustedEventError):
        check_trust(partner)
    assert not governs(None, "510104")
