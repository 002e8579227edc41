"""The CloudEvents 1.0 envelope: binary mode on the bus, structured JSON over HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
Headers = Sequence[tuple[str, bytes | None]]  # Kafka allows null header values


class EnvelopeError(ValueError):
    """A bus record or JSON document is not a valid CloudEvent."""


def new_event_id() -> str:
    """A fresh, time-ordered-enough event id."""
    return str(uuid.uuid4())


class CloudEvent(BaseModel):
    """One event: context attributes plus JSON ``data``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_event_id, min_length=1)
    source: str = Field(min_length=1, examples=["/nodes/510100/registry"])
    type: str = Field(min_length=1, examples=["cn.sichuan.shulian.registry.supplier.created.v1"])
    specversion: str = SPECVERSION
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: str = CONTENT_TYPE
    partitionkey: str = Field(min_length=1, description="aggregate id, also the Kafka key")
    traceparent: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def node(self) -> str | None:
        """The node id named by ``source`` (``/nodes/{node}/{service}``), if any."""
        parts = self.source.strip("/").split("/")
        return parts[1] if len(parts) >= 2 and parts[0] == "nodes" else None

    def to_headers(self) -> list[tuple[str, bytes]]:
        """Binary-mode Kafka headers (``ce_*``, ``content-type``, ``traceparent``)."""
        headers = [
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_specversion", self.specversion.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("ce_partitionkey", self.partitionkey.encode()),
            ("content-type", self.datacontenttype.encode()),
        ]
        if self.subject is not None:
            headers.append(("ce_subject", self.subject.encode()))
        if self.traceparent:
            headers.append(("traceparent", self.traceparent.encode()))
        return headers

    def to_value(self) -> bytes:
        """The binary-mode record value: the JSON ``data``."""
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_record(cls, headers: Headers, value: bytes | None, key: bytes | None) -> CloudEvent:
        """Decode a binary-mode record; raise ``EnvelopeError``, never anything else, if not one."""
        try:
            h = _decoded_headers(headers)
            partitionkey = _record_key(key)
            data = _record_data(value)
            if h.get("ce_specversion", SPECVERSION) != SPECVERSION:
                raise EnvelopeError(f"unsupported ce_specversion {h['ce_specversion']!r}")
            return cls(
                id=_required(h, "ce_id"),
                source=_required(h, "ce_source"),
                type=_required(h, "ce_type"),
                time=datetime.fromisoformat(_required(h, "ce_time")),
                subject=h.get("ce_subject"),
                datacontenttype=h.get("content-type", CONTENT_TYPE),
                partitionkey=h.get("ce_partitionkey") or partitionkey,
                traceparent=h.get("traceparent"),
                data=data,
            )
        except EnvelopeError:
            raise
        except (ValueError, TypeError) as exc:  # ValidationError and UnicodeDecodeError included
            raise EnvelopeError(f"not a CloudEvent record: {_reason(exc)}") from exc

    def to_structured(self) -> dict[str, Any]:
        """Structured-mode JSON (feeds, webhooks, SSE)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_structured(cls, doc: Mapping[str, Any]) -> CloudEvent:
        """Parse structured-mode JSON; raise ``EnvelopeError`` when invalid."""
        try:
            return cls.model_validate(doc)
        except ValueError as exc:
            raise EnvelopeError(str(exc)) from exc


def _decoded_headers(headers: Headers) -> dict[str, str]:
    """Header values as text; a value that is not UTF-8 refuses the whole record."""
    decoded: dict[str, str] = {}
    for name, raw in headers:
        if raw is None:
            continue
        try:
            decoded[name] = raw.decode()
        except UnicodeDecodeError:
            raise EnvelopeError(f"header {name!r} is not valid UTF-8") from None
    return decoded


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise EnvelopeError(f"header {name} is missing")
    return value


def _record_key(key: bytes | None) -> str:
    """The record key: the aggregate id, without which per-key order means nothing."""
    if not key:
        raise EnvelopeError("the record has no key")
    try:
        return key.decode()
    except UnicodeDecodeError:
        raise EnvelopeError("the record key is not valid UTF-8") from None


def _record_data(value: bytes | None) -> dict[str, Any]:
    """The JSON object carried as the record value."""
    if value is None:
        raise EnvelopeError("the record has no value (event data must be a JSON object)")
    try:
        data = json.loads(value)
    except ValueError:  # UnicodeDecodeError is one
        raise EnvelopeError("the record value is not JSON") from None
    if not isinstance(data, dict):
        raise EnvelopeError("event data must be a JSON object")
    return data


def _reason(exc: Exception) -> str:
    """What was wrong, without the offending input (it may be personal data)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
    return f"{type(exc).__name__}: {exc}"
