import asyncio
import json
import subprocess
import sys
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


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_token_refuses_an_unknown_role_in_one_line_listing_the_roles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["token", "--role", "wizard"]) == 2
    line = _one_line_error(capsys)
    assert "'wizard'" in line
    for role in Role:
        assert role.value in line


@pytest.mark.parametrize(
    ("role", "option"), [("supplier", "--supplier-id"), ("enterprise", "--enterprise-id")]
)
def test_token_for_a_supplier_or_enterprise_needs_its_record(
    capsys: pytest.CaptureFixture[str], role: str, option: str
) -> None:
    assert main(["token", "--role", role]) == 2
    assert option in _one_line_error(capsys)


def test_token_refuses_a_scope_that_does_not_fit_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["token", "--role", "city_operator", "--node", "519999"]) == 2
    assert "519999" in _one_line_error(capsys)
    outside = ["token", "--role", "county_operator", "--node", "510100", "--division", "511502"]
    assert main(outside) == 2
    assert "511502" in _one_line_error(capsys)


def test_tail_help_documents_its_arguments_and_the_bus_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHULIAN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SHULIAN_BUS_URL", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["tail", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for documented in ("topic", "--from-beginning", "--limit N", "--data-dir", "--bus-url"):
        assert documented in text
    assert "SHULIAN_BUS_URL" in text
    assert "SHULIAN_DATA_DIR" in text
    assert f"local://{tmp_path.resolve() / 'bus.db'}" in text


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
    # The same log, named on the command line from anywhere else.
    monkeypatch.setenv("SHULIAN_DATA_DIR", str(tmp_path / "elsewhere"))
    assert (
        main(["tail", topic, "--from-beginning", "--limit", "3", "--data-dir", str(tmp_path)]) == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 3


_LOADED_SERVICES = """
import sys
from importlib.metadata import entry_points
from shulian_common.cli import main
from shulian_common.service import ENTRY_POINT_GROUP, installed_service

packages = {ep.name: ep.value.split(".")[0] for ep in entry_points(group=ENTRY_POINT_GROUP)}
if sys.argv[1] == "token":
    main(["token", "--role", "partner"])
else:
    installed_service(sys.argv[1])
print(sorted(name for name, package in packages.items() if package in sys.modules))
"""


def test_a_built_in_command_imports_no_service_and_serving_one_imports_it_alone() -> None:
    from shulian_common.service import installed_service_names

    def loaded(arg: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", _LOADED_SERVICES, arg],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return list(json.loads(done.stdout.splitlines()[-1].replace("'", '"')))

    names = sorted(installed_service_names())
    assert names, "no service is installed"
    assert loaded("token") == []
    assert loaded(names[-1]) == [names[-1]]


def test_serving_an_unknown_service_names_the_installed_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shulian_common.service import installed_service_names

    assert main(["serve", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown service 'nope'" in err
    assert all(name in err for name in installed_service_names())
