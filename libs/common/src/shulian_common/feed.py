"""The partner changes feed: every service's published events in commit order, by cursor.

The cursor is the relay's ``position`` (see ``outbox``), wrapped opaquely with the service's
name. Positions are given in the relay's marking ``UPDATE``, one relay at a time, after the rows
were committed and published; so a reader that has seen position ``p`` has seen every row that
will ever hold a position below ``p``, and a transaction that committed late (a lower ``seq`` after
a higher one) gets a later position instead of a gap behind the reader. ``seq`` order would not
give that: a reader past ``seq`` 11 never returns for a 10 that commits afterwards.

Filters are generic: ``types`` on the CloudEvents type, ``city`` on the division fields events
carry (``DIVISION_FIELDS``: a city matches its own code and its counties'). A filtered read still
moves the cursor over what it scanned, so a rare type never makes a reader rescan the log.

Long polls and live tails wait on the relay's ``published_pulse``. It fires when this process's
relay commits positions and, on PostgreSQL, when the relay's ``LISTEN`` connection receives the
``NOTIFY shulian_feed`` another process's relay sends in the transaction that assigns positions
(``outbox``), and on SQLite when the relay's wake-up socket receives the datagram the relay of
another process serving the same file sends once its positions are committed (``shulian serve``'s
extra workers: ``notify.WakeListener``), so a reader wakes milliseconds after a publish anywhere.
While the relay listens readers re-read only every ``LISTENING_POLL_INTERVAL`` as a safety net;
without it (a listener that is down, a platform without Unix sockets) every ``POLL_INTERVAL``.
Partners see only the outbox, the service's public events, which by the catalogue's rule carry no
personal data of talents.

Grants. A partner (a token of role ``partner``, named by its subject ``partner:<name>``) reads only
what the platform granted it: ``Settings.partner_grants`` maps each subject to event types,
divisions and industries (a missing field grants the whole dimension), stated by the deployment
like the partner's Kafka ACLs, the same for every service. What a partner reads is what it asks
within its grant: asking beyond it (a type, or a ``city`` outside the granted divisions) is 403
``not_granted``; what it does not ask is narrowed to the grant (no ``types``: the granted types;
events outside the granted divisions or industries are left out). A partner with no grant reads
nothing (403 ``partner_not_granted``). With no grants configured at all, partners read everything
in dev and test (local tools, demos) and nothing elsewhere. Webhook subscriptions obey the same
grant, when saved and at each delivery (``webhooks``). Operators read the feed whole.

Public types. Whatever its grant, a partner reads only the service's public events
(``public_types``): not what it publishes on a command topic (requests between nodes, and the
decisions and records that share such a topic, e.g. matching's applications), which the partners'
Kafka principals cannot read either (``deploy``: their ACLs cover the event topics alone). Asking
for such a type is 403 ``not_granted``, as for any type beyond the grant.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shulian_common.auth import Principal, Role
from shulian_common.catalogue import catalogue
from shulian_common.commands import CommandModel
from shulian_common.envelope import CONTENT_TYPE, SPECVERSION
from shulian_common.errors import BadRequestError, ForbiddenError, ShulianError
from shulian_common.messaging import outbox
from shulian_common.outbox import as_utc
from shulian_common.pulse import Pulse
from shulian_common.reference import UnknownDivisionError, in_scope, is_division
from shulian_common.settings import Environment, PartnerGrant, Settings

BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
NEXT_CURSOR_HEADER = "Feed-Next-Cursor"
# Event fields naming a GB/T 2260 division, whatever the service.
DIVISION_FIELDS = ("city_code", "county_code", "division_code")
# Event fields naming industries, whatever the service.
INDUSTRY_FIELDS = ("industries", "listing_industries", "industry")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_WAIT = 30.0  # seconds a long poll may hold
SCAN = 2000  # rows one read examines at most when filters skip rows
POLL_INTERVAL = 1.0  # seconds: catches a relay in another process when nothing notifies
LISTENING_POLL_INTERVAL = 10.0  # seconds: a safety net while notifications are received


def poll_interval(listening: bool) -> float:
    """How often a waiting reader re-reads: rarely while notifications arrive (``listening``)."""
    return LISTENING_POLL_INTERVAL if listening else POLL_INTERVAL


class CursorExpiredError(ShulianError):
    """The events after the cursor were purged by retention: the reader must start again."""

    status = 410
    code = "cursor_expired"
    title = "游标所指的事件已过保留期"


# --- cursor -------------------------------------------------------------------------------------


def encode_cursor(service: str, position: int) -> str:
    """The opaque cursor pointing after ``position`` in ``service``'s feed."""
    # Plain text in base64, not JSON: one is made per event, and this is the feed's hot loop.
    return base64.urlsafe_b64encode(f"{service}:{position}".encode()).decode().rstrip("=")


