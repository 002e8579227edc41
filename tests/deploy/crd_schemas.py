"""The operators' CRD schemas (vendored in ``schemas/crds``) as strict JSON Schema validators.

No package ships the Strimzi, KEDA or CloudNativePG CRDs, so their ``openAPIV3Schema`` is
vendored verbatim (less descriptions and status, see ``schemas/vendor_crds.py``) with its source
and release. An API server validates a custom resource with that schema and, with ``kubectl
apply``'s default strict field validation, refuses a field the schema does not declare; so does
the validator built here: an object schema with ``properties`` gets ``additionalProperties:
false`` unless it says ``x-kubernetes-preserve-unknown-fields``. What a schema alone cannot say
is checked beside it:

- the CEL rules (``x-kubernetes-validations``) that apply to what deploy/ renders, each by a
  Python equivalent below; a rule that applies and has none fails the test until one is added;
- what the operators read from free-form fields or labels: a Strimzi resource other than
  ``Kafka`` names its cluster in the ``strimzi.io/cluster`` label, and a KEDA ``kafka`` trigger's
  ``metadata`` holds the keys the scaler parses (KEDA 2.20.2, ``pkg/scalers/kafka_scaler.go``),
  all strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.protocols

CRD_DIR = Path(__file__).parent / "schemas" / "crds"
NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}
STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": NAME, "namespace": NAME, "labels": STRINGS, "annotations": STRINGS},
    "additionalProperties": False,
}
STRIMZI_CLUSTER_LABEL = {
    "properties": {
        "metadata": {
            "required": ["labels"],
            "properties": {"labels": {"required": ["strimzi.io/cluster"]}},
        }
    }
}
_BOOL = {"enum": ["true", "false"]}
_INT = {"type": "string", "pattern": "^[0-9]+$"}
# The kafka scaler's metadata keys (KEDA 2.20.2 pkg/scalers/kafka_scaler.go, the fields read from
# triggerMetadata); KEDA ignores an unknown key, so a misspelt one would silently fall back to
# its default: refused here.
KAFKA_TRIGGER_METADATA = {
    "type": "object",
    "required": ["bootstrapServers", "consumerGroup"],
    "additionalProperties": False,
    "properties": {
        "bootstrapServers": {"type": "string", "minLength": 1},
        "consumerGroup": {"type": "string", "minLength": 1},
        "topic": {"type": "string"},
        "partitionLimitation": {"type": "string"},
        "lagThreshold": _INT,
        "activationLagThreshold": _INT,
        "offsetResetPolicy": {"enum": ["latest", "earliest"]},
        "allowIdleConsumers": _BOOL,
        "excludePersistentLag": _BOOL,
        "scaleToZeroOnInvalidOffset": _BOOL,
        "limitToPartitionsWithLag": _BOOL,
        "ensureEvenDistributionOfPartitions": _BOOL,
        "version": {"type": "string"},
        "tls": {"enum": ["enable", "disable"]},
        "unsafeSsl": _BOOL,
        "sasl": {
            "enum": ["none", "plaintext", "scram_sha256", "scram_sha512", "oauthbearer", "gssapi"]
        },
        "saslTokenProvider": {"enum": ["bearer", "aws_msk_iam"]},
        "awsRegion": {"type": "string"},
    },
}
KAFKA_TRIGGERS = {
    "properties": {
        "spec": {
            "properties": {
                "triggers": {
                    "items": {
                        "if": {"properties": {"type": {"const": "kafka"}}},
                        "then": {"properties": {"metadata": KAFKA_TRIGGER_METADATA}},
                    }
                }
            }
        }
    }
}

# The CEL rules met on what deploy/ renders, by their text, as Python on the same ``self``.
CEL: dict[str, Callable[[dict[str, Any]], bool]] = {
    # KEDA ScaledObject spec
    "!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? "
    "self.maxReplicaCount : 100)": lambda spec: (
        "minReplicaCount" not in spec or spec["minReplicaCount"] <= spec.get("maxReplicaCount", 100)
    ),
    # Strimzi KafkaUser spec.authentication
    "self.type == 'tls' || (!has(self.validityDays) && !has(self.renewalDays))": lambda auth: (
        auth["type"] == "tls" or ("validityDays" not in auth and "renewalDays" not in auth)
    ),
    "self.type != 'tls' || (has(self.renewalDays) == has(self.validityDays))": lambda auth: (
        auth["type"] != "tls" or (("renewalDays" in auth) == ("validityDays" in auth))
    ),
    "self.type != 'tls' || !has(self.renewalDays) || !has(self.validityDays) || "
    "self.renewalDays < self.validityDays": lambda auth: (
        auth["type"] != "tls"
        or "renewalDays" not in auth
        or "validityDays" not in auth
        or auth["renewalDays"] < auth["validityDays"]
    ),
    # CloudNativePG Cluster spec
    "!(has(self.imageCatalogRef) && has(self.imageName))": lambda spec: (
        not ("imageCatalogRef" in spec and "imageName" in spec)
    ),
    # CloudNativePG Cluster spec.bootstrap.initdb
    "!has(self.builtinLocale) || self.localeProvider == 'builtin'": lambda initdb: (
        "builtinLocale" not in initdb or initdb.get("localeProvider") == "builtin"
    ),
    "!has(self.icuLocale) || self.localeProvider == 'icu'": lambda initdb: (
        "icuLocale" not in initdb or initdb.get("localeProvider") == "icu"
    ),
    "!has(self.icuRules) || self.localeProvider == 'icu'": lambda initdb: (
        "icuRules" not in initdb or initdb.get("localeProvider") == "icu"
    ),
}


def strict(node: Any) -> Any:
    """A structural CRD schema as JSON Schema, refusing the fields it does not declare."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: v if k in ("enum", "required", "default") else strict(v) for k, v in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


