"""Tests of the personal-data masking helpers."""

from collections.abc import Callable

import pytest

from shulian_common.reference import mask_email, mask_name, mask_phone, mask_resident_id


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("李小龙", "李**"),
        ("欧阳娜娜", "欧***"),
        ("阿卜杜拉·买买提", "阿*******"),
        (" 王五 ", "王*"),
        ("张", "*"),
        ("", ""),
        ("Alice", "A****"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("19900001111", "199****1111"),
        ("02887654321", "028****4321"),  # Chengdu landline with area code
        ("+8613812345678", "+86*******5678"),
        ("1234567", "*******"),  # too short to show anything
        ("", ""),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("id_number", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("510117200002290013", "510117********0013"),
        ("1234567890", "**********"),
        ("", ""),
    ],
)
def test_mask_resident_id(id_number: str, masked: str) -> None:
    assert mask_resident_id(id_number) == masked


def test_mask_resident_id_hides_the_birth_date() -> None:
    masked = mask_resident_id("11010519491231002X")
    assert "19491231" not in masked
    assert len(masked) == 18


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("alice@example.com", "a***@example.com"),
        ("a@example.com", "a***@example.com"),
        ("zhang.san@hr.sc.gov.cn", "z***@hr.sc.gov.cn"),
        ("we@ird@example.com", "w***@example.com"),
        ("not-an-email", "***"),
        ("@example.com", "***"),
        ("", "***"),
    ],
)
def test_mask_email(email: str, masked: str) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("func", "value"),
    [
        (mask_name, "欧阳娜娜"),
        (mask_phone, "13812345678"),
        (mask_resident_id, "11010519491231002X"),
        (mask_email, "alice@example.com"),
    ],
)
def test_masking_is_deterministic_and_hides_the_input(
    func: Callable[[str], str], value: str
) -> None:
    once = func(value)
    assert func(value) == once
    assert once != value
    assert value not in once
    assert "*" in once
