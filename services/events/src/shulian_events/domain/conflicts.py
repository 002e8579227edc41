"""Double-booking: the same host or venue taken by two activities at overlapping times.

It is a warning, not a refusal: two sessions may share a large venue on purpose, but an
organiser should see the clash when scheduling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Slot:
    """An occurrence's interval at a host or venue."""

    activity_id: str
    title: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Clash:
    """One of ours overlapping one of theirs."""

    ours: Slot
    theirs: Slot

    @property
    def detail(self) -> str:
        """The warning's Chinese text."""
        return (
            f"与活动《{self.theirs.title}》时间重叠："
            f"{self.theirs.starts_at.isoformat()} – {self.theirs.ends_at.isoformat()}"
        )


def clashes(ours: Iterable[Slot], theirs: Iterable[Slot]) -> list[Clash]:
    """Pairs of slots of different activities that overlap in time."""
    mine = sorted(ours, key=lambda s: s.starts_at)
    found = []
    for other in sorted(theirs, key=lambda s: s.starts_at):
        for slot in mine:
            if slot.activity_id == other.activity_id:
                continue
            if slot.starts_at < other.ends_at and other.starts_at < slot.ends_at:
                found.append(Clash(slot, other))
    return found
