"""The contract the calendar serves is the one it commits for its readers."""

from __future__ import annotations

import json
from pathlib import Path

from shulian_events.testing import Events

COMMITTED = Path(__file__).resolve().parents[2] / "asyncapi.json"


async def test_the_served_asyncapi_document_is_the_committed_contract(yibin: Events) -> None:
    served = await yibin.client.get("/v1/events/asyncapi.json")

    assert served.status_code == 200
    assert served.json() == json.loads(COMMITTED.read_text(encoding="utf-8"))
