"""The one event the example publishes: a note's snapshot after each change."""

from __future__ import annotations

from datetime import datetime

from shulian_common.catalogue import EventModel, event_type

SERVICE = "kitexample"
NOTES_TOPIC = "shulian.kitexample.notes.v1"


@event_type(type="cn.sichuan.shulian.kitexample.note.saved.v1", topic=NOTES_TOPIC)
class NoteSaved(EventModel):
    """A note was created or changed: its whole new state."""

    id: str
    owner_node: str
    version: int
    title: str
    updated_at: datetime
