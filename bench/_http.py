"""What the HTTP benchmarks share: the bench database server, timing of a call at a concurrency,
the report line, the CPU a server process spent, a minimal keep-alive client, a server run in
its own process (``shulian serve`` or a lean reference) and the issue-13 ratios.

Imported by the scripts next to it (``uv run python bench/NAME.py`` puts this folder first on
``sys.path``).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import orjson
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shulian_common.db import SERVER_SETTINGS

DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
Timed = tuple[list[float], float, float | None]  # latencies (s), elapsed (s), server CPU (s)


def server_url() -> str:
    """The PostgreSQL server the benchmarks make their databases on."""
    return os.environ.get("SHULIAN_BENCH_DATABASE_URL", DEFAULT_SERVER)


def database_url(name: str) -> str:
    """The URL of database ``name`` on the bench server."""
    return make_url(server_url()).set(database=name).render_as_string(hide_password=False)


async def admin(statement: str) -> None:
    """Run ``statement`` outside a transaction (CREATE/DROP DATABASE) on the bench server."""
    engine = create_async_engine(server_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def dsn(url: str) -> str:
    """``url`` as asyncpg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def measure(
    call: Callable[[int], Awaitable[None]], requests: int, concurrency: int
) -> tuple[list[float], float]:
    """``call(0)`` … ``call(requests - 1)`` by ``concurrency`` workers: latencies and elapsed."""
    latencies: list[float] = []
    counter = iter(range(requests))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


@dataclass(frozen=True)
class Result:
    """One line of a benchmark."""

    p50: float  # ms
    p99: float  # ms
    rate: float  # requests/s
    cpu: float | None  # ms of server CPU per request (None: no server process)


def report(
    label: str, latencies: Sequence[float], elapsed: float, cpu_seconds: float | None = None
) -> Result:
    """Print one line (p50, p99, requests/s, server CPU per request) and return it."""
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    rate = len(ordered) / elapsed
    cpu = None if cpu_seconds is None else cpu_seconds * 1000 / len(ordered)
    cpu_text = "" if cpu is None else f"  server CPU {cpu:5.2f} ms/req"
    print(
        f"{label:<28} n={len(ordered):>5}  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
        f"  {rate:8.1f} req/s{cpu_text}"
    )
    return Result(p50, p99, rate, cpu)


def print_ratios(sql: Result, lean: Result, app: Result) -> None:
    """The issue-13 aims: app/lean req/s ≥ 0.8 and p99 ≤ 1.5 (at concurrency 4), app p50 −
    raw SQL p50 ≤ 3 ms (at concurrency 1)."""
    print(
        f"app/lean: req/s {app.rate / lean.rate:.2f}x (aim >= 0.8),"
        f" p99 {app.p99 / lean.p99:.2f}x (aim <= 1.5);"
        f" app p50 - raw SQL p50: {app.p50 - sql.p50:+.2f} ms (aim <= 3 at concurrency 1);"
        f" p50 ratio to raw SQL {app.p50 / sql.p50:.1f}x"
    )


