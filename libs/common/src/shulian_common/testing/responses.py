"""Checks for routes that answer with bytes they serialised themselves (``http.json_response``):
the body must be exactly what their declared response model would have produced."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel


def assert_conforms(model: type[BaseModel], body: bytes | str) -> dict[str, Any]:
    """Assert ``body`` validates as ``model`` and is unchanged by a round trip through it
    (every field present, no extra one, each value as the model renders it); return it parsed."""
    parsed: dict[str, Any] = json.loads(body)
    rendered = model.model_validate_json(body).model_dump(mode="json")
    assert parsed == rendered, f"the body differs from {model.__name__}'s rendering of it"
    return parsed
