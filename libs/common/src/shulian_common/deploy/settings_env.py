"""Every setting a service reads, as the environment of a deployment target.

A setting is a field of ``Settings`` (or of a service's subclass); its variable is ``SHULIAN_`` and
the field name in upper case. Each variable is written out, at its value from ``network.toml`` or
at the code's default, so that ops see (and can change) every knob where they deploy; the ones
that differ per node and service are set by the renderers (``PER_DEPLOYMENT``).
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from shulian_common.deploy.network import Network, Service
from shulian_common.settings import Settings

PREFIX = "SHULIAN_"
# Set per node and service (or from a Secret) by the renderers, never in the shared environment.
PER_DEPLOYMENT = frozenset(
    {"node_id", "service", "database_url", "jwt_secret", "public_url", "kafka_sasl_password"}
)
# Optional: written out empty ("unset") where a target does not use them, so ops still see them.
OPTIONAL = frozenset({"kafka_sasl_username", "kafka_ssl_cafile"})


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    return f"{PREFIX}{field.upper()}"


def env_value(value: Any) -> str:
    """A setting's value as its environment variable holds it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, SecretStr):
        raise TypeError("a secret is never rendered into a deployment file")
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, dict | list | BaseModel):
        # Structured settings (pydantic-settings parses them as JSON), keys and sets sorted.
        return json.dumps(_plain(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(exclude_none=True))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    return value


def common_env(network: Network, target: str) -> dict[str, str]:
    """The variables of the settings every service reads, and the ``OTEL_*`` ones."""
    env = _env(Settings, set(Settings.model_fields), network.setting_values(target))
    return env | network.config.telemetry


def service_env(network: Network, service: Service, target: str) -> dict[str, str]:
    """The variables of the settings only ``service`` reads (its own subclass's fields)."""
    own = set(service.settings.model_fields) - set(Settings.model_fields)
    return _env(service.settings, own, network.setting_values(target))


def all_setting_names(network: Network) -> set[str]:
    """Every variable some installed service reads."""
    fields = set(Settings.model_fields)
    for service in network.services:
        fields |= set(service.settings.model_fields)
    return {env_name(field) for field in fields}


def _env(model: type[Settings], fields: set[str], values: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for field in sorted(fields - PER_DEPLOYMENT):
        value = (
            values[field]
            if field in values
            else model.model_fields[field].get_default(call_default_factory=True)
        )
        if value is None and field in OPTIONAL:
            value = ""
        if value is None:
            raise ValueError(f"setting {field} has no default: give it a value in network.toml")
        env[env_name(field)] = env_value(value)
    return env
