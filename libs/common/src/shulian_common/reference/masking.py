"""Masking of personal data for display and logs (talents' names, phones, ID numbers, e-mails).

All functions are pure: they never fail on odd input, and they never reveal more than the
documented parts (a short or malformed value is masked completely rather than partly shown).
"""

from __future__ import annotations

from typing import Final

__all__ = ["MASK_CHAR", "mask_email", "mask_name", "mask_phone", "mask_resident_id"]

MASK_CHAR: Final = "*"


def _keep_ends(value: str, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters; mask all when too short."""
    if len(value) <= head + tail:
        return MASK_CHAR * len(value)
    return value[:head] + MASK_CHAR * (len(value) - head - tail) + value[len(value) - tail :]


def mask_name(name: str) -> str:
    """Keep the first character of a name and mask the rest: 张三 → 张*, 欧阳娜娜 → 欧***."""
    name = name.strip()
    if len(name) <= 1:
        return MASK_CHAR * len(name)
    return name[0] + MASK_CHAR * (len(name) - 1)


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 4 characters of a phone number: 13812345678 → 138****5678."""
    return _keep_ends(phone.strip(), 3, 4)


def mask_resident_id(id_number: str) -> str:
    """Keep the first 6 (division code) and last 4 characters of a resident ID number."""
    return _keep_ends(id_number.strip(), 6, 4)


def mask_email(email: str) -> str:
    """Keep the first local character and the domain: alice@example.com → a***@example.com."""
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return MASK_CHAR * 3
    return f"{local[0]}{MASK_CHAR * 3}@{domain}"
