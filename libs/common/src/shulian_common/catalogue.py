"""The event catalogue: each pydantic event model, its CloudEvents type and its topic.

The catalogue describes what a process PUBLISHES. Consumers never validate with it: each declares
its own reader model (``shulian_common.readers``), so a service needs no other service's code, and
one process may hold several services' events (the CLI, the whole test suite) without mixing
their published documents (``for_service``).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

_TYPE = re.compile(r"^cn\.sichuan\.shulian\.[a-z]+\.[a-z_]+\.[a-z_]+\.v\d+$")
_TOPIC = re.compile(r"^shulian\.[a-z]+\.[a-z_]+\.v\d+$")


class EventModel(BaseModel):
    """Base of every event's ``data``: strict on output (unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


E = TypeVar("E", bound=EventModel)


class UnknownEventTypeError(LookupError):
    """No model is registered for an event type (or a model is not registered)."""


class EventDataError(ValueError):
    """An event's data does not match the schema it is read with."""


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One registered event type."""

    type: str
    topic: str
    model: builtins.type[EventModel]
    summary: str

    @property
    def service(self) -> str:
        """The service that publishes this type."""
        return self.type.split(".")[3]


class Catalogue:
    """Maps event models to types and topics; renders JSON Schemas and an AsyncAPI document."""

    def __init__(self) -> None:
        self._by_type: dict[str, EventSpec] = {}
        self._by_model: dict[type[EventModel], EventSpec] = {}

    def register(self, model: builtins.type[E], *, type: str, topic: str) -> builtins.type[E]:
        """Register ``model`` as the data of CloudEvents ``type`` on ``topic``."""
        check_event_type(type)
        if topic_service(topic) != type.split(".")[3]:
            # Readers find a producer's committed contract by the topic's service name.
            raise ValueError(f"event type {type} is not of the service of topic {topic}")
        known = self._by_type.get(type)
        if known is not None and known.model is not model:
            raise ValueError(f"event type {type} is already registered to {known.model.__name__}")
        doc = (model.__doc__ or "").strip().splitlines()
        spec = EventSpec(type, topic, model, doc[0] if doc else type)
        self._by_type[type] = spec
        self._by_model[model] = spec
        return model

    def event(self, *, type: str, topic: str) -> Callable[[builtins.type[E]], builtins.type[E]]:
        """Class decorator form of ``register``."""

        def decorate(model: builtins.type[E]) -> builtins.type[E]:
            return self.register(model, type=type, topic=topic)

        return decorate

    def spec_for(self, model: type[EventModel] | EventModel) -> EventSpec:
        """The spec of a model class or instance."""
        cls = model if isinstance(model, type) else type(model)
        try:
            return self._by_model[cls]
        except KeyError:
            raise UnknownEventTypeError(f"{cls.__name__} is not in the catalogue") from None

    def spec_of_type(self, event_type: str) -> EventSpec:
        """The spec of a CloudEvents type."""
        try:
            return self._by_type[event_type]
        except KeyError:
            raise UnknownEventTypeError(f"unknown event type {event_type}") from None

    def for_service(self, service: str) -> Catalogue:
        """A catalogue of only the events ``service`` publishes."""
        own = Catalogue()
        for spec in self:
            if spec.service == service:
                own.register(spec.model, type=spec.type, topic=spec.topic)
        return own

    def __iter__(self) -> Iterator[EventSpec]:
        return iter(sorted(self._by_type.values(), key=lambda s: s.type))

    def topics(self, service: str | None = None) -> list[str]:
        """Every topic, or those of one service."""
        return sorted({s.topic for s in self if service is None or s.service == service})

    def json_schemas(self) -> dict[str, dict[str, Any]]:
        """JSON Schema of each event type's data, keyed by type."""
        return {spec.type: spec.model.model_json_schema() for spec in self}

    def asyncapi(self, *, title: str = "Shulian events", version: str = "1.0.0") -> dict[str, Any]:
        """An AsyncAPI 3.0 document: one channel per topic, one message per event type."""
        channels: dict[str, Any] = {}
        operations: dict[str, Any] = {}
        messages: dict[str, Any] = {}
        schemas: dict[str, Any] = {}
        for spec in self:
            name = spec.type.removeprefix("cn.sichuan.shulian.").replace(".", "_")
            schema = spec.model.model_json_schema(ref_template="#/components/schemas/{model}")
            for def_name, definition in schema.pop("$defs", {}).items():
                schemas[def_name] = definition
            schemas[name] = schema
            messages[name] = {
                "name": spec.type,
                "title": spec.model.__name__,
                "summary": spec.summary,
                "contentType": "application/json",
                "headers": {"$ref": "#/components/schemas/CloudEventHeaders"},
                "payload": {"$ref": f"#/components/schemas/{name}"},
                "bindings": {"kafka": {"key": {"type": "string"}, "bindingVersion": "0.5.0"}},
            }
            channel_id = spec.topic.replace(".", "_")
            channel = channels.setdefault(
                channel_id,
                {"address": spec.topic, "messages": {}, "description": f"Topic {spec.topic}"},
            )
            channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
        for channel_id, channel in channels.items():
            operations[f"publish_{channel_id}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "messages": [
                    {"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in channel["messages"]
                ],
            }
        schemas["CloudEventHeaders"] = _CLOUD_EVENT_HEADERS
        return {
            "asyncapi": "3.0.0",
            "info": {"title": title, "version": version},
            "defaultContentType": "application/json",
            "channels": channels,
            "operations": operations,
            "components": {"messages": messages, "schemas": schemas},
        }

    default: ClassVar[Catalogue]


def topic_service(topic: str) -> str:
    """The service a topic belongs to: ``shulian.{service}.{stream}.vN``."""
    if not _TOPIC.match(topic):
        raise ValueError(f"topic {topic!r} must read shulian.SVC.STREAM.vN")
    return topic.split(".")[1]


def check_event_type(event_type: str) -> None:
    """Refuse a CloudEvents type that does not read ``cn.sichuan.shulian.SVC.AGG.VERB.vN``."""
    if not _TYPE.match(event_type):
        raise ValueError(f"event type {event_type!r} must read cn.sichuan.shulian.SVC.AGG.VERB.vN")


_CLOUD_EVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 Kafka binary-mode headers",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time"],
    "properties": {
        name: {"type": "string"}
        for name in (
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_specversion",
            "ce_time",
            "ce_subject",
            "ce_partitionkey",
            "content-type",
            "traceparent",
        )
    },
}

catalogue = Catalogue()
Catalogue.default = catalogue
event_type = catalogue.event
