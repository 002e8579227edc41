"""Explainable ranking of an order's candidates: each term's weight, what matched, what is missing.

The score is a weighted sum of terms in [0, 1], so a reader can recompute it from the explanation:
``score = Σ weight × fit``. Suppliers are ranked only among the eligible (listed, serving the
service line and industry, allowed by visibility): eligibility is a filter, not a term, so a
high score never hides a rule. Ties break on id, so the order is stable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shulian_common.reference import region_of

SUPPLIER_WEIGHTS = {
    "service_line": 0.35,
    "industry": 0.25,
    "same_city": 0.2,
    "same_region": 0.1,
    "availability": 0.1,
}
TALENT_WEIGHTS = {"occupation": 0.5, "skills": 0.3, "same_city": 0.2}
_TERM_TEXT = {
    "service_line": "提供所需服务业态",
    "industry": "服务订单所属产业",
    "same_city": "与订单同城",
    "same_region": "与订单同属一个经济区",
    "availability": "当前在办中标订单少",
    "occupation": "职业相符",
    "skills": "技能相符",
}


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a score: its weight, how well the candidate fits it (0-1), the points."""

    term: str
    label: str
    weight: float
    fit: float

    @property
    def points(self) -> float:
        """The term's share of the score."""
        return round(self.weight * self.fit, 4)


@dataclass(frozen=True, slots=True)
class Ranked:
    """A candidate's score with its explanation."""

    id: str
    score: float
    terms: tuple[Term, ...]

    @property
    def matched(self) -> list[str]:
        """Labels of the terms the candidate fits fully."""
        return [t.label for t in self.terms if t.fit >= 1.0]

    @property
    def missing(self) -> list[str]:
        """Labels of the terms the candidate does not fit at all."""
        return [t.label for t in self.terms if t.fit <= 0.0]


def _ranked(candidate_id: str, fits: dict[str, float], weights: dict[str, float]) -> Ranked:
    terms = tuple(Term(name, _TERM_TEXT[name], weights[name], fits[name]) for name in weights)
    return Ranked(candidate_id, round(sum(t.points for t in terms), 4), terms)


def same_region(city_a: str, city_b: str) -> bool:
    """Whether two cities lie in one of the five economic regions."""
    return region_of(city_a) == region_of(city_b)


def score_supplier(
    supplier_id: str,
    *,
    supplier_city: str,
    order_city: str,
    serves_industry: bool,
    active_awards: int,
    award_cap: int,
) -> Ranked:
    """An eligible supplier's score for a service order (it serves the line by eligibility)."""
    fits = {
        "service_line": 1.0,
        "industry": 1.0 if serves_industry else 0.0,
        "same_city": 1.0 if supplier_city == order_city else 0.0,
        "same_region": 1.0 if same_region(supplier_city, order_city) else 0.0,
        "availability": max(0.0, 1.0 - active_awards / award_cap),
    }
    return _ranked(supplier_id, fits, SUPPLIER_WEIGHTS)


def score_talent(
    talent_id: str,
    *,
    occupation_matches: bool,
    talent_skills: Iterable[str],
    order_skills: Iterable[str],
    same_city: bool,
) -> Ranked:
    """A talent's score for a job order: occupation, share of the wanted skills held, city."""
    wanted = set(order_skills)
    held = set(talent_skills)
    fits = {
        "occupation": 1.0 if occupation_matches else 0.0,
        "skills": len(wanted & held) / len(wanted) if wanted else 1.0,
        "same_city": 1.0 if same_city else 0.0,
    }
    return _ranked(talent_id, fits, TALENT_WEIGHTS)


def rank(candidates: Iterable[Ranked], *, limit: int) -> list[Ranked]:
    """The best ``limit`` candidates, highest score first, ties by id."""
    return sorted(candidates, key=lambda r: (-r.score, r.id))[:limit]
