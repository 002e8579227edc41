import asyncio
import json
from pathlib import Path

import pytest

from shulian_common.auth import Role, decode_token
from shulian_common.bus import OutgoingMessage, bus_from_url
from shulian_common.cli import build_parser, main
from shulian_common.envelope import CloudEvent
from shulian_common.settings import Settings

TYPE = "cn.sichuan.shulian.testsvc.widget.created.v1"


def test_token_prints_a_bearer_token_and_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--role", "city_operator", "--node", "510100"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    principal = decode_token(Settings(node_id="510100"), out.strip())
    assert principal.role is Role.CITY_OPERATOR
    assert principal.node == "510100"
    assert principal.division == "510100"


def test_token_for_a_supplier_carries_its_record(capsys: pytest.CaptureFixture[str]) -> None:
    main(["token", "--role", "supplier", "--node", "511500", "--supplier-id", "sup-42"])
    principal = decode_token(Settings(node_id="511500"), capsys.readouterr().out.strip())
    assert principal.role is Role.SUPPLIER
    assert principal.supplier_id == "sup-42"


def test_token_refuses_an_unknown_role() -> None:
    with pytest.raises(ValueError, match="wizard"):
        main(["token", "--role", "wizard"])


def test_up_defaults_to_the_province_node_and_the_embedded_data_dir() -> None:
    args = build_parser().parse_args(["up", "--demo"])
    assert (args.nodes, args.demo) == ("510000", True)


def test_tail_prints_structured_cloudevents_up_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHULIAN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SHULIAN_BUS_URL", raising=False)
    topic = "shulian.testsvc.widgets.v1"
    events = [
        CloudEvent(source="/nodes/510100/testsvc", type=TYPE, partitionkey="w1", data={"n": n})
        for n in range(3)
    ]

    async def publish() -> None:
        bus = bus_from_url(Settings().resolved_bus_url)
        async with bus.publisher() as publisher:
            await publisher.publish(
                [OutgoingMessage(topic, "w1", e.to_value(), e.to_headers()) for e in events]
            )
        await bus.close()

    asyncio.run(publish())
    assert main(["tail", topic, "--from-beginning", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["data"]["n"] for line in lines] == [0, 1]
    assert CloudEvent.from_structured(json.loads(lines[0])) == events[0]
