"""The example service's app: the kit's app factory with its routes, migrations and consumer."""

from __future__ import annotations

from fastapi import FastAPI

from kit_example import api, handlers
from kit_example.contracts import (
    NOTES_TOPIC,
    SEAT_DECIDED,
    SEAT_DECISIONS_TOPIC,
    SEAT_REQUESTED,
    SEATS_TOPIC,
    NoteSaved,
    SeatDecided,
)
from kit_example.orm import MIGRATIONS
from shulian_common.app import create_service_app
from shulian_common.catalogue import catalogue
from shulian_common.commands import decides, follows
from shulian_common.consumer import Subscription
from shulian_common.readers import Reads
from shulian_common.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """The example's FastAPI app; its lifespan migrates, and runs the relay and the consumer."""
    note_saved = catalogue.spec_for(NoteSaved).type
    reads = Reads(model=handlers.NoteSavedReader, handle=handlers.note_seen)
    return create_service_app(
        settings=settings,
        title="Kit example",
        description="A minimal service on the Shulian kit.",
        routers=[api.router, api.seat_requests],
        migrations=MIGRATIONS,
        subscriptions=[
            Subscription(topic=NOTES_TOPIC, handlers={note_saved: reads}),
            decides(
                topic=SEATS_TOPIC,
                command_type=SEAT_REQUESTED,
                reader=handlers.SeatRequestReader,
                load=handlers.load_note,
                decide=handlers.decide_seat,
                decision=SeatDecided,
                node_id=settings.node_id,
            ),
            follows(
                topic=SEAT_DECISIONS_TOPIC,
                decision_types=[SEAT_DECIDED],
                node_id=settings.node_id,
            ),
        ],
    )
