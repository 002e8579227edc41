"""Supplier facts: the USCC, its region, the high-end flag, masking and ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shulian_common.reference import uscc_check_character
from shulian_registry.domain import (
    Contact,
    InvalidUSCC,
    Registration,
    check_uscc,
    first_of,
    is_high_end,
    merge_contact,
    new_id,
    uscc_region,
)

VALID = "91511502MA6GX0Q320"
WRONG_CHECK = VALID[:17] + next(c for c in "0123456789" if c != uscc_check_character(VALID[:17]))


def test_a_valid_uscc_is_normalised() -> None:
    assert check_uscc(VALID.lower()) == VALID


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (
            VALID[:17] + next(c for c in "0123456789" if c != uscc_check_character(VALID[:17])),
            "check_character",
        ),
        (VALID[:-1], "length"),
        ("Z" + VALID[1:], "charset"),
    ],
)
def test_an_invalid_uscc_says_why(code: str, reason: str) -> None:
    with pytest.raises(InvalidUSCC) as caught:
        check_uscc(code)
    assert caught.value.code == "invalid_uscc"
    assert caught.value.status == 422
    assert caught.value.extra["reason"] == reason


def test_the_region_of_a_uscc_is_decoded_even_when_the_code_is_gone() -> None:
    assert uscc_region(VALID) == ("511502", "翠屏区")
    # 双流县 (510122) became 双流区 (510116) in 2016; older codes keep the old county code.
    assert uscc_region("91510122MA61XK4T65") == ("510122", None)


def test_high_end_follows_the_service_lines() -> None:
    assert is_high_end(["recruitment", "headhunting"])
    assert is_high_end(["hr_software"])
    assert not is_high_end(["recruitment", "labour_dispatch", "training"])
    assert not is_high_end([])


def test_contacts_mask_every_part() -> None:
    contact = Contact("欧阳娜娜", "13812345678", "nana@example.cn")
    assert contact.masked() == Contact("欧***", "138****5678", "n***@example.cn")
    assert Contact(None, None, None).masked() == Contact(None, None, None)


def test_ids_sort_by_creation_time() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    ids = [new_id(start + timedelta(milliseconds=i)) for i in range(50)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 50
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_a_contact_merge_patch_keeps_what_it_does_not_name() -> None:
    current = Contact("王小明", "13800001234", "wang@example.cn")

    assert merge_contact(current, {"phone": "139"}) == Contact("王小明", "139", "wang@example.cn")
    assert merge_contact(current, {"email": None}) == Contact("王小明", "13800001234", None)
    assert merge_contact(current, {}) == current
    assert merge_contact(current, None) == Contact(None, None, None)


def test_the_earlier_registration_of_a_uscc_is_kept_whichever_node_looks() -> None:
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    yibin = Registration("b" * 32, "511500", at)
    chengdu_later = Registration("a" * 32, "510100", at + timedelta(milliseconds=1))
    chengdu_same_instant = Registration("c" * 32, "510100", at)
    twin = Registration("a" * 32, "511500", at)

    assert (
        first_of(yibin, chengdu_later)
        == first_of(chengdu_later, yibin)
        == (
            yibin,
            chengdu_later,
        )
    )
    # At the same instant the lower node code keeps it, then the lower id.
    assert first_of(yibin, chengdu_same_instant) == (chengdu_same_instant, yibin)
    assert first_of(yibin, twin) == (twin, yibin)
