"""The pure parts of ``shulian_common.commands``: contracts, trust, rendering, AsyncAPI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kit_example.contracts import (
    SEAT_DECIDED,
    SEAT_REQUESTED,
    SEATS_TOPIC,
    SeatDecided,
    SeatRequested,
)
from kit_example.handlers import SeatRequestReader
from pydantic import ValidationError

from shulian_common.catalogue import catalogue
from shulian_common.commands import (
    CommandReader,
    DecisionModel,
    Outcome,
    Request,
    check_command_type,
    decides,
    decision_for,
    request_read,
)
from shulian_common.envelope import CloudEvent
from shulian_common.trust import UntrustedEventError, check_command_trust

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _command(source_node: str, **data: Any) -> CloudEvent:
    return CloudEvent(
        source=f"/nodes/{source_node}/kitexample",
        type=SEAT_REQUESTED,
        partitionkey="n1",
        data={"request_id": "r1", "target_id": "n1", "target_owner_node": "510100", **data},
    )


def test_a_command_is_trusted_from_the_node_it_names_as_requester() -> None:
    # About a record of Chengdu's, from the province: no aggregate rule applies to a command.
    check_command_trust(_command("510000", requester_node="510000", city_code="510100"))


@pytest.mark.parametrize("data", [{"requester_node": "511500"}, {}])
def test_a_command_naming_another_requester_is_untrusted(data: dict[str, Any]) -> None:
    with pytest.raises(UntrustedEventError, match="requester node"):
        check_command_trust(_command("510000", **data))


def test_commands_are_strict_and_carry_who_asks_about_what() -> None:
    fields = {"request_id": "r1", "requester_node": "510000", "target_id": "n1"}
    with pytest.raises(ValidationError):
        SeatRequested(**fields, target_owner_node="510100", party="甲", extra="no")
    with pytest.raises(ValidationError):
        SeatRequested(**fields, party="甲")  # type: ignore[call-arg]


def test_a_command_type_must_be_a_request() -> None:
    check_command_type(SEAT_REQUESTED)
    with pytest.raises(ValueError, match="requested"):
        check_command_type(SEAT_DECIDED)


def test_a_decision_answers_its_command() -> None:
    command = SeatRequestReader(
        request_id="r1",
        requester_node="510000",
        target_id="n1",
        target_owner_node="510100",
        party="甲",
    )
    decided = decision_for(SeatDecided, command, Outcome.ACCEPTED, result={"seat": 2})

    assert decided.model_dump(mode="json") == {
        "request_id": "r1",
        "requester_node": "510000",
        "target_id": "n1",
        "outcome": "accepted",
        "reason": None,
        "reason_text": None,
        "result": {"seat": 2},
    }


def test_a_decision_model_with_required_fields_of_its_own_is_refused() -> None:
    class Strange(DecisionModel):
        """A decision the kit could not build a rejection of."""

        needed: int

    async def never(*_: Any) -> None:
        return None

    with pytest.raises(ValueError, match="needed"):
        decides(
            topic=SEATS_TOPIC,
            command_type=SEAT_REQUESTED,
            reader=CommandReader,
            load=never,
            decide=never,  # type: ignore[arg-type]
            decision=Strange,
            node_id="510100",
        )


def _row(**fields: Any) -> Request:
    values: dict[str, Any] = {
        "id": "r1",
        "owner_node": "510100",
        "version": 1,
        "kind": "seat",
        "target_id": "n1",
        "requester_sub": "op",
        "status": "pending",
        "created_at": T0,
        "updated_at": T0,
        **fields,
    }
    return Request(**values)


def test_a_request_pending_past_the_limit_stays_pending_and_says_overdue() -> None:
    row = _row()
    fresh = request_read(row, now=T0 + timedelta(seconds=5), overdue_after=timedelta(seconds=30))
    late = request_read(row, now=T0 + timedelta(seconds=45), overdue_after=timedelta(seconds=30))

    assert (fresh.status, fresh.overdue, fresh.age_seconds) == ("pending", False, 5.0)
    assert (late.status, late.outcome, late.overdue, late.age_seconds) == (
        "pending",
        None,
        True,
        45.0,
    )


def test_a_decided_request_shows_how_long_the_decision_took() -> None:
    row = _row(status="decided", outcome="rejected", decided_at=T0 + timedelta(seconds=2))
    shown = request_read(row, now=T0 + timedelta(hours=1), overdue_after=timedelta(seconds=1))

    assert (shown.outcome, shown.age_seconds, shown.overdue) == ("rejected", 2.0, False)


def test_the_asyncapi_lists_the_command_as_sent_to_its_channel() -> None:
    document = catalogue.for_service("kitexample").asyncapi()
    channel = document["channels"]["shulian_kitexample_seats_v1"]

    assert channel["address"] == SEATS_TOPIC
    assert list(channel["messages"]) == ["kitexample_seat_requested_v1"]
    operation = document["operations"]["publish_shulian_kitexample_seats_v1"]
    assert operation["action"] == "send"
    message = document["components"]["messages"]["kitexample_seat_requested_v1"]
    assert message["name"] == SEAT_REQUESTED
    schema = document["components"]["schemas"]["kitexample_seat_requested_v1"]
    assert {"request_id", "requester_node", "target_id", "target_owner_node", "party"} <= set(
        schema["required"]
    )


class _Target:
    owner_node = "510100"


class _Session:
    def begin_nested(self) -> Any:
        raise AssertionError("no savepoint was asked for")


class _Uow:
    """Just what ``decides`` touches of a unit of work, recording what it records."""

    def __init__(self) -> None:
        self.session = _Session()
        self.recorded: list[Any] = []

    def record(self, event: Any, *, key: str, subject: str | None = None) -> None:
        self.recorded.append(event)


def _seat(request_id: str, owner: str) -> SeatRequestReader:
    return SeatRequestReader(
        request_id=request_id,
        requester_node="510000",
        target_id="n1",
        target_owner_node=owner,
        party="甲",
    )


async def test_decides_prepares_this_nodes_commands_and_can_decide_without_a_savepoint() -> None:
    prepared: list[list[str]] = []

    async def prepare(_uow: Any, commands: Any) -> None:
        prepared.append([c.request_id for c in commands])

    async def load(_uow: Any, _target_id: str) -> _Target:
        return _Target()

    async def decide(_uow: Any, command: Any, _target: Any) -> SeatDecided:
        return decision_for(SeatDecided, command, Outcome.ACCEPTED, result={"seat": 1})

    subscription = decides(
        topic=SEATS_TOPIC,
        command_type=SEAT_REQUESTED,
        reader=SeatRequestReader,
        load=load,
        decide=decide,
        decision=SeatDecided,
        node_id="510100",
        prepare=prepare,
        savepoint=False,
    )
    reads = subscription.handlers[SEAT_REQUESTED]
    mine, theirs = _seat("r1", "510100"), _seat("r2", "511500")
    uow: Any = _Uow()
    assert reads.prepare is not None
    await reads.prepare(uow, [mine, theirs])
    await reads.prepare(uow, [theirs])  # nothing of this node's: not called
    await reads.handle(uow, _command("510000"), mine)

    assert prepared == [["r1"]]
    assert [(d.request_id, d.outcome) for d in uow.recorded] == [("r1", Outcome.ACCEPTED)]
