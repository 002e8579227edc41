"""A year of believable activities over the 21 cities, seeded through the handlers so every one
publishes its events.

Deterministic (seeded random): each city holds recruitment sessions for its own industries,
tours of its parks, enterprises, campuses and villages, and — except a few — its yearly
matchmaking fair; the province holds its fairs and trainings. Past activities are held and
completed with outcomes, so the yearly targets come out met in some cities and missed in others
(e.g. no city fair in Garzê or Ngawa, few recruitment sessions in the smaller cities). Seeding is
skipped when the database already holds activities, so restarts duplicate nothing.

Suppliers take part too: once the registry's suppliers have reached this node's replica (the
services are running by then, so not at seeding time), ``check_in_demo_suppliers`` registers a
few listed suppliers for each past occurrence of the node's completed demo activities and checks
them in on the day — a fair draws dozens, a recruitment session a handful — so the yearly
"suppliers taking part" figure is real. On a dev node the service does this in the background
(``demo_check_ins``) until every past activity has its participants.

Every node plans the same year and seeds the activities it owns: each goes to the most specific
node of the network governing its division (``demo_owner``), so beside a Chengdu node
(``SHULIAN_DEMO_NODES``, which ``shulian up`` sets to the nodes it starts) the province node leaves
Chengdu's activities to it, and the network holds each demo activity once.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import exists, select

from shulian_common.auth import Principal, Role
from shulian_common.commands import new_request_id
from shulian_common.db import create_engine, create_session_factory, migrate
from shulian_common.records import flush_update
from shulian_common.reference import (
    PROVINCE_CODE,
    Division,
    DivisionLevel,
    cities,
    counties,
    get_division,
    in_scope,
)
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWork, UnitOfWorkFactory
from shulian_events import contracts, repository
from shulian_events.domain import participation
from shulian_events.domain.lifecycle import ActivityAction, ActivityStatus
from shulian_events.domain.participation import RegistrationStatus
from shulian_events.domain.series import ZONE
from shulian_events.domain.terms import ActivityKind, Campaign, HostKind, Level, ParticipantKind
from shulian_events.handlers import activities as handlers
from shulian_events.handlers.places import record_registration
from shulian_events.orm import MIGRATIONS, Activity, Occurrence, Participant, Registration
from shulian_events.settings import events_settings

DEMO_SEED = 2023
# Cities whose calendar stays thin on purpose: they miss the yearly fair target.
NO_CITY_FAIR = frozenset({"513200", "513300", "511900"})
INDUSTRIES = {
    "510100": ["electronic_information", "modern_services", "digital_economy"],
    "510300": ["lantern_making", "new_energy", "new_chemicals", "drones_aviation"],
    "510400": ["vanadium_titanium", "advanced_materials"],
    "510500": ["liquor_food", "energy_chemicals"],
    "510600": ["major_equipment"],
    "510700": ["electronic_information", "advanced_materials"],
    "510800": ["green_aluminium", "silicon_materials"],
    "510900": ["lithium_materials"],
    "511000": ["liquor_food", "energy_chemicals"],
    "511100": ["culture_tourism", "crystalline_pv"],
    "511300": ["modern_agriculture", "autos_parts", "oil_gas_chemicals"],
    "511400": ["lithium_materials", "liquor_food"],
    "511500": ["power_batteries", "crystalline_pv", "digital_economy", "liquor_food"],
    "511600": ["electronic_information", "liquor_food"],
    "511700": ["energy_chemicals", "new_chemicals"],
    "511800": ["sichuan_tibet_railway", "culture_tourism"],
    "511900": ["modern_agriculture", "liquor_food"],
    "512000": ["autos_parts", "modern_services"],
    "513200": ["culture_tourism", "new_energy"],
    "513300": ["culture_tourism", "new_energy"],
    "513400": ["vanadium_titanium", "new_energy", "modern_agriculture"],
}
# Cities' recruitment sessions a year: bigger economies hold more.
SESSIONS = {"510100": 30, "511500": 16, "510700": 14, "510600": 13, "511300": 12, "510500": 11}


@dataclass(frozen=True, slots=True)
class Plan:
    """One activity to seed, and how far its life went."""

    fields: dict[str, Any]
    outcome: dict[str, int]
    cancel: bool


async def seed_demo(settings: Settings) -> int:
    """Migrate the node's calendar database and seed its demo year into it (once)."""
    settings = events_settings(settings)
    engine = create_engine(settings.resolved_database_url)
    try:
        await migrate(engine, MIGRATIONS)
        uow_factory = UnitOfWorkFactory(create_session_factory(engine), source=settings.source)
        return await seed(
            uow_factory,
            node_id=settings.node_id,
            year=settings.filled_demo_year,
            nodes=settings.demo_network,
        )
    finally:
        await engine.dispose()


