"""Tests of the USCC (GB 32100-2015) and resident ID (GB 11643-1999) validators."""

from datetime import date

import pytest

from shulian_common.reference import (
    InvalidResidentIDError,
    InvalidUSCCError,
    organization_code_check_character,
    resident_id_birth_date,
    resident_id_check_character,
    uscc_check_character,
    uscc_region_code,
    validate_resident_id,
    validate_uscc,
)
from shulian_common.reference.validators import USCC_CHARSET, USCC_REGISTRATION_AUTHORITIES

# Codes published by their holders; both the mod-31 and the organisation-code check verify.
PUBLISHED_USCCS = [
    "91350100M000100Y43",  # the worked example of GB 32100-2015
    "91110000802100433B",  # 北京百度网讯科技有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "914403001922038216",  # 华为技术有限公司
    "91110108551385082Q",  # 北京小米科技有限责任公司
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "91510700205412308D",  # 四川长虹电器股份有限公司 (Mianyang)
]

# Built with the algorithm (regression values): letter-first authorities, X org check, etc.
CONSTRUCTED_USCCS = [
    "9151010000000006XE",  # organisation-code check character X
    "N2510100MA6CXXXX9M",  # N: agriculture authority
    "Y1510000123456788T",  # Y: other authorities
    "A15101000A1B2C3D82",  # A: military establishment office
    "51510000MJ0000018T",  # 5: civil affairs (social organisation)
    "92511502MA6ABCDE75",  # 9-2: individual business in 翠屏区
    "12510000450000008Y",  # 1-2: public institution, check character Y
    "Y2513400L00000011H",
]


def _build(first8: str, org8: str, org_check: str | None = None) -> str:
    """Build a USCC whose mod-31 check is right; the organisation check may be forced wrong."""
    check = org_check if org_check is not None else organization_code_check_character(org8)
    first17 = first8 + org8 + check
    return first17 + uscc_check_character(first17)


# --- USCC: valid codes ----------------------------------------------------------------------


@pytest.mark.parametrize("code", PUBLISHED_USCCS + CONSTRUCTED_USCCS)
def test_valid_uscc(code: str) -> None:
    assert validate_uscc(code) == code
    assert uscc_check_character(code[:17]) == code[17]
    assert organization_code_check_character(code[8:16]) == code[16]


def test_lower_case_uscc_is_normalised() -> None:
    assert validate_uscc("91110000802100433b") == "91110000802100433B"
    assert validate_uscc("n2510100ma6cxxxx9m") == "N2510100MA6CXXXX9M"


@pytest.mark.parametrize(
    ("code", "region"),
    [("91510700205412308D", "510700"), ("92511502MA6ABCDE75", "511502")],
)
def test_uscc_region_code(code: str, region: str) -> None:
    assert uscc_region_code(code) == region


def test_uscc_region_code_validates() -> None:
    with pytest.raises(InvalidUSCCError):
        uscc_region_code("91510700205412308E")


@pytest.mark.parametrize("authority", sorted(USCC_REGISTRATION_AUTHORITIES))
def test_every_registration_authority_is_accepted(authority: str) -> None:
    code = _build(authority + "1510100", "MA6CXXXX")
    assert validate_uscc(code) == code


def test_registration_authority_set_is_the_standard_one() -> None:
    assert set("123456789ANY") == USCC_REGISTRATION_AUTHORITIES


def test_charset_has_31_characters_without_i_o_s_v_z() -> None:
    assert len(USCC_CHARSET) == 31
    assert len(set(USCC_CHARSET)) == 31
    assert not set("IOSVZ") & set(USCC_CHARSET)


@pytest.mark.parametrize(
    ("first17", "check"),
    [("91350100M000100Y4", "3"), ("91110000802100433", "B"), ("91440300708461136", "T")],
)
def test_uscc_check_character(first17: str, check: str) -> None:
    assert uscc_check_character(first17) == check


@pytest.mark.parametrize("bad", ["", "9135010", "91350100M000100Y43"])
def test_uscc_check_character_needs_17_characters(bad: str) -> None:
    with pytest.raises(InvalidUSCCError) as info:
        uscc_check_character(bad)
    assert info.value.reason == "length"


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("00000000", "0"),  # 11 - 0 = 11 → 0
        ("00000001", "9"),  # 11 - 2 = 9
        ("00000005", "1"),  # 11 - 10 = 1
        ("00000006", "X"),  # 11 - (12 mod 11) = 10 → X
        ("M000100Y", "4"),
        ("80210043", "3"),
        ("19220382", "1"),
    ],
)
def test_organization_code_check_character(body: str, check: str) -> None:
    assert organization_code_check_character(body) == check