def decode_cursor(service: str, cursor: str | None) -> int:
    """The position a cursor points after (0: the start); 400 ``invalid_feed_cursor`` otherwise."""
    if cursor is None or cursor == "":
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        owner, _, position = raw.rpartition(":")
    except (binascii.Error, ValueError):
        raise BadRequestError("订阅游标无效", code="invalid_feed_cursor") from None
    if not position.isdigit() or not position.isascii():
        raise BadRequestError("订阅游标无效", code="invalid_feed_cursor")
    if owner != service:
        raise BadRequestError("订阅游标不属于本服务的变更流", code="invalid_feed_cursor")
    return int(position)


# --- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """Which events a reader wants and may read: some types (``None``: all), one division it
    asked for, and a grant's divisions and industries (``None``: all)."""

    types: frozenset[str] | None = None
    city: str | None = None
    cities: frozenset[str] | None = None
    industries: frozenset[str] | None = None

    @property
    def scans(self) -> bool:
        """Whether rows are kept by their data (so a read examines more rows than it returns)."""
        return self.city is not None or self.cities is not None or self.industries is not None

    def matches(self, event_type: str, data: Mapping[str, Any]) -> bool:
        """Whether an event of ``event_type`` with ``data`` passes the filter."""
        if self.types is not None and event_type not in self.types:
            return False
        if self.city is not None and not in_division(data, self.city):
            return False
        if self.cities is not None and not any(in_division(data, c) for c in self.cities):
            return False
        return self.industries is None or bool(industries_of(data) & self.industries)


class NotGrantedError(ForbiddenError):
    """A partner asked for events beyond its grant."""

    code = "not_granted"
    title = "超出合作方的授权范围"


def grant_of(settings: Settings, partner: str) -> PartnerGrant | None:
    """The grant of the partner named ``partner`` (``None``: it may read nothing)."""
    if settings.partner_grants is None:
        lenient = settings.env in (Environment.DEV, Environment.TEST)
        return PartnerGrant() if lenient else None
    return settings.partner_grants.get(partner)


def public_types(service: str) -> frozenset[str]:
    """The event types of ``service`` partners may read: those of its topics that carry no
    command (a command topic is the nodes' request channel; partners' Kafka ACLs omit it too)."""
    published = [spec for spec in catalogue if spec.service == service]
    commands = {spec.topic for spec in published if issubclass(spec.model, CommandModel)}
    return frozenset(spec.type for spec in published if spec.topic not in commands)


def partner_grant(settings: Settings, partner: str) -> PartnerGrant | None:
    """What the partner named ``partner`` may read of this service: its grant, within the
    service's ``public_types`` (``None``: nothing)."""
    grant = grant_of(settings, partner)
    if grant is None:
        return None
    public = public_types(settings.service)
    types = public if grant.types is None else grant.types & public
    return grant.model_copy(update={"types": types})


def reader_grant(settings: Settings, reader: Principal) -> PartnerGrant | None:
    """What ``reader`` may read: its grant if it is a partner (403 without one), else ``None``."""
    if reader.role is not Role.PARTNER:
        return None
    grant = partner_grant(settings, reader.sub)
    if grant is None:
        raise ForbiddenError("该合作方未获授权读取本服务的事件", code="partner_not_granted")
    return grant


def within_grant(
    grant: PartnerGrant | None,
    *,
    types: Iterable[str] | None,
    cities: Iterable[str] | None,
    industries: Iterable[str] | None = None,
) -> None:
    """403 ``not_granted`` when asked-for types, divisions or industries exceed ``grant``."""
    if grant is None:
        return
    beyond: list[str] = []
    if grant.types is not None:
        beyond += sorted(set(types or ()) - grant.types)
    if grant.cities is not None:
        beyond += sorted(c for c in cities or () if not any(in_scope(g, c) for g in grant.cities))
    if grant.industries is not None:
        beyond += sorted(set(industries or ()) - grant.industries)
    if beyond:
        raise NotGrantedError(f"未获授权：{'、'.join(beyond)}", extra={"not_granted": beyond})


def granted(where: FeedFilter, grant: PartnerGrant | None) -> FeedFilter:
    """``where`` narrowed to ``grant`` (403 ``not_granted`` when it asks beyond it)."""
    if grant is None:
        return where
    within_grant(grant, types=where.types, cities=[where.city] if where.city else None)
    return FeedFilter(
        types=where.types if where.types is not None else grant.types,
        city=where.city,
        cities=grant.cities,
        industries=grant.industries,
    )


