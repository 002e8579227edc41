"""What the local log's wake-ups save: a member's idle CPU and a record's delivery latency across
processes, and an idle `shulian serve`'s CPU; each against the poll it replaced, in the same run.

The baseline is the same code with wake-ups off (``wake=False``, ``SHULIAN_BUS_LOCAL_WAKE=false``):
a member backs off from 1 to 25 ms between empty fetches, as before wake-ups.

- *member*: one group member in another process, subscribed to a topic of the log. First idle for
  ``--idle`` seconds (its own CPU time, ``os.times``), then ``--count`` records published one at a
  time from this process at random gaps of 20-120 ms (so they land anywhere in the back-off):
  latency from ``publish`` returning (the batch committed with ``synchronous=FULL``) here to the
  record coming out of ``poll`` there (wall clock, one machine).
- *serve* (``--serve NAME``, Linux: ``/proc``): ``shulian serve NAME`` on the embedded default
  (SQLite, local log), idle for ``--seconds`` after it is ready; CPU time of the process.

    uv run python bench/local_wake.py [--count 200] [--idle 20] [--serve registry --seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from shulian_common.bus import OutgoingMessage
from shulian_common.bus.local import LocalBus

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


async def member(args: argparse.Namespace) -> None:
    """The member process: report idle CPU, then every record's arrival time, as JSON lines."""
    bus = LocalBus(args.db, partitions=3, wake=args.wake)
    subscriber = bus.subscriber(topics=[args.topic], group_id=f"bench-{uuid.uuid4().hex[:8]}")
    async with subscriber:
        print("ready", flush=True)
        idle_until = time.monotonic() + args.idle
        cpu, wall = _cpu(), time.monotonic()
        while time.monotonic() < idle_until:
            assert not await subscriber.poll(timeout=0.5), "records during the idle window"
        print(json.dumps({"idle_cpu": _cpu() - cpu, "idle_wall": time.monotonic() - wall}))
        arrivals: dict[str, float] = {}
        while len(arrivals) < args.count:
            for record in await subscriber.poll(timeout=0.5):
                arrivals[(record.value or b"").decode()] = time.time()
        print(json.dumps({"arrivals": arrivals}), flush=True)
    await bus.close()


@dataclass
class Measured:
    idle_cpu: float  # seconds of CPU the idle member used
    idle_wall: float
    latencies: list[float]  # seconds from publish to poll, per record


async def _run_member(db: Path, *, wake: bool, count: int, idle: float) -> Measured:
    topic = f"shulian.bench.{uuid.uuid4().hex[:8]}.v1"
    bus = LocalBus(db, partitions=3, wake=wake)
    await bus.ensure_topics([topic])
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--member",
        f"--db={db}",
        f"--topic={topic}",
        f"--count={count}",
        f"--idle={idle}",
        *(["--no-wake"] if not wake else []),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert await process.stdout.readline() == b"ready\n"
    idle_report = json.loads(await process.stdout.readline())
    published: dict[str, float] = {}
    rng = random.Random(7)
    async with bus.publisher() as publisher:
        for n in range(count):
            await asyncio.sleep(rng.uniform(0.02, 0.12))
            await publisher.publish([OutgoingMessage(topic, f"k{n}", str(n).encode())])
            published[str(n)] = time.time()
    arrivals = json.loads(await process.stdout.readline())["arrivals"]
    await process.wait()
    await bus.close()
    latencies = [arrivals[n] - published[n] for n in published]
    return Measured(idle_report["idle_cpu"], idle_report["idle_wall"], latencies)


def _ms(values: list[float], q: float) -> float:
    return 1000 * statistics.quantiles(values, n=100)[round(q * 100) - 1]


async def members(count: int, idle: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bus.db"
        polled = await _run_member(db, wake=False, count=count, idle=idle)
        woken = await _run_member(db, wake=True, count=count, idle=idle)
    print(f"member in another process: idle {idle:.0f} s, then {count} records 20-120 ms apart")
    for name, result in (("poll 1-25 ms (baseline)", polled), ("wake-ups", woken)):
        lat = result.latencies
        print(
            f"  {name:24} idle CPU {result.idle_cpu:5.2f} s = "
            f"{100 * result.idle_cpu / result.idle_wall:5.2f} % of a core   "
            f"latency p50 {_ms(lat, 0.5):6.2f} ms  p99 {_ms(lat, 0.99):6.2f} ms"
        )
    ratio = polled.idle_cpu / max(woken.idle_cpu, 1e-3)
    p50 = statistics.median(woken.latencies) / statistics.median(polled.latencies)
    print(f"  idle CPU baseline/wake-ups: {ratio:.1f}x   latency p50 wake-ups/baseline: {p50:.2f}")


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve_idle(service: str, seconds: float, *, wake: bool) -> float:
    """CPU seconds an idle ``shulian serve`` used in ``seconds``, once ready and settled."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "SHULIAN_DATA_DIR": tmp,
            "SHULIAN_PORT": str(port),
            "SHULIAN_LOG_LEVEL": "WARNING",
            "SHULIAN_BUS_LOCAL_WAKE": "true" if wake else "false",
        }
        command = [sys.executable, "-m", "shulian_common.cli", "serve", service]
        process = subprocess.Popen(command, env=env, cwd=ROOT)
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise RuntimeError("shulian serve did not start") from None
                    time.sleep(0.2)
            time.sleep(5)  # start-up's stragglers (first relay run, consumer join)
            before = _proc_cpu(process.pid)
            time.sleep(seconds)
            return _proc_cpu(process.pid) - before
        finally:
            process.terminate()
            process.wait(30)


def serve(service: str, seconds: float) -> None:
    if not Path("/proc/self/stat").exists():
        print("--serve reads /proc: Linux only")
        return
    polled = _serve_idle(service, seconds, wake=False)
    woken = _serve_idle(service, seconds, wake=True)
    print(f"idle `shulian serve {service}` (SQLite, local log), {seconds:.0f} s once ready")
    for name, cpu in (("poll 1-25 ms (baseline)", polled), ("wake-ups", woken)):
        print(f"  {name:24} CPU {cpu:5.2f} s = {100 * cpu / seconds:5.2f} % of a core")
    print(f"  baseline/wake-ups: {polled / max(woken, 1e-3):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--member", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--no-wake", dest="wake", action="store_false", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=200, help="records published")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle member")
    parser.add_argument("--serve", metavar="SERVICE", help="also measure an idle shulian serve")
    parser.add_argument("--seconds", type=float, default=60.0, help="idle serve window")
    args = parser.parse_args()
    if args.member:
        asyncio.run(member(args))
        return
    asyncio.run(members(args.count, args.idle))
    if args.serve:
        serve(args.serve, args.seconds)


if __name__ == "__main__":
    main()
