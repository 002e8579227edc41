"""What matching consumes: the registry's suppliers, other nodes' orders, and grab commands and
decisions. Each through a reader model of its own, checked against the producer's committed
asyncapi.json by the contract test."""

from __future__ import annotations

from datetime import date, datetime

from shulian_common.commands import CommandReader, DecisionReader, decides
from shulian_common.consumer import Subscription
from shulian_common.readers import ReaderModel, Reads
from shulian_matching.contracts import ApplicationReceived, GrabDecided
from shulian_matching.handlers.grabs import (
    GrabRules,
    confirm_grab,
    decide_grab,
    follow_decision,
    load_order,
    prepare_grabs,
)
from shulian_matching.handlers.replica import (
    replicate_order,
    replicate_supplier,
    replicate_talent,
)
from shulian_matching.handlers.talents import follow_answer, follow_receipt, receive_application

SUPPLIERS_TOPIC = "shulian.registry.suppliers.v1"
SUPPLIER_SNAPSHOT_TYPES = tuple(
    f"cn.sichuan.shulian.registry.supplier.{verb}.v1"
    for verb in ("registered", "updated", "listing_changed")
)
ORDERS_TOPIC = "shulian.matching.orders.v1"
ORDER_SNAPSHOT_TYPES = tuple(
    f"cn.sichuan.shulian.matching.order.{verb}.v1" for verb in ("placed", "updated", "fulfilled")
)
GRABS_TOPIC = "shulian.matching.grabs.v1"
APPLICATIONS_TOPIC = "shulian.matching.applications.v1"
TALENTS_TOPIC = "shulian.matching.talents.v1"
_MATCHING = "cn.sichuan.shulian.matching"


class SupplierReader(ReaderModel):
    """What grabs and ranking read of a supplier snapshot."""

    id: str
    owner_node: str
    version: int
    updated_at: datetime
    name: str
    city_code: str
    # A string, not the producer's enum: a status added later must not dead-letter snapshots.
    listing_status: str
    high_end: bool
    service_lines: list[str]
    industries: list[str]


class OrderReader(ReaderModel):
    """An order snapshot, as the replica of other nodes' orders keeps it (every column)."""

    id: str
    owner_node: str
    version: int
    created_at: datetime
    updated_at: datetime
    kind: str
    title: str
    placer_kind: str
    placed_by: str
    county_code: str
    city_code: str
    service_line: str | None
    industry: str | None
    occupation_code: str | None
    skills: list[str]
    head_count: int
    slots: int
    budget_yuan: int | None
    monthly_pay_yuan: int | None
    deadline: date
    visibility: str
    visible_cities: list[str]
    status: str
    awarded_count: int
    accepted_count: int
    terms_version: int
    placements: int | None
    contract_value_yuan: int | None
    fulfilled_at: datetime | None


class TalentSummaryReader(ReaderModel):
    """Another node's talent as ``talent.saved`` publishes it (no personal data)."""

    id: str
    owner_node: str
    version: int
    updated_at: datetime
    occupation_code: str | None
    skills: list[str]
    county_code: str


class GrabRequestReader(CommandReader):
    """A grab command, as the owner node decides it."""

    supplier_id: str
    terms_version: int
    requested_at: datetime


class ConfirmationReader(CommandReader):
    """An awarded supplier's confirmation."""

    grab_id: str
    supplier_id: str


class GrabDecidedReader(DecisionReader):
    """The owner's decision, as the requesting node's copy of the grab follows it (and every other
    node keeps, for the award cap)."""

    grab_id: str = ""
    owner_node: str | None = None
    supplier_id: str = ""
    status: str | None = None
    terms_version: int = 0
    requested_at: datetime | None = None
    seq: int = 0
    decided_at: datetime | None = None
    confirm_by: datetime | None = None


class ApplicationRequestReader(CommandReader):
    """Another node's talent's application, as the order's owner node receives it."""

    talent_ref: str
    occupation_code: str | None
    skills: list[str]
    county_code: str


class ApplicationReceivedReader(DecisionReader):
    """The owner's receipt of an application, as the talent's node follows it."""


class ApplicationAnswerReader(ReaderModel):
    """The placer's answer to an application, as the talent's node follows it."""

    id: str
    owner_node: str
    status: str
    terms_version: int | None = None  # absent from answers published before it was added


def subscriptions(
    node_id: str, *, award_cap: int = 5, confirm_seconds: int = 86400
) -> list[Subscription]:
    """Matching's subscriptions on the node ``node_id``."""
    rules = GrabRules(node_id=node_id, award_cap=award_cap, confirm_seconds=confirm_seconds)
    supplier = Reads(model=SupplierReader, handle=replicate_supplier)
    order = Reads(model=OrderReader, handle=replicate_order(node_id))
    return [
        Subscription(
            topic=SUPPLIERS_TOPIC, handlers=dict.fromkeys(SUPPLIER_SNAPSHOT_TYPES, supplier)
        ),
        Subscription(topic=ORDERS_TOPIC, handlers=dict.fromkeys(ORDER_SNAPSHOT_TYPES, order)),
        Subscription(
            topic=TALENTS_TOPIC,
            handlers={
                f"{_MATCHING}.talent.saved.v1": Reads(
                    model=TalentSummaryReader, handle=replicate_talent(node_id)
                )
            },
        ),
        decides(
            topic=GRABS_TOPIC,
            command_type=f"{_MATCHING}.grab.requested.v1",
            reader=GrabRequestReader,
            load=load_order,
            decide=decide_grab(rules),
            decision=GrabDecided,
            node_id=node_id,
            prepare=prepare_grabs,
            savepoint=False,  # decide_grab refuses only before it writes
        ),
        decides(
            topic=GRABS_TOPIC,
            command_type=f"{_MATCHING}.confirmation.requested.v1",
            reader=ConfirmationReader,
            load=load_order,
            decide=confirm_grab(rules),
            decision=GrabDecided,
            node_id=node_id,
        ),
        Subscription(
            topic=GRABS_TOPIC,
            handlers={
                f"{_MATCHING}.grab.decided.v1": Reads(
                    model=GrabDecidedReader, handle=follow_decision(node_id)
                )
            },
        ),
        decides(
            topic=APPLICATIONS_TOPIC,
            command_type=f"{_MATCHING}.application.requested.v1",
            reader=ApplicationRequestReader,
            load=load_order,
            decide=receive_application,
            decision=ApplicationReceived,
            node_id=node_id,
        ),
        Subscription(
            topic=APPLICATIONS_TOPIC,
            handlers={
                f"{_MATCHING}.application.received.v1": Reads(
                    model=ApplicationReceivedReader, handle=follow_receipt(node_id)
                ),
                f"{_MATCHING}.application.decided.v1": Reads(
                    model=ApplicationAnswerReader, handle=follow_answer(node_id)
                ),
            },
        ),
    ]
