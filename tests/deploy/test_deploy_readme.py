"""deploy/README.md's "What to watch" names the metrics the code emits, as Prometheus shows them."""

from __future__ import annotations

import ast
import re

from .conftest import ROOT

README = ROOT / "deploy" / "README.md"
SOURCES = [ROOT / "libs" / "common" / "src", *sorted((ROOT / "services").glob("*/src"))]
COUNTERS = {"create_counter"}
GAUGES = {"create_observable_gauge", "ObservedGauge", "create_up_down_counter"}


def _instruments() -> dict[str, tuple[str, str]]:
    """Each ``shulian.*`` instrument the code creates: its kind (counter, gauge) and unit."""
    found: dict[str, tuple[str, str]] = {}
    for source in SOURCES:
        for path in source.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                first = node.args[0]
                if called not in COUNTERS | GAUGES or not isinstance(first, ast.Constant):
                    continue
                if not str(first.value).startswith("shulian."):
                    continue
                units = [k.value for k in node.keywords if k.arg == "unit"]
                unit = units[0].value if units and isinstance(units[0], ast.Constant) else ""
                found[first.value] = ("counter" if called in COUNTERS else "gauge", unit)
    return found


def _prometheus(name: str, kind: str, unit: str) -> str:
    """The name the collector's Prometheus exporter gives an OpenTelemetry instrument."""
    suffix = {"s": "_seconds", "By": "_bytes", "1": "_ratio" if kind == "gauge" else ""}.get(
        unit, ""
    )  # a unit in braces ("{event}") is an annotation: no suffix
    return name.replace(".", "_") + suffix + ("_total" if kind == "counter" else "")


def _watch_table() -> dict[str, str]:
    """The README's OpenTelemetry name → Prometheus name, from the "What to watch" table."""
    section = README.read_text().split("## What to watch", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| [^|]+ \| `(shulian\.[^`]+)`[^|]* \| `([^`]+)` \|", section, re.M)
    return dict(rows)


def test_the_readme_names_every_metric_the_code_emits_as_prometheus_shows_it() -> None:
    instruments = _instruments()
    table = _watch_table()

    assert {
        "shulian.outbox.oldest_unsent_age",
        "shulian.outbox.backlog",
        "shulian.consumer.lag",
        "shulian.dlt.messages",
        "shulian.outbox.parked",
    } <= set(instruments), "an instrument the issue asks to watch is gone"
    assert set(table) == set(instruments)
    for name, (kind, unit) in instruments.items():
        assert table[name] == _prometheus(name, kind, unit), name
