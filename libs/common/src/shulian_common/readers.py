"""Reader models: what a consumer reads of an event, declared by the consumer itself.

Producers are strict (``EventModel`` refuses unknown fields); readers are tolerant. A consumer
declares, per event type it handles, its own pydantic model with only the fields it uses, and the
consumer runner validates the event's data with that model, never with the producer's: a service
needs no other service's code, and a producer may add optional fields without breaking anyone.
What keeps the reader honest is the contract test (``shulian_common.contracts``), which checks
every reader model against the producer's committed AsyncAPI file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from shulian_common.catalogue import EventDataError
from shulian_common.envelope import CloudEvent
from shulian_common.trust import check_trust
from shulian_common.uow import UnitOfWork

R = TypeVar("R", bound=BaseModel)


class ReaderModel(BaseModel):
    """Base of a consumer's view of an event's data: fields it does not declare are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class IntolerantReaderError(TypeError):
    """A reader model would refuse (or keep undeclared) fields a producer may add."""


@dataclass(frozen=True, slots=True)
class Reads(Generic[R]):
    """The handler of one event type, with the reader model the event's data is validated with.

    ``trust`` is the rule a record must pass before it is handled (``UntrustedEventError`` sends
    it to the DLT): the aggregate-owner rule for events, ``check_command_trust`` for commands.

    ``prepare``, if given, is called once per transaction, before ``handle`` meets the first of
    them, with the data of every new record of this type the transaction is about to handle (in
    log order): a handler that reads the same rows for many records can read them in bulk there.
    ``handle`` must stay correct without it (a record retried alone gets a ``prepare`` of one).
    """

    model: type[R]
    handle: Callable[[UnitOfWork, CloudEvent, R], Awaitable[None]]
    trust: Callable[[CloudEvent], None] = check_trust
    prepare: Callable[[UnitOfWork, Sequence[R]], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        check_tolerant(self.model)

    def parse(self, event: CloudEvent) -> R:
        """The event's data as the reader model; ``EventDataError`` if it does not fit."""
        try:
            return self.model.model_validate(event.data)
        except ValidationError as exc:
            raise EventDataError(f"{event.type} {event.id}: {exc}") from exc


def check_tolerant(model: type[BaseModel]) -> None:
    """Refuse a reader model that forbids or keeps fields it does not declare, at any depth."""
    # extra="forbid" would dead-letter every event once the producer adds an optional field;
    # extra="allow" would let a handler use fields the contract test never sees.
    for name, schema in _object_schemas(model.model_json_schema()):
        if isinstance(schema.get("additionalProperties"), bool):
            raise IntolerantReaderError(
                f"reader model {model.__name__}: {name} must ignore unknown fields "
                '(extra="ignore", as ReaderModel does)'
            )


def _object_schemas(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The model itself and every nested model of a JSON Schema, by title."""
    yield schema.get("title", "model"), schema
    yield from schema.get("$defs", {}).items()
