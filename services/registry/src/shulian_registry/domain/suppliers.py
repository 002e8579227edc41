"""Facts about suppliers: the USCC, the mid-to-high-end flag, contact masking, ids."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shulian_common.reference import (
    InvalidUSCCError,
    get_division,
    is_division,
    mask_email,
    mask_name,
    mask_phone,
    validate_uscc,
)
from shulian_common.reference.taxonomy import high_end_lines
from shulian_registry.domain.errors import InvalidUSCC


def check_uscc(code: str) -> str:
    """Return the normalised USCC, or raise ``InvalidUSCC`` with the failing rule as ``reason``."""
    try:
        return validate_uscc(code)
    except InvalidUSCCError as exc:
        raise InvalidUSCC(f"统一社会信用代码无效：{exc}", extra={"reason": exc.reason}) from None


def uscc_region(uscc: str) -> tuple[str, str | None]:
    """Characters 3-8 of a valid USCC and the name of that division when it is still current.

    Codes issued before a division was renamed keep the old code (e.g. 510122 双流县), so an
    unknown code is reported, never refused.
    """
    code = uscc[2:8]
    return code, get_division(code).name if is_division(code) else None


def is_high_end(service_lines: Iterable[str]) -> bool:
    """A supplier is mid-to-high-end (中高端业态) when it offers at least one high-end line."""
    return not high_end_lines().isdisjoint(service_lines)


@dataclass(frozen=True, slots=True)
class Contact:
    """A supplier's contact person: personal data, masked unless the caller may see it."""

    name: str | None
    phone: str | None
    email: str | None

    def masked(self) -> Contact:
        """The same contact with every part masked."""
        return Contact(
            name=mask_name(self.name) if self.name else None,
            phone=mask_phone(self.phone) if self.phone else None,
            email=mask_email(self.email) if self.email else None,
        )


def merge_contact(current: Contact, patch: Mapping[str, Any] | None) -> Contact:
    """A contact after a JSON merge patch (RFC 7396): ``null`` clears the whole contact, a
    member set to ``null`` clears that part, members left out keep their value."""
    if patch is None:
        return Contact(None, None, None)
    return Contact(
        name=patch.get("name", current.name),
        phone=patch.get("phone", current.phone),
        email=patch.get("email", current.email),
    )


@dataclass(frozen=True, slots=True)
class Registration:
    """One node's registration of a USCC: which supplier, which node, when."""

    supplier_id: str
    owner_node: str
    registered_at: datetime


def first_of(a: Registration, b: Registration) -> tuple[Registration, Registration]:
    """Order two registrations of one USCC as (kept, duplicate), the same on every node.

    The earlier registration keeps the USCC; at the same instant the lower node code, then the
    lower supplier id wins. Every field is in the snapshot events, so each node that sees both
    registrations reaches the same verdict without asking anyone.
    """
    ordered = sorted((a, b), key=lambda r: (r.registered_at, r.owner_node, r.supplier_id))
    return ordered[0], ordered[1]


def new_id(now: datetime | None = None) -> str:
    """A 32-hex-digit id that sorts by creation time: 48-bit milliseconds, then 80 random bits.

    Time order keeps keyset pages in registration order and index inserts at the right edge.
    """
    moment = now or datetime.now(UTC)
    return f"{int(moment.timestamp() * 1000):012x}{secrets.randbits(80):020x}"