_OPERATORS = {
    DivisionLevel.PROVINCE: Role.PROVINCE_ADMIN,
    DivisionLevel.CITY: Role.CITY_OPERATOR,
    DivisionLevel.COUNTY: Role.COUNTY_OPERATOR,
}


def demo_owner(nodes: Sequence[str], division_code: str) -> str | None:
    """The node of ``nodes`` that seeds activities of ``division_code``: the most specific one
    governing it (a county node before its city's, a city node before the province's)."""
    governing = [node for node in nodes if in_scope(node, division_code)]
    # A GB/T 2260 code without its trailing zeros is longer the deeper its division lies.
    return max(governing, key=lambda node: len(node.rstrip("0")), default=None)


async def seed(
    uow_factory: UnitOfWorkFactory, *, node_id: str, year: int, nodes: Sequence[str] = ()
) -> int:
    """Seed the year's activities ``node_id`` owns among ``nodes`` (the demo network; default:
    this node alone, its whole jurisdiction); the count (0 if already seeded)."""
    async with uow_factory() as uow:
        if await repository.holds_any_activity(uow.session):
            return 0
    network = sorted({node_id, *nodes})
    operator = Principal(
        sub="demo@" + node_id,
        role=_OPERATORS[get_division(node_id).level],
        node=node_id,
        division=node_id,
    )
    today = datetime.now(UTC)
    seeded = 0
    for plan in plans(year, random.Random(DEMO_SEED)):
        if demo_owner(network, plan.fields["division_code"]) != node_id:
            continue
        row = (
            await handlers.create_activity(
                uow_factory,
                principal=operator,
                node_id=node_id,
                fields=plan.fields,
                idempotency=None,
            )
        ).record
        seeded += 1
        if plan.cancel:
            await _step(
                uow_factory,
                operator,
                node_id,
                row.id,
                ActivityAction.CANCEL,
                reason="因天气原因取消",
            )
        elif row.ends_at < today:
            await _step(uow_factory, operator, node_id, row.id, ActivityAction.HOLD)
            await _step(
                uow_factory,
                operator,
                node_id,
                row.id,
                ActivityAction.COMPLETE,
                outcome=plan.outcome,
            )
    return seeded


async def _step(
    uow_factory: UnitOfWorkFactory,
    operator: Principal,
    node_id: str,
    activity_id: str,
    action: ActivityAction,
    **extra: Any,
) -> None:
    await handlers.step(
        uow_factory,
        principal=operator,
        node_id=node_id,
        activity_id=activity_id,
        expected=None,
        action=action,
        **extra,
    )


def plans(year: int, rng: random.Random) -> list[Plan]:
    """Every activity of the demo year, province first, then city by city."""
    found = [*_province(year, rng)]
    for city in cities():
        found.extend(_city(city, year, rng))
    return found


def _at(day: date, hour: int, hours: int) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(hour), tzinfo=ZONE)
    return start, start + timedelta(hours=hours)


def _day(rng: random.Random, year: int, months: tuple[int, int] = (1, 12)) -> date:
    first = date(year, months[0], 1)
    last = date(year, months[1], 28)
    day = first + timedelta(days=rng.randrange((last - first).days + 1))
    while day.weekday() == 6:  # no Sundays
        day += timedelta(days=1)
    return day