def in_division(data: Mapping[str, Any], scope: str) -> bool:
    """Whether any division field of ``data`` lies within ``scope`` (a province, city, county)."""
    for name in DIVISION_FIELDS:
        code = data.get(name)
        if isinstance(code, str) and is_division(code):
            try:
                if in_scope(scope, code):
                    return True
            except UnknownDivisionError:
                continue
    return False


def industries_of(data: Mapping[str, Any]) -> set[str]:
    """The industries an event's data names (``INDUSTRY_FIELDS``, a code or a list of codes)."""
    found: set[str] = set()
    for name in INDUSTRY_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
    return found


def parse_types(values: Iterable[str] | None) -> frozenset[str] | None:
    """``types`` given repeated or comma-separated; ``None`` when none were given."""
    types = frozenset(t.strip() for value in values or () for t in value.split(",") if t.strip())
    return types or None


def parse_city(city: str | None) -> str | None:
    """A division code, or 400 ``invalid_city``."""
    if city is not None and not is_division(city):
        raise BadRequestError(f"行政区划代码 {city} 不存在", code="invalid_city")
    return city


# --- reading ------------------------------------------------------------------------------------

_COLUMNS = [
    outbox.c.position,
    outbox.c.event_id,
    outbox.c.key,
    outbox.c.type,
    outbox.c.source,
    outbox.c.subject,
    outbox.c.time,
    outbox.c.data,
]


@dataclass(frozen=True, slots=True)
class FeedPage:
    """Events after a position, and the position the next read starts after."""

    events: list[dict[str, Any]]
    last: int


def structured_event(row: Row[Any], *, cursor: str | None = None) -> dict[str, Any]:
    """The structured-mode CloudEvent of a published outbox row (``feedcursor``: resume here)."""
    event: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": row.event_id,
        "source": row.source,
        "type": row.type,
        "time": as_utc(row.time).isoformat(),
        "datacontenttype": CONTENT_TYPE,
        "partitionkey": row.key,
    }
    if row.subject is not None:
        event["subject"] = row.subject
    if cursor is not None:
        event["feedcursor"] = cursor
    event["data"] = row.data
    return event


async def read_feed(
    engine: AsyncEngine,
    *,
    service: str,
    after: int,
    limit: int,
    where: FeedFilter = FeedFilter(),
    scan: int = SCAN,
) -> FeedPage:
    """Up to ``limit`` events with a position above ``after`` that pass ``where``, in order.

    ``CursorExpiredError`` when rows right after ``after`` were purged (positions have no gaps).
    """
    query = select(*_COLUMNS).where(outbox.c.position > after)
    if where.types is not None:
        query = query.where(outbox.c.type.in_(sorted(where.types)))
    query = query.order_by(outbox.c.position).limit(scan if where.scans else limit)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
        if after > 0 and (not rows or rows[0].position != after + 1):
            await _check_not_purged(connection, after)
    events: list[dict[str, Any]] = []
    last = after
    for row in rows:
        last = row.position
        if not where.scans or where.matches(row.type, row.data):
            events.append(structured_event(row, cursor=encode_cursor(service, row.position)))
            if len(events) >= limit:
                break
    return FeedPage(events=events, last=last)


async def _check_not_purged(connection: Any, after: int) -> None:
    lowest = (await connection.execute(select(func.min(outbox.c.position)))).scalar_one_or_none()
    if lowest is not None and lowest > after + 1:
        raise CursorExpiredError()


async def read_event(engine: AsyncEngine, event_id: str) -> dict[str, Any] | None:
    """One published event by id (thin webhooks point here), or ``None``."""
    query = select(*_COLUMNS).where(outbox.c.event_id == event_id, outbox.c.position.is_not(None))
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return None if row is None else structured_event(row)


async def wait_for_feed(
    engine: AsyncEngine,
    pulse: Pulse,
    *,
    service: str,
    after: int,
    limit: int,
    where: FeedFilter,
    wait: float,
    poll: float = POLL_INTERVAL,
) -> FeedPage:
    """``read_feed``, holding up to ``wait`` seconds until something new passes the filter.

    Wakes on each ``pulse`` and at the latest every ``poll`` seconds."""
    deadline = time.monotonic() + wait
    armed = pulse.arm()  # before reading: a publish during the read still wakes the wait
    page = await read_feed(engine, service=service, after=after, limit=limit, where=where)
    while not page.events:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return page
        await pulse.wait(min(remaining, poll), since=armed)
        armed = pulse.arm()
        page = await read_feed(engine, service=service, after=page.last, limit=limit, where=where)
    return page
