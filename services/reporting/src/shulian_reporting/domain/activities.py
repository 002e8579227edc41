"""The activity calendar in figures: sessions (场次) and outcomes by kind, level, city and month.

A session is a standing occurrence of an activity not cancelled, counted on its Sichuan day; the
outcome of a completed activity (positions offered, intents signed, HR managers attended) counts
on the day of its first session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shulian_reporting.domain.facts import Facts
from shulian_reporting.domain.scope import Scope


@dataclass(slots=True)
class Tally:
    """What a group of activities adds up to."""

    sessions: int = 0
    positions_offered: int = 0
    intents_signed: int = 0
    hr_managers_attended: int = 0


@dataclass(slots=True)
class ActivityFigures:
    """The year's figures of a scope, in total and by kind, level, city and month."""

    total: Tally = field(default_factory=Tally)
    by_kind: dict[str, Tally] = field(default_factory=dict)
    by_level: dict[str, Tally] = field(default_factory=dict)
    by_city: dict[str, Tally] = field(default_factory=dict)
    by_month: dict[int, Tally] = field(default_factory=dict)

    def groups(self, kind: str, level: str, city: str | None, month: int) -> list[Tally]:
        """The tallies one session or outcome adds to."""
        found = [
            self.total,
            self.by_kind.setdefault(kind, Tally()),
            self.by_level.setdefault(level, Tally()),
            self.by_month.setdefault(month, Tally()),
        ]
        if city is not None:
            found.append(self.by_city.setdefault(city, Tally()))
        return found


def activity_figures(facts: Facts, scope: Scope, year: int, as_of: date) -> ActivityFigures:
    """The figures of ``scope``'s activities in ``year`` up to ``as_of``."""
    figures = ActivityFigures(by_month={month: Tally() for month in range(1, 13)})
    for a in facts.activities:
        if a.status == "cancelled" or not scope.covers(a.city_code):
            continue
        for _key, day in a.occurrences:
            if day.year == year and day <= as_of:
                for tally in figures.groups(a.kind, a.level, a.city_code, day.month):
                    tally.sessions += 1
        first = a.first_day
        if a.positions_offered is None or first is None or first.year != year or first > as_of:
            continue
        for tally in figures.groups(a.kind, a.level, a.city_code, first.month):
            tally.positions_offered += a.positions_offered
            tally.intents_signed += a.intents_signed or 0
            tally.hr_managers_attended += a.hr_managers_attended or 0
    return figures
