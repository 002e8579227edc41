"""What the example publishes: a note's snapshot after each change, and the seat requests (a
command: any node asks, the note's owner node decides) with their decisions."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shulian_common.catalogue import EventModel, event_type
from shulian_common.commands import CommandModel, DecisionModel

SERVICE = "kitexample"
NOTES_TOPIC = "shulian.kitexample.notes.v1"
SEATS_TOPIC = "shulian.kitexample.seats.v1"  # the command topic, keyed by note id
SEAT_DECISIONS_TOPIC = "shulian.kitexample.seat_decisions.v1"
SEAT_REQUESTED = "cn.sichuan.shulian.kitexample.seat.requested.v1"
SEAT_DECIDED = "cn.sichuan.shulian.kitexample.seat.decided.v1"


@event_type(type="cn.sichuan.shulian.kitexample.note.saved.v1", topic=NOTES_TOPIC)
class NoteSaved(EventModel):
    """A note was created or changed: its whole new state."""

    id: str
    owner_node: str
    version: int
    title: str
    seats: int
    updated_at: datetime


@event_type(type=SEAT_REQUESTED, topic=SEATS_TOPIC)
class SeatRequested(CommandModel):
    """A node asks the note's owner for a seat on the note."""

    party: str = Field(min_length=1, max_length=100, description="who the seat is for")


@event_type(type=SEAT_DECIDED, topic=SEAT_DECISIONS_TOPIC)
class SeatDecided(DecisionModel):
    """The note's owner decided a seat request (result: ``{"seat": n}`` when accepted)."""