def _plan(
    rng: random.Random,
    *,
    title: str,
    kind: ActivityKind,
    level: Level,
    division: str,
    day: date,
    venue: str,
    industries: list[str],
    capacity: int,
    campaign: Campaign | None = None,
    host: tuple[HostKind, str] | None = None,
    rrule: str | None = None,
) -> Plan:
    starts_at, ends_at = _at(day, 9, 6 if kind is not ActivityKind.HR_TRAINING else 8)
    firms = rng.randint(capacity // 3, capacity)
    outcome = {
        "firms_participated": firms,
        "positions_offered": firms * rng.randint(8, 40),
        "intents_signed": firms * rng.randint(2, 10),
        "hr_managers_attended": rng.randint(30, 120) if kind is ActivityKind.HR_TRAINING else 0,
    }
    fields: dict[str, Any] = {
        "title": title,
        "kind": kind,
        "level": level,
        "division_code": division,
        "campaign": campaign,
        "industries": industries,
        "host_kind": host[0] if host else None,
        "host_ref": None,
        "host_name": host[1] if host else None,
        "venue": venue,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "rrule": rrule,
        "capacity": capacity,
        "registration_opens_at": starts_at - timedelta(days=30),
        "registration_closes_at": starts_at - timedelta(days=1),
        "approval_required": kind in (ActivityKind.PROVINCE_FAIR, ActivityKind.HR_TRAINING),
    }
    return Plan(fields=fields, outcome=outcome, cancel=rng.random() < 0.02)


def _province(year: int, rng: random.Random) -> list[Plan]:
    venue = "成都世纪城新国际会展中心"
    return [
        _plan(
            rng,
            title=f"{year}年四川省人力资源服务赋能产业对接协同专场（春季）",
            kind=ActivityKind.PROVINCE_FAIR,
            level=Level.PROVINCE,
            division=PROVINCE_CODE,
            day=_day(rng, year, (4, 4)),
            venue=venue,
            industries=["electronic_information", "major_equipment", "power_batteries"],
            capacity=300,
            campaign=Campaign.SPRING_BREEZE,
        ),
        _plan(
            rng,
            title=f"{year}年四川省人力资源服务赋能产业对接协同专场（秋季）",
            kind=ActivityKind.PROVINCE_FAIR,
            level=Level.PROVINCE,
            division=PROVINCE_CODE,
            day=_day(rng, year, (10, 10)),
            venue=venue,
            industries=["crystalline_pv", "vanadium_titanium", "liquor_food"],
            capacity=300,
            campaign=Campaign.GOLDEN_AUTUMN,
        ),
        *(
            _plan(
                rng,
                title=f"重点企业人力资源经理能力提升培训（第{n}期）",
                kind=ActivityKind.HR_TRAINING,
                level=Level.PROVINCE,
                division=PROVINCE_CODE,
                day=_day(rng, year, (3, 11)),
                venue="四川省人力资源和社会保障厅培训中心",
                industries=[],
                capacity=120,
            )
            for n in range(1, 9)
        ),
        _plan(
            rng,
            title=f"{year}年知名高校四川人才活动周",
            kind=ActivityKind.CAMPUS_TOUR,
            level=Level.PROVINCE,
            division=PROVINCE_CODE,
            day=_day(rng, year, (11, 11)),
            venue="四川大学望江校区体育馆",
            industries=["electronic_information", "digital_economy"],
            capacity=200,
            campaign=Campaign.TALENT_WEEK,
            host=(HostKind.CAMPUS, "四川大学"),
        ),
    ]


def _city(city: Division, year: int, rng: random.Random) -> list[Plan]:
    name = city.short_name or city.name
    industries = INDUSTRIES[city.code]
    market = f"{name}市人力资源市场" if not name.endswith("州") else f"{name}人力资源市场"
    found: list[Plan] = []
    if city.code not in NO_CITY_FAIR:
        found.append(
            _plan(
                rng,
                title=f"{year}年{name}人力资源服务与重点产业对接协同专场",
                kind=ActivityKind.CITY_FAIR,
                level=Level.CITY,
                division=city.code,
                day=_day(rng, year, (5, 9)),
                venue=f"{market}会展大厅",
                industries=industries,
                capacity=120,
            )
        )
    for n in range(SESSIONS.get(city.code, rng.randint(5, 9))):
        industry = industries[n % len(industries)]
        spring = n % 2 == 0
        found.append(
            _plan(
                rng,
                title=f"{name}重点产业招聘引才专场（{_season(spring)}第{n // 2 + 1}场）",
                kind=ActivityKind.RECRUITMENT,
                level=Level.CITY,
                division=city.code,
                day=_day(rng, year, (2, 5) if spring else (8, 11)),
                venue=market,
                industries=[industry],
                capacity=rng.choice((40, 60, 80, 100)),
                campaign=Campaign.SPRING_BREEZE if spring else Campaign.GOLDEN_AUTUMN,
            )
        )
    county = rng.choice(counties(city.code))
    found.append(
        _plan(
            rng,
            title=f"{county.name}人力资源服务乡村行",
            kind=ActivityKind.VILLAGE_TOUR,
            level=Level.COUNTY,
            division=county.code,
            day=_day(rng, year, (3, 10)),
            venue=f"{county.name}人民政府便民服务中心",
            industries=[industries[0]],
            capacity=30,
            host=(HostKind.VILLAGE, f"{county.name}乡村振兴示范村"),
        )
    )
    found.append(
        _plan(
            rng,
            title=f"{name}人力资源服务园区行",
            kind=ActivityKind.PARK_TOUR,
            level=Level.CITY,
            division=city.code,
            day=_day(rng, year, (4, 6)),
            venue=f"{name}经济技术开发区管委会",
            industries=industries[:2],
            capacity=40,
            host=(HostKind.PARK, f"{name}经济技术开发区"),
            rrule="FREQ=WEEKLY;COUNT=3",
        )
    )
    found.append(
        _plan(
            rng,
            title=f"{name}就业服务进校园",
            kind=ActivityKind.CAMPUS_TOUR,
            level=Level.CITY,
            division=city.code,
            day=_day(rng, year, (10, 11)),
            venue=f"{name}职业技术学院",
            industries=industries[:1],
            capacity=60,
            campaign=Campaign.JOBS_TO_CAMPUS,
            host=(HostKind.CAMPUS, f"{name}职业技术学院"),
        )
    )
    return found


def _season(spring: bool) -> str:
    return Campaign.SPRING_BREEZE.label if spring else Campaign.GOLDEN_AUTUMN.label


# Suppliers checked in at each past occurrence, by kind of activity (trainings are for
# enterprises' HR managers, counted by the activity's outcome). About 2,000 firm-times a year
# over the demo calendar: the province's yearly target, met or just missed.
SUPPLIERS_AT = {
    ActivityKind.PROVINCE_FAIR: (60, 90),
    ActivityKind.CITY_FAIR: (15, 30),
    ActivityKind.RECRUITMENT: (3, 8),
    ActivityKind.CAMPUS_TOUR: (2, 6),
    ActivityKind.PARK_TOUR: (2, 5),
    ActivityKind.VILLAGE_TOUR: (1, 3),
}


async def check_in_demo_suppliers(
    uow_factory: UnitOfWorkFactory, *, node_id: str, now: datetime | None = None
) -> int:
    """Check listed suppliers in at the past occurrences of this node's completed activities
    that nobody registered for; how many check-ins (0 before any supplier reached the replica,
    and once every past activity has its participants).

    Each becomes the registration's history as its events tell it: decided (a confirmed place),
    then checked in on the occurrence's day. The activities are closed by now, so the request
    path (which refuses closed activities) is not taken: this writes the demo's past.
    """
    moment = now or datetime.now(UTC)
    async with uow_factory() as uow:
        suppliers = [
            (row.id, row.name)
            for row in await uow.session.execute(
                select(Participant.id, Participant.name)
                .where(
                    Participant.kind == str(ParticipantKind.SUPPLIER),
                    Participant.listing_status == "listed",
                )
                .order_by(Participant.id)
            )
        ]
        if not suppliers:
            return 0
        registered = exists().where(Registration.activity_id == Activity.id)
        activities = list(
            await uow.session.scalars(
                select(Activity.id)
                .where(
                    Activity.owner_node == node_id,
                    Activity.status == str(ActivityStatus.COMPLETED),
                    Activity.kind.in_([str(kind) for kind in SUPPLIERS_AT]),
                    Activity.ends_at < moment,
                    ~registered,
                )
                .order_by(Activity.starts_at, Activity.id)
            )
        )
    checked_in = 0
    for activity_id in activities:
        async with uow_factory() as uow:
            activity = await uow.session.get(Activity, activity_id)
            if activity is None or await repository.registrations_of(uow.session, activity_id):
                continue  # gone, or someone registered meanwhile
            checked_in += await _check_in_suppliers(uow, activity, suppliers, node_id, moment)
            await uow.commit()
    return checked_in


async def _check_in_suppliers(
    uow: UnitOfWork,
    activity: Activity,
    suppliers: list[tuple[str, str]],
    node_id: str,
    moment: datetime,
) -> int:
    occurrences = list(
        await uow.session.scalars(
            select(Occurrence)
            .where(
                Occurrence.activity_id == activity.id,
                Occurrence.cancelled.is_(False),
                Occurrence.ends_at < moment,
            )
            .order_by(Occurrence.starts_at)
        )
    )
    rng = random.Random(f"{DEMO_SEED}/{activity.id}")
    low, high = SUPPLIERS_AT[ActivityKind(activity.kind)]
    count = 0
    for occurrence in occurrences:
        wanted = min(rng.randint(low, high), activity.capacity, len(suppliers))
        for seq, (supplier_id, name) in enumerate(rng.sample(suppliers, wanted), start=1):
            registered_at = max(
                activity.registration_opens_at or occurrence.starts_at - timedelta(days=7),
                occurrence.starts_at - timedelta(days=rng.randint(2, 20)),
            )
            row = Registration(
                id=new_request_id(),
                owner_node=activity.owner_node,
                created_at=registered_at,
                updated_at=registered_at,
                activity_id=activity.id,
                occurrence_key=occurrence.key,
                participant_kind=str(ParticipantKind.SUPPLIER),
                participant_id=supplier_id,
                participant_name=name,
                requester_node=node_id,
                status=str(RegistrationStatus.CONFIRMED),
                seq=seq,
                hr_managers=0,
                attendees=0,
                reason_code=None,
                reason=None,
                checked_in_at=None,
            )
            uow.session.add(row)
            await uow.session.flush()
            record_registration(uow, contracts.RegistrationDecided, row)
            row.status = str(participation.check_in(RegistrationStatus(row.status)))
            row.checked_in_at = occurrence.starts_at + timedelta(minutes=rng.randint(0, 90))
            await flush_update(uow.session, row)
            record_registration(uow, contracts.RegistrationCheckedIn, row)
            count += 1
    return count
