"""Search terms of a supplier, and how a free-text query turns into terms (pure functions).

A supplier is indexed under structured terms (``c:`` city, ``d:`` county, ``r:`` region,
``i:`` industry, ``l:`` service line, ``s:`` listing status, ``h:`` high-end or not,
``u:`` USCC, ``o:`` owner node) and
the character bigrams of its name (``n:``). A query is a conjunction of *groups*; a supplier
matches a group when it carries any term of it. Filters and query words both become groups, so
SQLite and PostgreSQL run the same plain SQL over one ``(term, supplier_id)`` table.

Query words are first segmented against the vocabulary of known names (cities and counties with
their short forms, regions, industries, service lines and their aliases) by forward maximum
matching, so "宜宾动力电池" reads like "宜宾 动力电池". A known word is a group of its codes (plus
its own bigram when it is two characters, so "宜宾" also finds a firm named 宜宾…); every other
run of two or more characters must match all of its bigrams; a lone unknown character matches
as a substring of the name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache

from shulian_common.reference import Region, cities, counties
from shulian_common.reference.taxonomy import INDUSTRIES, SERVICE_LINES

# Legal-form suffixes say nothing about a firm; stripping them on both sides keeps the bigram
# table small and makes "XX人力资源有限公司" find XX人力资源.
_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
# The shortest head of two or more characters before an administrative suffix, e.g.
# 阿坝藏族羌族自治州 → 阿坝, 峨边彝族自治县 → 峨边, 锦江区 → 锦江 (荣县 stays whole).
_SHORT_FORM = re.compile(r"^(.{2,}?)(?:(?:[^族]{1,3}族)*自治[州县]|[区县市州])$")
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
_SEPARATORS = re.compile(r"[\s,，、;；/|]+")
_PUNCTUATION = re.compile(r"[()（）·.\-_'\"“”‘’]+")
MAX_WORDS = 8


def city_term(code: str) -> str:
    """Term of a city."""
    return f"c:{code}"


def county_term(code: str) -> str:
    """Term of a county."""
    return f"d:{code}"


def region_term(region: str) -> str:
    """Term of an economic region."""
    return f"r:{region}"


def industry_term(code: str) -> str:
    """Term of an industry."""
    return f"i:{code}"


def line_term(code: str) -> str:
    """Term of a service line."""
    return f"l:{code}"


def status_term(status: str) -> str:
    """Term of a listing status."""
    return f"s:{status}"


def owner_term(node: str) -> str:
    """Term of the node owning a supplier."""
    return f"o:{node}"


def high_end_term(high_end: bool) -> str:
    """Term of being (or not being) mid-to-high-end."""
    return f"h:{int(high_end)}"


def normalise_name(name: str) -> str:
    """A firm name without punctuation, spaces or legal-form suffix, Latin letters lower-cased."""
    core = _PUNCTUATION.sub("", "".join(name.split())).lower()
    for suffix in _LEGAL_FORMS:
        if core.endswith(suffix) and len(core) > len(suffix):
            return core[: -len(suffix)]
    return core


def bigrams(text: str) -> list[str]:
    """Distinct character bigrams of ``text`` in order of first appearance."""
    return list(dict.fromkeys(text[i : i + 2] for i in range(len(text) - 1)))


def name_terms(name: str) -> set[str]:
    """Bigram terms of a firm name."""
    return {f"n:{gram}" for gram in bigrams(normalise_name(name))}


@dataclass(frozen=True, slots=True)
class SupplierFacts:
    """What a supplier is indexed by."""

    name: str
    uscc: str
    county_code: str
    city_code: str
    region: str
    industries: tuple[str, ...]
    service_lines: tuple[str, ...]
    listing_status: str
    high_end: bool
    owner_node: str


def supplier_terms(facts: SupplierFacts) -> set[str]:
    """Every term a supplier is indexed under."""
    terms = name_terms(facts.name)
    terms |= {
        city_term(facts.city_code),
        county_term(facts.county_code),
        region_term(facts.region),
        status_term(facts.listing_status),
        high_end_term(facts.high_end),
        f"u:{facts.uscc}",
        owner_term(facts.owner_node),
    }
    terms |= {industry_term(code) for code in facts.industries}
    terms |= {line_term(code) for code in facts.service_lines}
    return terms


# --- the vocabulary -------------------------------------------------------------------------


def _short_forms(name: str) -> Iterator[str]:
    yield name
    match = _SHORT_FORM.match(name)
    if match:
        yield match.group(1)


@cache
def vocabulary() -> dict[str, frozenset[str]]:
    """Known words (Chinese names, short forms, aliases) and the terms each stands for."""
    words: dict[str, set[str]] = {}

    def add(word: str, term: str) -> None:
        words.setdefault(normalise_name(word), set()).add(term)

    for city in cities():
        for form in _short_forms(city.name):
            add(form, city_term(city.code))
        if city.short_name:
            add(city.short_name, city_term(city.code))
    for county in counties():
        for form in _short_forms(county.name):
            add(form, county_term(county.code))
    for region in Region:
        add(region.label, region_term(region))
        add(region.label + "地区", region_term(region))
    for industry in INDUSTRIES:
        for word in (industry.name, *industry.aliases):
            add(word, industry_term(industry.code))
    for line in SERVICE_LINES:
        for word in (line.name, *line.aliases):
            add(word, line_term(line.code))
    return {word: frozenset(terms) for word, terms in words.items() if len(word) >= 2}


@cache
def _longest_word() -> int:
    return max(len(word) for word in vocabulary())


def _segment(word: str) -> Iterator[tuple[str, bool]]:
    """Split a query word into (piece, known) by forward maximum matching on the vocabulary."""
    known = vocabulary()
    start, pending = 0, ""
    while start < len(word):
        for end in range(min(len(word), start + _longest_word()), start + 1, -1):
            if word[start:end] in known:
                if pending:
                    yield pending, False
                    pending = ""
                yield word[start:end], True
                start = end
                break
        else:
            pending += word[start]
            start += 1
    if pending:
        yield pending, False


@dataclass(frozen=True, slots=True)
class TextQuery:
    """A parsed query: term groups (all must match) and name substrings (all must occur)."""

    groups: tuple[frozenset[str], ...] = ()
    name_fragments: tuple[str, ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        """Whether the query constrains nothing."""
        return not self.groups and not self.name_fragments


def parse_query(text: str) -> TextQuery:
    """Turn free text into term groups; words beyond ``MAX_WORDS`` are ignored."""
    groups: list[frozenset[str]] = []
    fragments: list[str] = []
    words = [w for w in _SEPARATORS.split(text.strip()) if w][:MAX_WORDS]
    for raw in words:
        if _USCC.match(raw.upper()):
            groups.append(frozenset({f"u:{raw.upper()}"}))
            continue
        if _PUNCTUATION.sub("", raw) in _LEGAL_FORMS:
            continue  # "有限公司" alone says nothing about a firm, like in the index
        for piece, known in _segment(normalise_name(raw)):
            _add_piece(piece, known, groups, fragments)
    return TextQuery(tuple(dict.fromkeys(groups)), tuple(dict.fromkeys(fragments)))


def _add_piece(piece: str, known: bool, groups: list[frozenset[str]], fragments: list[str]) -> None:
    if known:
        terms = set(vocabulary()[piece])
        if len(piece) == 2:
            terms.add(f"n:{piece}")
        groups.append(frozenset(terms))
    elif len(piece) == 1:
        fragments.append(piece)
    else:
        groups.extend(frozenset({f"n:{gram}"}) for gram in bigrams(piece))


def filter_groups(
    *,
    city: Iterable[str] = (),
    county: Iterable[str] = (),
    region: Iterable[str] = (),
    industry: Iterable[str] = (),
    service_line: Iterable[str] = (),
    status: Iterable[str] = (),
    high_end: bool | None = None,
    node: Iterable[str] = (),
) -> list[frozenset[str]]:
    """Groups for structured filters: values of one filter are alternatives (OR)."""
    candidates = [
        {city_term(c) for c in city},
        {county_term(c) for c in county},
        {region_term(r) for r in region},
        {industry_term(i) for i in industry},
        {line_term(s) for s in service_line},
        {status_term(s) for s in status},
        {owner_term(n) for n in node},
    ]
    if high_end is not None:
        candidates.append({high_end_term(high_end)})
    return [frozenset(c) for c in candidates if c]
