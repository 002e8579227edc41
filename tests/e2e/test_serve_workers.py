"""`shulian serve` with several workers: one port, writes from any worker reach the bus (only the
first worker runs the relay), a clean stop on SIGTERM, and no half-running group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shulian_common.bus.local import LocalBus
from shulian_common.envelope import CloudEvent
from shulian_common.reference.validators import (
    organization_code_check_character,
    uscc_check_character,
)

pytestmark = pytest.mark.slow
SUPPLIERS_TOPIC = "shulian.registry.suppliers.v1"
WRITES = 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children(pid: int) -> set[int]:
    """The worker processes of ``pid`` (multiprocessing's resource tracker left out)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return {child for child in found if b"spawn_main" in _cmdline(child)}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def _serve(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "SHULIAN_ENV": "test",
        "SHULIAN_DATA_DIR": str(tmp_path),
        "SHULIAN_PORT": str(port),
        "SHULIAN_WORKERS": "2",
        "SHULIAN_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "shulian_common.cli", "serve", "registry"]
    return subprocess.Popen(command, env=env, cwd=tmp_path)


def _until_up(client: httpx.Client, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "shulian serve exited during start-up"
        try:
            if client.get("/readyz").status_code == 200 and len(_children(proc.pid)) == 2:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the workers did not start")


def _uscc(i: int) -> str:
    body8 = f"{uuid.uuid4().int % 10**7:07d}{i % 10}"
    first17 = f"91511502{body8}{organization_code_check_character(body8)}"
    return first17 + uscc_check_character(first17)


def _published_ids(bus_file: Path, wanted: int) -> set[str]:
    import asyncio

    async def read() -> set[str]:
        bus = LocalBus(str(bus_file))
        ids: set[str] = set()
        deadline = time.monotonic() + 30
        async with bus.subscriber(topics=[SUPPLIERS_TOPIC], group_id=uuid.uuid4().hex) as sub:
            while len(ids) < wanted and time.monotonic() < deadline:
                for record in await sub.poll(timeout=1.0):
                    event = CloudEvent.from_record(record.headers, record.value, record.key)
                    ids.add(str(event.partitionkey))
        await bus.close()
        return ids

    return asyncio.run(read())


def _token() -> str:
    command = [sys.executable, "-m", "shulian_common.cli", "token", "--role", "province_admin"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``shulian serve registry`` with two workers, up; killed if a test leaves it running."""
    port = _free_port()
    proc = _serve(tmp_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as probe:
            _until_up(probe, proc)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _gone(pids: set[int]) -> bool:
    """Whether every process of ``pids`` has exited (within 30 s)."""
    deadline = time.monotonic() + 30
    while any(_cmdline(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not any(_cmdline(pid) for pid in pids)


def test_writes_through_any_worker_are_published_and_sigterm_stops_all(
    served: tuple[subprocess.Popen[bytes], int], tmp_path: Path
) -> None:
    proc, port = served
    headers = {"Authorization": f"Bearer {_token()}"}
    workers = _children(proc.pid)
    created = set()
    for i in range(WRITES):
        # A connection each: the kernel hands them to either worker.
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            body = {
                "name": f"宜宾测试人力资源有限公司{i}",
                "uscc": _uscc(i),
                "county_code": "511502",
                "service_lines": ["recruitment"],
            }
            response = client.post("/v1/suppliers", json=body, headers=headers)
            assert response.status_code == 201, response.text
            created.add(response.json()["id"])
    assert _published_ids(tmp_path / "bus.db", WRITES) >= created
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert _gone(workers)


def test_workers_stop_when_their_parent_is_killed(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, _port = served
    workers = _children(proc.pid)
    proc.kill()
    proc.wait()
    assert _gone(workers)


def test_a_worker_that_dies_stops_the_group(served: tuple[subprocess.Popen[bytes], int]) -> None:
    proc, _port = served
    first, *others = sorted(_children(proc.pid))
    os.kill(others[0], signal.SIGKILL)
    assert proc.wait(timeout=60) == 1
    assert _gone({first})


# A parent that starts `shulian serve` as `shulian up` does, prints its pid and waits.
_PARENT = """
import subprocess, sys
command = [sys.executable, "-m", "shulian_common.cli", "serve", "registry",
           "--stop-with-parent", str(__import__("os").getpid())]
print(subprocess.Popen(command).pid, flush=True)
sys.stdin.read()
"""


def test_a_service_started_by_a_killed_parent_stops(tmp_path: Path) -> None:
    """`shulian up` killed with SIGKILL cannot stop what it started: each service it starts is
    told to stop with it (``--stop-with-parent``), so none keeps the port or the database."""
    port = _free_port()
    env = os.environ | {
        "SHULIAN_ENV": "test",
        "SHULIAN_DATA_DIR": str(tmp_path),
        "SHULIAN_PORT": str(port),
        "SHULIAN_LOG_LEVEL": "WARNING",
    }
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT], env=env, cwd=tmp_path, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert parent.stdout is not None
    served = int(parent.stdout.readline())
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 120
            while not _answers(client):
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
        parent.kill()
        parent.wait()
        assert _gone({served})
    finally:
        parent.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(served, signal.SIGKILL)


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False
