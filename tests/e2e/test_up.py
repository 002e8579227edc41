"""The README run command: `shulian up --demo` starts the platform, serves demo data, stops."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from shulian_common.bus.local import LocalBus
from shulian_common.envelope import CloudEvent
from shulian_common.testing.ports import free_port_block

pytestmark = pytest.mark.slow
SUPPLIERS_TOPIC = "shulian.registry.suppliers.v1"


async def _sources_on(bus_file: Path, topic: str) -> set[str]:
    bus = LocalBus(str(bus_file))
    sources: set[str] = set()
    deadline = time.monotonic() + 60
    async with bus.subscriber(topics=[topic], group_id=f"e2e-{uuid.uuid4().hex}") as subscriber:
        while len(sources) < 2 and time.monotonic() < deadline:
            for record in await subscriber.poll(timeout=1.0):
                event = CloudEvent.from_record(record.headers, record.value, record.key)
                sources.add(event.source)
    await bus.close()
    return sources


def _read_until_ready(proc: subprocess.Popen[str], deadline: float) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Logs:"):
            return lines
    raise AssertionError("shulian up never became ready:\n" + "\n".join(lines))


# Stopped by a supervisor's SIGTERM to the launcher alone; a terminal's Ctrl-C (SIGINT to the
# whole process group) is tests/e2e/test_dev.py's case. Either ends in the launcher's one handler.
READY_WITHIN = 300.0  # seconds: seeding two nodes and starting eight processes on a loaded box


def test_up_runs_two_nodes_with_demo_data_and_stops_cleanly(tmp_path: Path) -> None:
    base = free_port_block(20)
    env = os.environ | {"PYTHONUNBUFFERED": "1", "SHULIAN_LOG_LEVEL": "WARNING"}
    env.pop("SHULIAN_DATABASE_URL", None)
    env.pop("SHULIAN_BUS_URL", None)
    cmd = [
        sys.executable, "-m", "shulian_common.cli", "up", "--demo",
        "--nodes", "510000,511500", "--data-dir", str(tmp_path), "--base-port", str(base),
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines = _read_until_ready(proc, time.monotonic() + READY_WITHIN)
        text = "\n".join(lines)
        urls = re.findall(
            r"^\s+(\d{6}) registry\s+(http://\S+)\s+\(Swagger UI: (\S+)\)", text, re.M
        )
        assert {node for node, _, _ in urls} == {"510000", "511500"}
        tokens = dict(
            re.findall(r"^\s+(\d{6}) (?:province_admin|city_operator): (\S+)$", text, re.M)
        )
        assert set(tokens) == {"510000", "511500"}
        for node, url, docs in urls:
            assert httpx.get(docs, timeout=5).status_code == 200
            ready = httpx.get(f"{url}/readyz", timeout=5)
            assert ready.status_code == 200, ready.text
            headers = {"Authorization": f"Bearer {tokens[node]}"}
            found = httpx.get(
                f"{url}/v1/suppliers", params={"limit": 5}, headers=headers, timeout=10
            )
            assert found.status_code == 200, found.text
            assert found.json()["items"], f"node {node} has no demo suppliers"
        # Each node's supplier token is for a listed supplier of its own, ready to grab orders.
        suppliers = dict(re.findall(r"^\s+(\d{6}) supplier (\w+) \(listed\): \S+$", text, re.M))
        assert set(suppliers) == {"510000", "511500"}
        for node, url, _ in urls:
            headers = {"Authorization": f"Bearer {tokens[node]}"}
            supplier = httpx.get(
                f"{url}/v1/suppliers/{suppliers[node]}", headers=headers, timeout=10
            )
            assert supplier.status_code == 200, supplier.text
            assert supplier.json()["owner_node"] == node
            assert supplier.json()["listing_status"] == "listed"
        # Both nodes publish into the one backbone, where anyone can subscribe to everyone.
        assert asyncio.run(_sources_on(tmp_path / "bus.db", SUPPLIERS_TOPIC)) >= {
            "/nodes/510000/registry",
            "/nodes/511500/registry",
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    for _node, url, _ in urls:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz", timeout=2)


def test_up_names_a_service_that_fails_to_start_and_shows_its_log(tmp_path: Path) -> None:
    base = free_port_block(20)
    env = os.environ | {"SHULIAN_LOG_LEVEL": "WARNING"}
    env.pop("SHULIAN_DATABASE_URL", None)
    env.pop("SHULIAN_BUS_URL", None)
    cmd = [
        sys.executable, "-m", "shulian_common.cli", "up", "--nodes", "510000",
        "--data-dir", str(tmp_path), "--base-port", str(base), "--start-timeout", "120",
    ]  # fmt: skip
    with socket.socket() as taken:  # the registry's port is someone else's
        taken.bind(("127.0.0.1", base))
        taken.listen()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 1
    assert "510000 registry exited with code" in done.stderr, done.stderr
    assert str(tmp_path / "510000" / "registry.log") in done.stderr
    assert "address already in use" in done.stderr.lower(), done.stderr
