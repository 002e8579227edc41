"""Request models: coded fields, update models that refuse nulls, figures."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shulian_registry.schemas import (
    ListingDecisionIn,
    ParkUpdate,
    SupplierCreate,
    SupplierUpdate,
)

BODY: dict[str, Any] = {
    "name": "宜宾蜀才人力资源有限公司",
    "uscc": "91511502MA6GX0Q320",
    "county_code": "511502",
    "service_lines": ["recruitment", "recruitment", "headhunting"],
}


def test_codes_are_checked_and_deduplicated() -> None:
    assert SupplierCreate.model_validate(BODY).service_lines == ["recruitment", "headhunting"]
    with pytest.raises(ValidationError):
        SupplierCreate.model_validate({**BODY, "industries": ["astrology"]})
    with pytest.raises(ValidationError):
        SupplierCreate.model_validate({**BODY, "service_lines": []})
    with pytest.raises(ValidationError):
        SupplierCreate.model_validate({**BODY, "surprise": 1})


def test_updates_are_partial_and_refuse_nulls_where_creates_do() -> None:
    assert SupplierUpdate.model_validate({}).model_dump(exclude_unset=True) == {}
    assert SupplierUpdate.model_validate({"description": None}).model_dump(exclude_unset=True) == {
        "description": None
    }
    for bad in ({"name": None}, {"name": "x"}, {"service_lines": []}, {"uscc": BODY["uscc"]}):
        with pytest.raises(ValidationError):
            SupplierUpdate.model_validate(bad)
    with pytest.raises(ValidationError):
        ParkUpdate.model_validate({"level": "galactic"})


def test_one_figure_per_year_and_line() -> None:
    figure = {"year": 2024, "service_line": "recruitment", "revenue_yuan": 1_000_000}
    created = SupplierCreate.model_validate({**BODY, "figures": [figure]})
    assert created.figures[0].trade_volume_yuan == 0
    with pytest.raises(ValidationError):
        SupplierCreate.model_validate({**BODY, "figures": [figure, figure]})
    with pytest.raises(ValidationError):
        SupplierCreate.model_validate({**BODY, "figures": [{**figure, "revenue_yuan": -1}]})


def test_apply_is_not_a_decision() -> None:
    assert ListingDecisionIn.model_validate({"action": "approve"}).action == "approve"
    with pytest.raises(ValidationError):
        ListingDecisionIn.model_validate({"action": "apply"})
