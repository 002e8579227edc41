"""Tables of the example: the notes, their seats, the log its consumer writes, and the kit's
``requests`` (the seat requests this node sent)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shulian_common.commands import include_request_tables
from shulian_common.db import new_metadata
from shulian_common.records import ID_LENGTH, Record

MIGRATIONS = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    """Declarative base bound to the project's naming convention."""

    metadata = new_metadata()


class Note(Record, Base):
    """The aggregate: a titled note."""

    __tablename__ = "notes"

    title: Mapped[str] = mapped_column(String(200))
    seats: Mapped[int] = mapped_column(Integer, default=0)


class Seat(Base):
    """A seat the note's owner gave (``seat`` counts from 1 per note)."""

    __tablename__ = "seats"

    request_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    note_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    seat: Mapped[int] = mapped_column(Integer)
    requester_node: Mapped[str] = mapped_column(String(6))
    party: Mapped[str] = mapped_column(String(100))


class NoteSeen(Base):
    """One ``note.saved`` event the consumer applied (a duplicate would add a second row)."""

    __tablename__ = "notes_seen"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    note_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    version: Mapped[int] = mapped_column(Integer)


include_request_tables(Base.metadata)
metadata = Base.metadata
