"""Validators for Chinese identifiers: the Unified Social Credit Code and the resident ID number.

- Unified Social Credit Code (统一社会信用代码), GB 32100-2015: 18 characters.
  Position 1 registration-authority code, 2 type code, 3-8 GB/T 2260 division code,
  9-17 the organisation code (GB 11714, whose 9th character is its own check character),
  18 the mod-31 check character.
- Resident identity card number (公民身份号码), GB 11643-1999: 18 characters.
  Positions 1-6 division code, 7-14 birth date (YYYYMMDD), 15-17 sequence, 18 the ISO 7064
  MOD 11-2 check character.

Each validator returns the normalised value (upper case) or raises an error whose ``reason`` is a
stable machine code, so callers can map it to their own messages.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Final, Literal

__all__ = [
    "USCC_CHARSET",
    "USCC_REGISTRATION_AUTHORITIES",
    "InvalidResidentIDError",
    "InvalidUSCCError",
    "ResidentIDErrorReason",
    "USCCErrorReason",
    "organization_code_check_character",
    "resident_id_birth_date",
    "resident_id_check_character",
    "uscc_check_character",
    "uscc_region_code",
    "validate_resident_id",
    "validate_uscc",
]

# --- Unified Social Credit Code (GB 32100-2015) -------------------------------------------

#: The 31 characters a USCC may contain, in value order (0-30): no I, O, S, V, Z.
USCC_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES: Final = {char: value for value, char in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_LENGTH: Final = 18

#: Registration-authority codes (登记管理部门代码) of GB 32100-2015 and its later assignments:
#: 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会, 9 市场监管(工商),
#: A 中央军委改革和编制办公室, N 农业, Y 其他.
USCC_REGISTRATION_AUTHORITIES: Final = frozenset("123456789ANY")

# GB 11714 organisation code: 8 body characters weighted, then a check character.
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)

USCCErrorReason = Literal[
    "length", "charset", "registration_authority", "check_character", "organization_code_check"
]


class InvalidUSCCError(ValueError):
    """Raised when a string is not a valid Unified Social Credit Code."""

    def __init__(self, reason: USCCErrorReason, message: str) -> None:
        super().__init__(message)
        self.reason: USCCErrorReason = reason


def _require_uscc_chars(text: str, length: int) -> str:
    if not isinstance(text, str) or len(text) != length:
        got = len(text) if isinstance(text, str) else type(text).__name__
        raise InvalidUSCCError("length", f"expected {length} characters, got {got}")
    upper = text.upper()
    bad = sorted({char for char in upper if char not in _USCC_VALUES})
    if bad:
        raise InvalidUSCCError(
            "charset",
            f"characters {''.join(bad)!r} are not allowed "
            "(only digits and letters other than I, O, S, V, Z)",
        )
    return upper


def uscc_check_character(first17: str) -> str:
    """Return the mod-31 check character (position 18) for the first 17 USCC characters."""
    body = _require_uscc_chars(first17, _USCC_LENGTH - 1)
    total = sum(
        _USCC_VALUES[char] * weight for char, weight in zip(body, _USCC_WEIGHTS, strict=True)
    )
    return USCC_CHARSET[(31 - total % 31) % 31]


def organization_code_check_character(body8: str) -> str:
    """Return the GB 11714 check character (a digit or X) for an 8-character organisation code."""
    if len(body8) != len(_ORG_WEIGHTS) or not body8.isascii() or not body8.isalnum():
        raise ValueError(f"expected 8 ASCII digits or letters, got {body8!r}")
    total = 0
    for char, weight in zip(body8.upper(), _ORG_WEIGHTS, strict=True):
        value = int(char) if char.isdigit() else ord(char) - ord("A") + 10
        total += value * weight
    check = 11 - total % 11
    if check == 10:
        return "X"
    return "0" if check == 11 else str(check)


def validate_uscc(code: str) -> str:
    """Validate a Unified Social Credit Code and return it in upper case."""
    upper = _require_uscc_chars(code, _USCC_LENGTH)
    if upper[0] not in USCC_REGISTRATION_AUTHORITIES:
        raise InvalidUSCCError(
            "registration_authority",
            f"registration-authority code {upper[0]!r} is not one of "
            f"{''.join(sorted(USCC_REGISTRATION_AUTHORITIES))}",
        )
    expected = uscc_check_character(upper[:17])
    if upper[17] != expected:
        raise InvalidUSCCError(
            "check_character",
            f"check character is {upper[17]!r} but the first 17 characters give {expected!r}",
        )
    org_expected = organization_code_check_character(upper[8:16])
    if upper[16] != org_expected:
        raise InvalidUSCCError(
            "organization_code_check",
            f"organisation code {upper[8:17]} has check character {upper[16]!r}, "
            f"expected {org_expected!r}",
        )
    return upper


def uscc_region_code(code: str) -> str:
    """Return the GB/T 2260 division code (characters 3-8) of a valid USCC."""
    return validate_uscc(code)[2:8]


# --- Resident identity card number (GB 11643-1999) ----------------------------------------

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_MAP: Final = "10X98765432"
_ID_LENGTH: Final = 18
_ID_MIN_BIRTH_YEAR: Final = 1800
_CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8), "Asia/Shanghai")

ResidentIDErrorReason = Literal["length", "charset", "birth_date", "check_character"]


class InvalidResidentIDError(ValueError):
    """Raised when a string is not a valid 18-character resident ID number."""

    def __init__(self, reason: ResidentIDErrorReason, message: str) -> None:
        super().__init__(message)
        self.reason: ResidentIDErrorReason = reason


def resident_id_check_character(first17: str) -> str:
    """Return the MOD 11-2 check character (a digit or X) for the first 17 ID digits."""
    if len(first17) != _ID_LENGTH - 1 or not (first17.isascii() and first17.isdigit()):
        raise InvalidResidentIDError("charset", f"expected 17 ASCII digits, got {first17!r}")
    total = sum(int(char) * weight for char, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_MAP[total % 11]


def resident_id_birth_date(id_number: str) -> date:
    """Return the birth date encoded in a valid resident ID number."""
    normalised = validate_resident_id(id_number)
    return date(int(normalised[6:10]), int(normalised[10:12]), int(normalised[12:14]))


def validate_resident_id(id_number: str, *, today: date | None = None) -> str:
    """Validate an 18-character resident ID number and return it with a capital X.

    ``today`` (default: the current date in China) bounds the birth date, which must be a real
    calendar date from 1800-01-01 up to and including ``today``.
    """
    if not isinstance(id_number, str) or len(id_number) != _ID_LENGTH:
        got = len(id_number) if isinstance(id_number, str) else type(id_number).__name__
        raise InvalidResidentIDError("length", f"expected {_ID_LENGTH} characters, got {got}")
    normalised = id_number.upper()
    body, last = normalised[:17], normalised[17]
    if not (body.isascii() and body.isdigit()) or last not in "0123456789X":
        raise InvalidResidentIDError(
            "charset", "the first 17 characters must be digits and the last a digit or X"
        )
    try:
        birth = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise InvalidResidentIDError(
            "birth_date", f"birth date {body[6:14]} is not a real calendar date"
        ) from None
    if today is None:
        today = datetime.now(_CHINA_STANDARD_TIME).date()
    if birth > today:
        raise InvalidResidentIDError("birth_date", f"birth date {birth} is in the future")
    if birth.year < _ID_MIN_BIRTH_YEAR:
        raise InvalidResidentIDError(
            "birth_date", f"birth date {birth} is before {_ID_MIN_BIRTH_YEAR}"
        )
    expected = resident_id_check_character(body)
    if last != expected:
        raise InvalidResidentIDError(
            "check_character",
            f"check character is {last!r} but the first 17 digits give {expected!r}",
        )
    return normalised
