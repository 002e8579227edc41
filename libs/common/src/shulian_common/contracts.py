"""Published contracts, and the consumer-driven check of every reader model against them.

Each service commits the AsyncAPI document of the events it publishes as
``services/<name>/asyncapi.json`` (written by ``shulian asyncapi --service <name>``); a test keeps
it fresh. A consumer never imports a producer: it reads events through reader models of its own
(``shulian_common.readers``). ``check_reader`` compares one reader model with the producer's
committed message schema, so a producer renaming, retyping or loosening a field that someone
reads breaks the build, not production. Fields the reader does not declare are not its concern.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shulian_common.catalogue import catalogue, topic_service
from shulian_common.consumer import Subscription
from shulian_common.service import installed_services

CONTRACT_FILE = "asyncapi.json"
Schema = Mapping[str, Any]

# Bounds a reader may put on a value: the producer must promise at least as much.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")
_TYPE_KEYS = ("type", "enum", "const", "properties", "items", "additionalProperties", "format")


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One way a reader model does not fit the producer's published schema."""

    reader: str
    event_type: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.reader} reading {self.event_type}: {self.path or '(data)'}: {self.problem}"


def contract_path(root: Path, service: str) -> Path:
    """Where ``service`` commits its published contract, under the repository ``root``."""
    return root / "services" / service / CONTRACT_FILE


def refresh_command(service: str) -> str:
    """The command that rewrites ``service``'s committed contract."""
    path = Path("services", service, CONTRACT_FILE)
    return f"uv run shulian asyncapi --service {service} --output {path}"


def published_contract(service: str) -> str:
    """The AsyncAPI 3 document of the events ``service`` publishes, as committed (sorted JSON)."""
    if service not in installed_services():  # loading a service registers its events
        raise LookupError(f"service {service!r} is not installed")
    doc = catalogue.for_service(service).asyncapi(title=f"Shulian {service} events")
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def stale_contracts(root: Path) -> list[str]:
    """Why each installed service's committed contract under ``root`` is missing or stale."""
    problems: list[str] = []
    for service in installed_services():
        path = contract_path(root, service)
        committed = path.read_text(encoding="utf-8") if path.exists() else None
        if committed != published_contract(service):
            state = "is missing" if committed is None else "is stale"
            problems.append(f"{path} {state}: refresh it with `{refresh_command(service)}`")
    return problems


def check_installed(root: Path, *, node_id: str = "510000") -> list[Mismatch]:
    """Check every reader model of every installed service against the committed contracts."""
    documents: dict[str, Schema | str] = {}

    def contract(service: str) -> Schema | str:
        if service not in documents:
            documents[service] = _load_contract(contract_path(root, service))
        return documents[service]

    mismatches: list[Mismatch] = []
    for definition in installed_services().values():
        mismatches += check_subscriptions(definition.subscriptions(node_id), contracts=contract)
    return mismatches


def check_subscriptions(
    subscriptions: Sequence[Subscription], *, contracts: Callable[[str], Schema | str]
) -> list[Mismatch]:
    """Check each reader model; ``contracts(service)`` is its document or why there is none."""
    mismatches: list[Mismatch] = []
    for sub in subscriptions:
        document = contracts(topic_service(sub.topic))
        for event_type, reads in sub.handlers.items():
            if isinstance(document, str):
                mismatches.append(Mismatch(_name(reads.model), event_type, "", document))
                continue
            mismatches += check_reader(
                reads.model, event_type=event_type, topic=sub.topic, document=document
            )
    return mismatches


def check_reader(
    reader: type[BaseModel], *, event_type: str, topic: str, document: Schema
) -> list[Mismatch]:
    """Where ``reader`` does not fit the message ``event_type`` on ``topic`` in ``document``."""
    name = _name(reader)
    found = _message(document, event_type, topic)
    if isinstance(found, str):
        return [Mismatch(name, event_type, "", found)]
    reader_side = _Side(reader.model_json_schema())
    producer_side = _Side(document)
    problems = _compare(reader_side, reader_side.root, producer_side, found["payload"], "")
    return [Mismatch(name, event_type, path, problem) for path, problem in problems]


def _name(reader: type[BaseModel]) -> str:
    return f"{reader.__module__}.{reader.__qualname__}"


def _load_contract(path: Path) -> Schema | str:
    try:
        document: Schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"the producer has no committed contract at {path}"
    return document


def _message(document: Schema, event_type: str, topic: str) -> Schema | str:
    """The message of ``event_type`` in ``document`` if published on ``topic``, else why not."""
    messages = document.get("components", {}).get("messages", {})
    keys = [key for key, message in messages.items() if message.get("name") == event_type]
    if not keys:
        return f"the producer's contract has no event type {event_type} (renamed or removed?)"
    reference = f"#/components/messages/{keys[0]}"
    for channel in document.get("channels", {}).values():
        refs = [m.get("$ref") for m in channel.get("messages", {}).values()]
        if channel.get("address") == topic and reference in refs:
            message: Schema = messages[keys[0]]
            return message
    return f"the producer does not publish {event_type} on {topic}"


class _Side:
    """One JSON Schema document (the reader's or the producer's), for resolving ``$ref``."""

    def __init__(self, root: Schema) -> None:
        self.root = root

    def resolve(self, node: Schema) -> Schema:
        while "$ref" in node:
            target: Any = self.root
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part]
            node = target
        if len(node.get("allOf", ())) == 1:
            return self.resolve(node["allOf"][0])
        return node

    def variants(self, node: Schema) -> Iterator[Schema]:
        """The alternatives of a union (``anyOf``/``oneOf``), each resolved; else the node."""
        node = self.resolve(node)
        alternatives = node.get("anyOf") or node.get("oneOf")
        if alternatives is None:
            yield node
            return
        for alternative in alternatives:
            yield from self.variants(alternative)