@cache
def vendored() -> dict[str, dict[str, Any]]:
    """Each vendored CRD document (apiVersion, kind, release, source, schema) by apiVersion/kind."""
    documents = [json.loads(path.read_text()) for path in sorted(CRD_DIR.glob("*.json"))]
    return {f"{d['apiVersion']}/{d['kind']}": d for d in documents}


@cache
def crd_validator(key: str) -> jsonschema.protocols.Validator | None:
    """The strict validator of ``apiVersion/kind``, or None when no CRD of it is vendored."""
    document = vendored().get(key)
    if document is None:
        return None
    api_version, kind = document["apiVersion"], document["kind"]
    parts: list[dict[str, Any]] = [
        strict(document["openAPIV3Schema"]),
        {
            "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {
                "apiVersion": {"const": api_version},
                "kind": {"const": kind},
                "metadata": METADATA,
            },
        },
    ]
    if api_version.startswith("kafka.strimzi.io/") and kind != "Kafka":
        parts.append(STRIMZI_CLUSTER_LABEL)
    if kind == "ScaledObject":
        parts.append(KAFKA_TRIGGERS)
    return jsonschema.Draft202012Validator({"allOf": parts})


def cel_rules(schema: Any, instance: Any) -> Iterator[tuple[str, Any]]:
    """Each CEL rule of ``schema`` that applies to a part of ``instance``, with that part."""
    if not isinstance(schema, dict):
        return
    for validation in schema.get("x-kubernetes-validations", []):
        if "oldSelf" not in validation["rule"]:  # transition rules apply to updates only
            yield validation["rule"], instance
    if isinstance(instance, dict):
        for name, value in instance.items():
            if name in schema.get("properties", {}):
                yield from cel_rules(schema["properties"][name], value)
            elif isinstance(schema.get("additionalProperties"), dict):
                yield from cel_rules(schema["additionalProperties"], value)
    elif isinstance(instance, list) and "items" in schema:
        for item in instance:
            yield from cel_rules(schema["items"], item)


def crd_problems(resource: dict[str, Any]) -> list[str] | None:
    """What the operator's CRD refuses in ``resource``; None when its kind has no vendored CRD."""
    key = f"{resource['apiVersion']}/{resource['kind']}"
    validator = crd_validator(key)
    if validator is None:
        return None
    problems = [
        f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(resource)
    ]
    for rule, part in cel_rules(vendored()[key]["openAPIV3Schema"], resource):
        check = CEL.get(rule)
        if check is None:
            problems.append(f"CEL rule without a Python check in crd_schemas.CEL: {rule}")
        elif not check(part):
            problems.append(f"CEL rule refused: {rule}")
    return problems
