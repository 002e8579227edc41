"""The dashboard in a real browser: Debian's headless Chromium, CJK fonts, ECharts served by the
service itself. Fails when a chart draws nothing or no CJK font is installed; the screenshot is
kept in ``var/test-artefacts/`` (``./dev test`` installs chromium and fonts-noto-cjk if missing).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from shulian_common.reference import PROVINCE_CODE
from shulian_common.testing.reliability import wait_until
from shulian_reporting import testing as t
from shulian_reporting.testing import Reporting, reporting_settings_for, running
from shulian_reporting.testing.worked import events

ARTEFACTS = Path(__file__).resolve().parents[4] / "var" / "test-artefacts"
CHROMIUM = ("chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Reporting, str]]:
    """Reporting on SQLite with the worked example applied, served over real HTTP."""
    settings = reporting_settings_for(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", tmp_path)
    async with running(settings) as node:
        await t.publish(node, events())
        port = _free_port()
        config = uvicorn.Config(node.app, host="127.0.0.1", port=port, lifespan="off",
                                log_config=None, access_log=False)  # fmt: skip
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        await wait_until(lambda: server.started, message="uvicorn started")
        try:
            yield node, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task


async def _chromium(*args: str) -> str:
    assert shutil.which("chromium"), "Debian's chromium is not installed (./dev test installs it)"
    process = await asyncio.create_subprocess_exec(
        *CHROMIUM, *args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0
    return out.decode()


def test_a_cjk_font_is_installed() -> None:
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=True)
    assert fonts.stdout.strip(), "no CJK font installed (./dev test installs fonts-noto-cjk)"


async def test_the_dashboard_draws_its_charts_with_chinese_text(
    served: tuple[Reporting, str],
) -> None:
    node, base = served
    token = node.province["Authorization"].removeprefix("Bearer ")
    url = f"{base}/dashboard?year=2024&scope={PROVINCE_CODE}&as_of=2024-06-30#token={token}"

    dom = await _chromium("--virtual-time-budget=15000", "--dump-dom", url)

    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None
    attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1)))
    assert attributes.get("data-ready") == "true", dom[-2000:]
    pixels = json.loads(attributes["data-chart-pixels"].replace("&quot;", '"'))
    assert len(pixels) == 2
    assert all(count > 5000 for count in pixels), pixels  # each chart drew bars, axes, text
    assert attributes["data-cjk-font"] == "true"
    assert "重点人力资源服务供应商名录库在库企业" in dom
    assert "滞后" in dom

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "reporting-dashboard.png"
    await _chromium(
        "--virtual-time-budget=15000", "--window-size=1600,1400", f"--screenshot={shot}", url
    )
    assert shot.stat().st_size > 20_000


async def test_echarts_and_its_licence_are_served_locally(served: tuple[Reporting, str]) -> None:
    node, _ = served
    script = await node.client.get("/static/echarts.min.js")
    licence = await node.client.get("/static/ECHARTS-LICENSE.txt")
    missing = await node.client.get("/static/../orm.py")
    assert script.status_code == 200
    assert b"echarts" in script.content[:2000]
    assert "Apache License" in licence.text
    assert missing.status_code == 404