Problems = list[tuple[str, str]]


def _compare(reader: _Side, r_node: Schema, producer: _Side, p_node: Schema, path: str) -> Problems:
    """Whether every value the producer's schema allows is one the reader's schema accepts."""
    r_variants = [v for v in reader.variants(r_node) if not _is_null(v)]
    r_nullable = any(_is_null(v) for v in reader.variants(r_node))
    if not r_variants or any(_is_any(v) for v in r_variants):
        return []
    problems: Problems = []
    for p_variant in producer.variants(p_node):
        if _is_null(p_variant):
            if not r_nullable:
                problems.append((path, "the producer may send null; the reader does not accept it"))
            continue
        problems += _best_fit(reader, r_variants, producer, p_variant, path)
    return problems


def _best_fit(
    reader: _Side, r_variants: list[Schema], producer: _Side, p_variant: Schema, path: str
) -> Problems:
    """No problems if some reader alternative accepts ``p_variant``, else the closest one's."""
    if _is_any(p_variant):
        return [(path, "the producer does not declare what it sends here")]
    attempts = [_compare_one(reader, r, producer, p_variant, path) for r in r_variants]
    return min(attempts, key=len)


def _compare_one(reader: _Side, r: Schema, producer: _Side, p: Schema, path: str) -> Problems:
    problems = _compare_values(r, p, path)
    if problems:
        return problems
    types = _types(r)
    if "object" in types:
        problems += _compare_objects(reader, r, producer, p, path)
    if "array" in types:
        r_items, p_items = r.get("items", {}), p.get("items", {})
        problems += _compare(reader, r_items, producer, p_items, f"{path}[]")
    return problems


def _compare_values(r: Schema, p: Schema, path: str) -> Problems:
    """Type, enum, format and bounds of one value."""
    r_types, p_types = _types(r), _types(p)
    if r_types and not all(t in r_types or _widens(t, r_types) for t in p_types):
        sent, wanted = "/".join(sorted(p_types)), "/".join(sorted(r_types))
        return [(path, f"the producer sends {sent}, the reader wants {wanted}")]
    problems = [(path, problem) for problem in _compare_bounds(r, p)]
    if "enum" in r or "const" in r:
        problems += _compare_enums(_enum(r), _enum(p) if _has_enum(p) else None, path)
    if "format" in r and r["format"] != p.get("format"):
        given = p.get("format", "no format")
        problems.append((path, f"the reader wants format {r['format']}, the producer {given}"))
    return problems


def _widens(p_type: str, r_types: set[str]) -> bool:
    # An integer is a valid number; not the other way round.
    return p_type == "integer" and "number" in r_types


def _compare_enums(r_values: list[Any], p_values: list[Any] | None, path: str) -> Problems:
    if p_values is None:
        return [(path, f"the reader accepts only {r_values}, the producer any value")]
    extra = [v for v in p_values if v not in r_values]
    if extra:
        return [(path, f"the producer may send {extra}, which the reader does not accept")]
    return []


def _compare_bounds(r: Schema, p: Schema) -> Iterator[str]:
    for key in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
        if key not in r:
            continue
        promised = p.get(key)
        lower = key in _LOWER_BOUNDS
        if promised is None or (promised < r[key] if lower else promised > r[key]):
            yield f"the reader requires {key} {r[key]}, the producer promises {promised}"
    if "pattern" in r and r["pattern"] != p.get("pattern"):
        yield f"the reader requires pattern {r['pattern']!r}, the producer {p.get('pattern')!r}"


def _compare_objects(reader: _Side, r: Schema, producer: _Side, p: Schema, path: str) -> Problems:
    """Each field the reader reads exists in the producer, as required and compatible."""
    problems: Problems = []
    p_fields: Schema = p.get("properties", {})
    p_required = set(p.get("required", ()))
    for name, r_field in r.get("properties", {}).items():
        at = f"{path}.{name}" if path else name
        if name not in p_fields:
            problems.append((at, "not in the producer's schema (renamed or removed?)"))
            continue
        if name in r.get("required", ()) and name not in p_required:
            problems.append((at, "the reader requires it, the producer's schema may omit it"))
        problems += _compare(reader, r_field, producer, p_fields[name], at)
    r_values = r.get("additionalProperties")
    if isinstance(r_values, Mapping):  # a mapping: each of the producer's values must fit
        p_values = [*p_fields.values()]
        if isinstance(p.get("additionalProperties"), Mapping):
            p_values.append(p["additionalProperties"])
        for value in p_values:
            problems += _compare(reader, r_values, producer, value, f"{path}{{*}}")
    return problems


def _types(node: Schema) -> set[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return set(declared)
    if _has_enum(node):
        return {_json_type(v) for v in _enum(node)}
    if "properties" in node:
        return {"object"}
    return set()


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return "string"


def _has_enum(node: Schema) -> bool:
    return "enum" in node or "const" in node


def _enum(node: Schema) -> list[Any]:
    return list(node["enum"]) if "enum" in node else [node["const"]]


def _is_null(node: Schema) -> bool:
    return node.get("type") == "null" or (node.get("enum") == [None])


def _is_any(node: Schema) -> bool:
    return not any(key in node for key in (*_TYPE_KEYS, "anyOf", "oneOf", "allOf", "$ref"))
