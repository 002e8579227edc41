"""Wake-ups on the local log: a member waits for a publisher's datagram, not a poll.

Members here poll as a fallback only every ``FALLBACK`` seconds and heartbeat rarely, and every
wait the tests allow is far below that: a record that arrives in time was brought by a wake-up.
Writers must not care about the waiters: stale sockets of crashed members, full queues and junk
in the wake directory neither fail nor block a publish.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shulian_common.bus import OutgoingMessage, Subscriber
from shulian_common.bus.local import LocalBus, LocalSubscriber
from shulian_common.testing.reliability import wait_until
from shulian_common.wake import MAX_SOCKET_PATH, Waker, WakeSocket, wake_dir

WORKER = Path(__file__).with_name("local_worker.py")
FALLBACK = 60.0  # seconds between a waiting member's fetches without wake-ups
SESSION = 600.0  # heartbeats every 150 s: none during a test
DEADLINE = 20.0  # generous for a loaded machine, and a third of FALLBACK


def quiet_bus(path: Path) -> LocalBus:
    """A local log whose members only a wake-up brings records within ``DEADLINE``."""
    return LocalBus(path, partitions=3, session_timeout=SESSION, poll_interval=FALLBACK)


@pytest.fixture
async def bus() -> AsyncIterator[LocalBus]:
    # A short data dir (pytest's are too deep for socket paths): sockets in <dir>/.wake/.
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="w") as short:
        bus = quiet_bus(Path(short) / "bus.db")
        assert bus.wake_directory == Path(short) / ".wake" / "bus.db.log"
        yield bus
        await bus.close()


def topic() -> str:
    return f"shulian.test.{uuid.uuid4().hex[:10]}.v1"


async def publish(bus: LocalBus, name: str, *values: str) -> None:
    async with bus.publisher() as publisher:
        await publisher.publish([OutgoingMessage(name, f"k{v}", v.encode()) for v in values])


async def member(bus: LocalBus, name: str, group: str | None = None) -> Subscriber:
    subscriber = bus.subscriber(topics=[name], group_id=group or f"g-{uuid.uuid4().hex[:8]}")
    await subscriber.start()
    return subscriber


async def spawn_waiter(bus: LocalBus, name: str, total: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        "wait",
        f"--db={bus.path}",
        f"--topic={name}",
        f"--group=g-{uuid.uuid4().hex[:8]}",
        f"--total={total}",
        f"--poll-interval={FALLBACK}",
        f"--session={SESSION}",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), 30) == b"ready\n"
    return process


def sockets(bus: LocalBus) -> set[str]:
    assert bus.wake_directory is not None
    return {p.name for p in bus.wake_directory.glob("*.sock")}


async def test_a_member_in_another_process_is_woken_by_each_publish(bus: LocalBus) -> None:
    name = topic()
    waiter = await spawn_waiter(bus, name, total=3)
    assert waiter.stdout is not None
    try:
        for n in range(3):
            # Let the member get back to waiting (if it were not, the publish would prove less).
            await asyncio.sleep(0.3)
            await publish(bus, name, str(n))
            line = await asyncio.wait_for(waiter.stdout.readline(), DEADLINE)
            assert line == f"{n}\n".encode()
        assert await asyncio.wait_for(waiter.wait(), DEADLINE) == 0
    finally:
        if waiter.returncode is None:
            waiter.kill()
            await waiter.wait()
    assert sockets(bus) == set(), "a member that stopped removes its socket"


async def test_a_crashed_member_leaves_writers_and_other_members_fine(bus: LocalBus) -> None:
    name = topic()
    waiter = await spawn_waiter(bus, name, total=1)
    left_behind = sockets(bus)
    assert len(left_behind) == 1
    assert next(iter(left_behind)).startswith(f"{waiter.pid}-")
    waiter.kill()  # SIGKILL: its socket file stays, with nobody bound to it
    await waiter.wait()
    live = await member(bus, name)
    try:
        polled = asyncio.create_task(live.poll(timeout=FALLBACK / 2))
        await asyncio.sleep(0.3)
        await publish(bus, name, "after the crash")

        records = await asyncio.wait_for(polled, DEADLINE)
        assert [r.value for r in records] == [b"after the crash"]
        assert not sockets(bus) & left_behind, "the first writer removes the stale socket"
    finally:
        await live.stop()


async def test_stale_full_and_foreign_entries_never_fail_or_block_a_writer() -> None:
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="w") as short:
        directory = wake_dir(Path(short) / "x.db", "log")
        assert directory.is_relative_to(short)
        directory.mkdir(parents=True)
        _stale_full_and_foreign(directory)


def _stale_full_and_foreign(directory: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(directory / "1-dead.sock"))
    stale.close()  # the file stays, nobody bound: a crashed member
    full = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    full.bind(str(directory / "2-full.sock"))  # bound, never read
    (directory / "notes.txt").write_text("not a socket")
    (directory / "3-dir.sock").mkdir()
    waker = Waker(directory)
    try:
        sent = [waker.wake() for _ in range(300)]  # far beyond any socket queue
    finally:
        waker.close()
        full.close()

    assert sent[0] == 1  # the full one, while it had room
    assert sent[-1] == 0  # queue full: skipped, neither raised nor blocked
    assert waker.removed == 1
    assert sorted(p.name for p in directory.iterdir()) == ["2-full.sock", "3-dir.sock", "notes.txt"]


async def test_a_lost_wake_up_costs_time_never_a_record(tmp_path: Path) -> None:
    bus = LocalBus(tmp_path / "bus.db", partitions=3, session_timeout=SESSION, poll_interval=0.2)
    name = topic()
    waiting = await member(bus, name)
    try:
        assert bus.wake_directory is not None
        for path in bus.wake_directory.iterdir():
            path.unlink()  # a wiped directory: the publish below wakes nobody
        await publish(bus, name, "one")

        records = await asyncio.wait_for(waiting.poll(timeout=DEADLINE), DEADLINE)
        assert [r.value for r in records] == [b"one"]  # found by the fallback poll
        await waiting.poll(timeout=0.5)
        assert len(sockets(bus)) == 1, "the member binds its socket again"
    finally:
        await waiting.stop()
        await bus.close()


async def test_a_rebalance_is_woken_not_polled(bus: LocalBus) -> None:
    name, group = topic(), f"g-{uuid.uuid4().hex[:8]}"
    first = await member(bus, name, group)
    assert len(first.assignment()) == 3
    polls = [asyncio.create_task(first.poll(timeout=FALLBACK / 2))]
    await asyncio.sleep(0.3)
    second = await member(bus, name, group)  # joins: the first must hand over a partition
    polls.append(asyncio.create_task(second.poll(timeout=FALLBACK / 2)))
    try:
        await wait_until(
            lambda: (
                sorted([len(first.assignment()), len(second.assignment())]) == [1, 2]
                and not first.assignment() & second.assignment()
            ),
            timeout=DEADLINE,
            message="the rebalance",
        )
        assert not any(p.done() for p in polls), "both were still waiting in their polls"
    finally:
        for p in polls:
            p.cancel()
        await asyncio.gather(*polls, return_exceptions=True)
        await second.stop()
        await first.stop()


async def test_a_deep_data_dir_waits_in_a_short_directory_under_tmp(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 4)
    bus = quiet_bus(deep / "bus.db")
    assert bus.wake_directory is not None
    assert bus.wake_directory.parent == Path(f"/tmp/shulian-wake-{os.getuid()}")
    assert wake_dir(deep / "bus.db", "log") == bus.wake_directory  # every process agrees
    name = topic()
    waiting = await member(bus, name)
    try:
        (path,) = bus.wake_directory.glob("*.sock")
        assert len(os.fsencode(path)) <= MAX_SOCKET_PATH
        polled = asyncio.create_task(waiting.poll(timeout=FALLBACK / 2))
        await asyncio.sleep(0.3)
        await publish(bus, name, "deep")
        records = await asyncio.wait_for(polled, DEADLINE)
        assert [r.value for r in records] == [b"deep"]
    finally:
        await waiting.stop()
        await bus.close()
    assert not bus.wake_directory.exists(), "the last waiter leaves no litter under /tmp"


async def test_without_wake_ups_members_poll_as_before(tmp_path: Path) -> None:
    bus = LocalBus(tmp_path / "bus.db", partitions=3, wake=False, poll_interval=FALLBACK)
    name = topic()
    waiting = await member(bus, name)
    try:
        assert bus.wake_directory is None
        assert isinstance(waiting, LocalSubscriber)
        assert not waiting.listening
        polled = asyncio.create_task(waiting.poll(timeout=FALLBACK / 2))
        await asyncio.sleep(0.3)
        await publish(bus, name, "polled")
        records = await asyncio.wait_for(polled, DEADLINE)  # the 1-25 ms back-off finds it
        assert [r.value for r in records] == [b"polled"]
        assert not (tmp_path / ".wake").exists()
    finally:
        await waiting.stop()
        await bus.close()


async def test_a_socket_wakes_its_callback_once_per_batch(tmp_path: Path) -> None:
    woken = asyncio.Event()
    calls = 0

    def callback() -> None:
        nonlocal calls
        calls += 1
        woken.set()

    wake = WakeSocket(wake_dir(tmp_path / "f.db", "c"), callback)
    assert wake.open()
    assert wake.listening
    waker = Waker(wake.directory, skip=lambda: wake.name)
    try:
        assert waker.wake() == 0  # its own socket is skipped
        other = Waker(wake.directory)
        assert other.wake() == 1
        assert other.wake() == 1
        await asyncio.wait_for(woken.wait(), DEADLINE)
        assert calls == 1  # both datagrams read in one go
        other.close()
    finally:
        waker.close()
        wake.close()
    assert not wake.directory.exists()  # under /tmp (pytest's dir is deep): removed when empty


async def test_where_the_loop_cannot_watch_a_socket_members_poll_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows' Proactor loop has no ``add_reader``: the member binds nothing, leaves no socket
    file behind and fetches on the short back-off, not on the slow fallback."""

    def no_readers(*_: object) -> None:
        raise NotImplementedError

    monkeypatch.setattr(asyncio.get_running_loop(), "add_reader", no_readers)
    bus = quiet_bus(tmp_path / "bus.db")
    name = topic()
    waiting = await member(bus, name)
    try:
        assert isinstance(waiting, LocalSubscriber)
        assert not waiting.listening
        assert bus.wake_directory is not None
        assert not list(bus.wake_directory.glob("*.sock"))
        polled = asyncio.create_task(waiting.poll(timeout=FALLBACK / 2))
        await asyncio.sleep(0.3)
        await publish(bus, name, "polled")
        records = await asyncio.wait_for(polled, DEADLINE)
        assert [r.value for r in records] == [b"polled"]
    finally:
        await waiting.stop()
        await bus.close()