def print_rounds(rounds: Sequence[tuple[int, Result, Result, Result]]) -> None:
    """Where a concurrency level was measured in several rounds (``--concurrency 4,4,4``), the
    median of each ratio over them and how many rounds met the aims: on a shared two-core
    machine one round's ratio moves by a third from one round to the next, so a level is
    better judged over rounds (each round measures the lean reference just before the app)."""
    for level in sorted({c for c, *_ in rounds}):
        at = [(sql, lean, app) for c, sql, lean, app in rounds if c == level]
        if len(at) < 2:
            continue
        rates = [app.rate / lean.rate for _, lean, app in at]
        p99s = [app.p99 / lean.p99 for _, lean, app in at]
        p50s = [app.p50 - sql.p50 for sql, _, app in at]
        cpus = [app.cpu / lean.cpu for _, lean, app in at if app.cpu and lean.cpu]
        met = sum(
            rate >= 0.8 and p99 <= 1.5 if level > 1 else p50 <= 3
            for rate, p99, p50 in zip(rates, p99s, p50s, strict=True)
        )
        cpu_text = f", server CPU app/lean {statistics.median(cpus):.2f}x" if cpus else ""
        print(
            f"concurrency {level} over {len(at)} rounds (medians): req/s"
            f" {statistics.median(rates):.2f}x, p99 {statistics.median(p99s):.2f}x, p50 over raw"
            f" SQL {statistics.median(p50s):+.2f} ms{cpu_text}; aims met in {met} of {len(at)}"
        )


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU (user + system) the process ``pid`` and its live descendants have used so far."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / _TICK
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def until_healthy(client: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    """Wait until ``/healthz`` answers 200 (or the process dies)."""
    for _ in range(3600):  # up to 3 min: start-up on a loaded 2-core machine took over 1
        if process.returncode is not None:
            raise RuntimeError("the server process exited during start-up")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise TimeoutError("the server did not start in time")


class _Connection:
    """One keep-alive HTTP/1.1 connection with a minimal client: a GET written as bytes, the
    answer read by its Content-Length. httpx spent more CPU per request than the lean server
    does, on the same 2 cores as the servers; this keeps the client's share small and equal."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, target: str, head: bytes) -> int:
        self.writer.write(b"GET " + target.encode() + b" HTTP/1.1\r\n" + head)
        status_line = await self.reader.readuntil(b"\r\n")
        length = 0
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])


class Client:
    """``concurrency`` connections to ``127.0.0.1:port``, one per bench worker at a time."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        lines = [f"Host: 127.0.0.1:{port}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        self.head = "\r\n".join(lines).encode()
        self.idle: list[_Connection] = []

    async def get(self, target: str) -> None:
        connection = self.idle.pop() if self.idle else await self._connect()
        status = await connection.get(target, self.head)
        self.idle.append(connection)
        if status != 200:
            raise RuntimeError(f"GET {target}: {status}")

    async def _connect(self) -> _Connection:
        return _Connection(*await asyncio.open_connection("127.0.0.1", self.port))

    def close(self) -> None:
        for connection in self.idle:
            connection.writer.close()


async def over_http(
    command: Sequence[str],
    env: dict[str, str],
    port: int,
    targets: Sequence[str],
    concurrency: int,
    headers: dict[str, str],
) -> Timed:
    """GET each of ``targets`` over loopback HTTP from a server started by ``command`` in its
    own process, and the CPU that process (and its workers) spent on them."""
    server = await asyncio.create_subprocess_exec(*command, env=os.environ | env)
    client = Client(port, headers)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probe:
            await until_healthy(probe, server)

        async def call(i: int) -> None:
            await client.get(targets[i % len(targets)])

        for i in range(min(len(targets), 50)):  # warm-up: connections, statements, caches
            await call(i)
        before = cpu_seconds(server.pid)
        latencies, elapsed = await measure(call, len(targets), concurrency)
        return latencies, elapsed, cpu_seconds(server.pid) - before
    finally:
        client.close()
        server.terminate()
        await server.wait()


def serve_command(service: str) -> tuple[str, ...]:
    """How a container runs ``service``: ``shulian serve``."""
    return (sys.executable, "-m", "shulian_common.cli", "serve", service)


def baseline_path(checkout: str) -> str:
    """``PYTHONPATH`` that runs the kit and services of another checkout of this repository
    (e.g. ``git archive int | tar -x -C DIR``) instead of the installed ones: its source
    directories, found before the venv's editable installs."""
    root = Path(checkout).resolve()
    sources = [root / "libs" / "common" / "src", *sorted(root.glob("services/*/src"))]
    missing = [str(path) for path in sources if not path.is_dir()]
    if missing or len(sources) < 2:
        raise SystemExit(f"--baseline {checkout}: not a checkout of this repository")
    return os.pathsep.join(str(path) for path in sources)


def serve_env(
    url: str,
    bus_url: str,
    tmp: str,
    port: int,
    workers: int,
    otlp: str | None = None,
    baseline: str | None = None,
) -> dict[str, str]:
    """The environment of ``shulian serve`` for a benchmark: test env, quiet, telemetry off
    unless exported to ``otlp``; ``baseline``'s code instead of this checkout's when given."""
    env = {
        "SHULIAN_ENV": "test",
        "SHULIAN_DATABASE_URL": url,
        "SHULIAN_BUS_URL": bus_url,
        "SHULIAN_DATA_DIR": tmp,
        "SHULIAN_LOG_LEVEL": "WARNING",
        "SHULIAN_PORT": str(port),
        "SHULIAN_WORKERS": str(workers),
    }
    if otlp is None:
        env["SHULIAN_TELEMETRY_ENABLED"] = "false"
    else:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp
    if baseline is not None:
        env["PYTHONPATH"] = baseline_path(baseline)
    return env


async def lean_pool(url: str) -> Any:
    """The lean references' asyncpg pool: JSON decoded by orjson, settings sent with the
    start-up packet as the kit's engines send them, no reset round trip on release."""

    async def init(connection: Any) -> None:
        for kind in ("json", "jsonb"):
            await connection.set_type_codec(
                kind, encoder=orjson.dumps, decoder=orjson.loads, schema="pg_catalog", format="text"
            )

    async def keep(_connection: Any) -> None:
        """No reset on release: asyncpg's default (``RESET ALL`` and more) is a round trip per
        request, and would drop a ``SET`` made in ``init``."""

    return await asyncpg.create_pool(
        dsn(url),
        min_size=4,
        max_size=10,
        init=init,
        reset=keep,
        server_settings=dict(SERVER_SETTINGS),
    )
