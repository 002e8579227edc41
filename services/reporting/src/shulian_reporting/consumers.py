"""What reporting consumes, into projections: the registry's suppliers, network and enterprises;
the events service's activities and registrations; matching's orders and talents. And other
nodes' annual summaries, kept as replicas (reporting's own stream).

Each event type is read through reporting's own reader model (only what the indicators use),
checked against the producer's committed ``asyncapi.json`` by the contract test; no producer code
is imported. Status and kind fields are plain strings, so a value the producer adds later is kept,
not dead-lettered.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shulian_common.commands import CommandReader, decides, follows
from shulian_common.consumer import Subscription
from shulian_common.readers import ReaderModel, Reads
from shulian_reporting.contracts import (
    SUMMARIES_TOPIC,
    SUMMARY_DECISION_DECIDED,
    SUMMARY_DECISION_REQUESTED,
    SUMMARY_DECISIONS_TOPIC,
    SummaryDecisionDecided,
)
from shulian_reporting.domain.indicators import Source
from shulian_reporting.handlers import projections as p
from shulian_reporting.handlers.summaries import decide_request, keep_summary, load_summary

SUPPLIERS_TOPIC = "shulian.registry.suppliers.v1"
NETWORK_TOPIC = "shulian.registry.network.v1"
ENTERPRISES_TOPIC = "shulian.registry.enterprises.v1"
ACTIVITIES_TOPIC = "shulian.events.activities.v1"
REGISTRATIONS_TOPIC = "shulian.events.registrations.v1"
ORDERS_TOPIC = "shulian.matching.orders.v1"
TALENTS_TOPIC = "shulian.matching.talents.v1"
_REGISTRY = "cn.sichuan.shulian.registry"
_EVENTS = "cn.sichuan.shulian.events"
_MATCHING = "cn.sichuan.shulian.matching"
_REPORTING = "cn.sichuan.shulian.reporting"

# The streams whose indicators reporting can compute on this build.
SOURCES = frozenset({Source.REGISTRY, Source.EVENTS, Source.MATCHING})


class Snapshot(ReaderModel):
    """What every projected snapshot carries (the runner's trust check reads owner_node too)."""

    id: str
    owner_node: str
    version: int
    created_at: datetime


class FigureReader(ReaderModel):
    """One year's business of one service line."""

    year: int
    service_line: str
    revenue_yuan: int
    trade_volume_yuan: int


class SupplierReader(Snapshot):
    """A supplier snapshot (registered or updated)."""

    updated_at: datetime
    county_code: str
    city_code: str
    high_end: bool
    listing_status: str
    industries: list[str]
    listing_industries: list[str]
    figures: list[FigureReader]


class DecisionReader(ReaderModel):
    """The listing step that produced a snapshot."""

    to_status: str
    decided_at: datetime


class SupplierListingReader(SupplierReader):
    """A supplier snapshot after a listing decision."""

    decision: DecisionReader


class NamedReader(ReaderModel):
    """An entry of a list reporting only counts (linked platforms, key service objects)."""

    name: str


class ParkReader(Snapshot):
    """An industrial park."""

    level: str
    county_code: str
    city_code: str
    industries: list[str]
    linked_platforms: list[NamedReader]
    key_service_objects: list[NamedReader]


class MarketReader(Snapshot):
    """An HR market or state-owned HR platform company."""

    kind: str
    level: str
    county_code: str
    city_code: str
    industries: list[str]
    linked_platforms: list[NamedReader]


class StationReader(Snapshot):
    """A liaison point, workstation, service net or sharing station."""

    kind: str
    county_code: str
    city_code: str
    supplier_id: str | None
    industries: list[str]
    opened_on: date | None


class ScenarioReader(Snapshot):
    """A deep-collaboration application scenario."""

    supplier_id: str
    county_code: str
    city_code: str
    industries: list[str]
    started_on: date | None


class PairingReader(Snapshot):
    """A supplier–county pairing or an association pairing."""

    kind: str
    supplier_id: str | None
    division_code: str
    city_code: str | None
    industries: list[str]
    started_on: date | None


class PlatformReader(Snapshot):
    """An HR informatisation platform."""

    kind: str
    supplier_id: str | None
    division_code: str
    city_code: str | None
    launched_on: date | None


class EnterpriseReader(Snapshot):
    """A key enterprise."""

    county_code: str
    city_code: str
    industries: list[str]


class OverrideReader(ReaderModel):
    """One occurrence of a series moved or cancelled."""

    key: str
    starts_at: datetime | None = None
    cancelled: bool = False


class OutcomeReader(ReaderModel):
    """What a completed activity gave."""

    positions_offered: int
    intents_signed: int
    hr_managers_attended: int
    firms_participated: int


class ActivityReader(Snapshot):
    """An activity snapshot (every step of its lifecycle carries the whole activity)."""

    kind: str
    level: str
    campaign: str | None
    division_code: str
    city_code: str | None
    industries: list[str]
    starts_at: datetime
    rrule: str | None
    overrides: list[OverrideReader]
    status: str
    outcome: OutcomeReader | None


class RegistrationReader(Snapshot):
    """A registration snapshot: an organisation (never a person) for one occurrence."""

    activity_id: str
    occurrence_key: str
    participant_kind: str
    participant_id: str
    status: str
    attendees: int
    checked_in_at: datetime | None


class OrderReader(Snapshot):
    """An order snapshot: what is needed, where, how many, and its fulfilment."""

    kind: str
    county_code: str
    city_code: str
    service_line: str | None
    industry: str | None
    occupation_code: str | None
    head_count: int
    accepted_count: int
    status: str
    placements: int | None
    contract_value_yuan: int | None
    fulfilled_at: datetime | None


class TalentReader(ReaderModel):
    """A talent as matching publishes it: occupation and county, no personal data."""

    id: str
    owner_node: str
    version: int
    occupation_code: str | None
    county_code: str


class SummaryReader(ReaderModel):
    """Another node's annual summary, whole (snapshots from before the events carried the
    sections and times have none)."""

    id: str
    owner_node: str
    version: int
    city_code: str
    year: int
    status: str
    comment: str | None
    submitted_at: datetime | None
    decided_at: datetime | None
    sections: dict[str, str] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class SummaryDecisionReader(CommandReader):
    """What the owner node reads of the province's request to approve or return a summary."""

    action: str
    expected_version: int
    comment: str | None = None


def _types(aggregate: str, *verbs: str, prefix: str = _REGISTRY) -> list[str]:
    return [f"{prefix}.{aggregate}.{verb}.v1" for verb in verbs]


def _both(aggregate: str, reads: Reads[Any]) -> dict[str, Reads[Any]]:
    return dict.fromkeys(_types(aggregate, "created", "updated"), reads)


def subscriptions(node_id: str = "") -> list[Subscription]:
    """Reporting's subscriptions (the same on every node: each reports on what it can see)."""
    return [*projection_subscriptions(), *_summaries(node_id)]


def projection_subscriptions() -> list[Subscription]:
    """The streams the projections are built from: what a rebuild replays (never the summaries:
    their replicas are version-gated records, not projections, and replaying decision requests
    would decide them again)."""
    supplier = Reads(model=SupplierReader, handle=p.apply_supplier)
    listing = Reads(model=SupplierListingReader, handle=p.apply_supplier_listing)
    network: dict[str, Reads[Any]] = {
        **_both("park", Reads(model=ParkReader, handle=p.apply_park)),
        **_both("market", Reads(model=MarketReader, handle=p.apply_market)),
        **_both("station", Reads(model=StationReader, handle=p.apply_station)),
        **_both("scenario", Reads(model=ScenarioReader, handle=p.apply_scenario)),
        **_both("pairing", Reads(model=PairingReader, handle=p.apply_pairing)),
        **_both("platform", Reads(model=PlatformReader, handle=p.apply_platform)),
    }
    enterprise = Reads(model=EnterpriseReader, handle=p.apply_enterprise)
    return [
        Subscription(
            topic=SUPPLIERS_TOPIC,
            handlers={
                **dict.fromkeys(_types("supplier", "registered", "updated"), supplier),
                **dict.fromkeys(_types("supplier", "listing_changed"), listing),
            },
        ),
        Subscription(topic=NETWORK_TOPIC, handlers=network),
        Subscription(
            topic=ENTERPRISES_TOPIC,
            handlers=dict.fromkeys(_types("enterprise", "registered", "updated"), enterprise),
        ),
        *_events_and_matching(),
    ]


def _summaries(node_id: str) -> list[Subscription]:
    """Other nodes' summaries (replicas), the province's decision requests on this node's
    summaries (this node decides) and the owners' decisions on the requests this node sent."""
    followed = follows(
        topic=SUMMARIES_TOPIC, decision_types=[SUMMARY_DECISION_DECIDED], node_id=node_id
    )
    return [
        Subscription(
            topic=SUMMARIES_TOPIC,
            handlers={
                **dict.fromkeys(
                    _types(
                        "summary",
                        "started",
                        "submitted",
                        "approved",
                        "returned",
                        prefix=_REPORTING,
                    ),  # fmt: skip,
                    Reads(model=SummaryReader, handle=keep_summary(node_id)),
                ),
                **followed.handlers,
            },
        ),
        decides(
            topic=SUMMARY_DECISIONS_TOPIC,
            command_type=SUMMARY_DECISION_REQUESTED,
            reader=SummaryDecisionReader,
            load=load_summary,
            decide=decide_request,
            decision=SummaryDecisionDecided,
            node_id=node_id,
        ),
    ]


def _events_and_matching() -> list[Subscription]:
    activity = Reads(model=ActivityReader, handle=p.apply_activity)
    registration = Reads(model=RegistrationReader, handle=p.apply_registration)
    order = Reads(model=OrderReader, handle=p.apply_order)
    talent = Reads(model=TalentReader, handle=p.apply_talent)
    activity_verbs = ("scheduled", "updated", "rescheduled", "held", "completed", "cancelled")
    registration_verbs = ("decided", "approved", "promoted", "cancelled", "checked_in")
    return [
        Subscription(
            topic=ACTIVITIES_TOPIC,
            handlers=dict.fromkeys(_types("activity", *activity_verbs, prefix=_EVENTS), activity),
        ),
        Subscription(
            topic=REGISTRATIONS_TOPIC,
            handlers=dict.fromkeys(
                _types("registration", *registration_verbs, prefix=_EVENTS), registration
            ),
        ),
        Subscription(
            topic=ORDERS_TOPIC,
            handlers=dict.fromkeys(
                _types("order", "placed", "updated", "fulfilled", prefix=_MATCHING), order
            ),
        ),
        Subscription(
            topic=TALENTS_TOPIC,
            handlers=dict.fromkeys(_types("talent", "saved", prefix=_MATCHING), talent),
        ),
    ]