@pytest.mark.parametrize("bad", ["", "1234567", "123456789", "1234-678", "1234567中"])
def test_organization_code_check_character_rejects_bad_bodies(bad: str) -> None:
    with pytest.raises(ValueError, match="8 ASCII"):
        organization_code_check_character(bad)


# --- USCC: every reason code ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "length"),
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y433", "length"),
        (" 91350100M000100Y43", "length"),
        ("91350100M000100I43", "charset"),  # I
        ("91350100M00010OY43", "charset"),  # O
        ("91350100M000S00Y43", "charset"),  # S
        ("91350100M00V100Y43", "charset"),  # V
        ("91350100M000100Z43", "charset"),  # Z
        ("91350100M000-00Y43", "charset"),
        ("91350100M000100Y4中", "charset"),
        (_build("B1510100", "MA6CXXXX"), "registration_authority"),
        (_build("01510100", "MA6CXXXX"), "registration_authority"),
        (_build("X1510100", "MA6CXXXX"), "registration_authority"),
        ("91350100M000100Y44", "check_character"),
        ("91110000802100433C", "check_character"),
        ("91510700205412309D", "check_character"),  # one digit changed
        ("91510700025412308D", "check_character"),  # two digits swapped
        (_build("91510100", "00000006", "0"), "organization_code_check"),
        (_build("91510100", "MA6CXXXX", "Y"), "organization_code_check"),
    ],
)
def test_invalid_uscc(code: str, reason: str) -> None:
    with pytest.raises(InvalidUSCCError) as info:
        validate_uscc(code)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)
    assert str(info.value)


def test_every_single_character_substitution_is_caught() -> None:
    code = "91510700205412308D"
    for position in range(18):
        for char in USCC_CHARSET:
            if char == code[position]:
                continue
            mutated = code[:position] + char + code[position + 1 :]
            with pytest.raises(InvalidUSCCError):
                validate_uscc(mutated)


def test_non_string_uscc_is_a_length_error() -> None:
    with pytest.raises(InvalidUSCCError) as info:
        validate_uscc(None)  # type: ignore[arg-type]
    assert info.value.reason == "length"


# --- resident ID ----------------------------------------------------------------------------

TODAY = date(2024, 6, 1)


@pytest.mark.parametrize(
    ("id_number", "normalised"),
    [
        ("11010519491231002X", "11010519491231002X"),  # example in GB 11643-1999
        ("11010519491231002x", "11010519491231002X"),  # lower-case x normalised
        ("440524188001010014", "440524188001010014"),  # example in GB 11643-1999
        ("510117200002290013", "510117200002290013"),  # leap day 2000
        ("513402202406010018", "513402202406010018"),  # born "today"
    ],
)
def test_valid_resident_id(id_number: str, normalised: str) -> None:
    assert validate_resident_id(id_number, today=TODAY) == normalised


def test_resident_id_default_today_accepts_past_births() -> None:
    assert validate_resident_id("11010519491231002X") == "11010519491231002X"


@pytest.mark.parametrize(
    ("first17", "check"),
    [("11010519491231002", "X"), ("44052418800101001", "4"), ("51011720000229001", "3")],
)
def test_resident_id_check_character(first17: str, check: str) -> None:
    assert resident_id_check_character(first17) == check


def test_resident_id_birth_date() -> None:
    assert resident_id_birth_date("11010519491231002x") == date(1949, 12, 31)


def _id(first17: str) -> str:
    return first17 + resident_id_check_character(first17)


@pytest.mark.parametrize(
    ("id_number", "reason"),
    [
        ("", "length"),
        ("11010519491231002", "length"),
        ("11010519491231002X0", "length"),
        ("110105194912310", "length"),  # old 15-digit numbers are not accepted
        ("1101051949123100XX", "charset"),
        ("11010519491231002A", "charset"),
        ("A1010519491231002X", "charset"),
        ("１１010519491231002X", "charset"),  # full-width digits
        (_id("51011719990229001"), "birth_date"),  # 1999 is not a leap year
        (_id("51011720001301001"), "birth_date"),  # month 13
        (_id("51011720000100001"), "birth_date"),  # day 0
        (_id("51011720240602001"), "birth_date"),  # after TODAY
        (_id("51011717991231001"), "birth_date"),  # before 1800
        ("110105194912310021", "check_character"),
        ("110105194912310020", "check_character"),
        ("440524188001010015", "check_character"),
    ],
)
def test_invalid_resident_id(id_number: str, reason: str) -> None:
    with pytest.raises(InvalidResidentIDError) as info:
        validate_resident_id(id_number, today=TODAY)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)


def test_resident_id_check_character_needs_17_digits() -> None:
    with pytest.raises(InvalidResidentIDError) as info:
        resident_id_check_character("1101051949123100X")
    assert info.value.reason == "charset"
