"""What only the local log must prove: several OS processes on one file, leases, durability."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shulian_common.bus import Bus, Record, TopicPartition, partition_for
from shulian_common.bus.local import LocalBus

if TYPE_CHECKING:
    from tests.bus.conftest import Harness

WORKER = Path(__file__).with_name("local_worker.py")
MakeHarness = Callable[..., Awaitable["Harness"]]


@pytest.fixture
def bus(tmp_path: Path) -> Bus:
    """Only the local log here (overrides the contract's two-backend fixture)."""
    return LocalBus(tmp_path / "bus.db", partitions=3, session_timeout=1.0)


async def run_worker(harness: Harness, *args: str) -> asyncio.subprocess.Process:
    assert isinstance(harness.bus, LocalBus)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        *args,
        "--db",
        str(harness.bus.path),
        "--topic",
        harness.topic,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def test_two_processes_publish_and_consume_one_file_without_loss(harness: Harness) -> None:
    group, per_worker, keys = harness.group(), 600, 10
    total = 2 * per_worker
    options = [f"--count={per_worker}", f"--keys={keys}", f"--group={group}", f"--total={total}"]
    workers = [await run_worker(harness, "churn", f"--worker={w}", *options) for w in range(2)]
    for worker in workers:  # both joined the group: now let them write at the same time
        assert worker.stdout is not None
        assert await asyncio.wait_for(worker.stdout.readline(), 30) == b"ready\n"
    outputs = await asyncio.wait_for(asyncio.gather(*(w.communicate(b"go\n") for w in workers)), 60)

    assert [w.returncode for w in workers] == [0, 0]
    shares = [[json.loads(line)[2] for line in out.decode().splitlines()] for out, _ in outputs]
    assert all(shares), "both processes must consume"
    expected = {f"w{w}-k{k}:{s}" for w in range(2) for k in range(keys) for s in range(60)}
    assert set(shares[0]) | set(shares[1]) == expected
    # One fresh reader of the whole log: per-key order kept, offsets contiguous, nothing doubled.
    records = await harness.drain(await harness.subscribe(harness.group()), total)
    assert_per_key_order(records, per_key=per_worker // keys)
    by_partition: dict[int, list[Record]] = defaultdict(list)
    for r in records:
        by_partition[r.partition].append(r)
    for part in by_partition.values():
        assert [r.offset for r in part] == list(range(len(part)))
    assert any(interleaved(part) for part in by_partition.values()), "writers never overlapped"
    assert await harness.quiet(harness.subscribers[-1])


def interleaved(records: list[Record]) -> bool:
    """Whether records of both workers alternate more than once (they wrote concurrently)."""
    writers = [(r.value or b"")[:2] for r in records]
    return sum(a != b for a, b in itertools.pairwise(writers)) > 1


def assert_per_key_order(records: list[Record], *, per_key: int) -> None:
    seqs: dict[str, list[int]] = defaultdict(list)
    for record in records:
        key, seq = (record.value or b"").decode().split(":")
        seqs[key].append(int(seq))
    assert all(s == list(range(per_key)) for s in seqs.values()), "per-key order broken"


async def test_a_dead_members_partitions_are_taken_over_after_its_lease(
    harness: Harness,
) -> None:
    group = harness.group()
    await harness.publish([harness.message(f"order-{i % 12}", str(i)) for i in range(60)])
    holder = await run_worker(harness, "hold", f"--group={group}", "--total=60", "--commit=20")
    assert holder.stdout is not None
    assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"ready\n"
    holder.kill()  # SIGKILL: no leave, no cleanup; only the lease expiry frees its partitions
    await holder.wait()

    survivor = await harness.subscribe(group)
    assert survivor.assignment() == set(), "the dead member's leases are still running"
    records = await harness.drain(survivor, 40)

    assert survivor.assignment() == harness.partitions
    assert len({(r.partition, r.offset) for r in records}) == 40
    assert await harness.quiet(survivor)


async def test_fair_shares_leave_nobody_idle_and_follow_departures(
    tmp_path: Path, harness_factory: MakeHarness
) -> None:
    four = LocalBus(tmp_path / "four.db", partitions=4, session_timeout=1.0)
    h = await harness_factory(four, partitions=4)
    group = h.group()
    members = [await h.subscribe(group) for _ in range(3)]

    shares = await h.settle(members)
    assert sorted(map(len, shares)) == [1, 1, 2]

    await h.stop(members.pop())
    assert sorted(map(len, await h.settle(members))) == [2, 2]


async def test_commit_of_a_partition_no_longer_owned_is_ignored(harness: Harness) -> None:
    group = harness.group()
    first = await harness.subscribe(group)
    assert first.assignment() == harness.partitions
    second = await harness.subscribe(group)
    _, taken = await harness.settle([first, second])
    lost = min(taken, key=lambda tp: tp.partition)

    await first.commit({lost: 5})  # first no longer owns it: must not move the group's offset
    await harness.publish([harness.message(k, k) for k in keys_in(lost, count=3)])
    await harness.stop(first)
    await harness.stop(second)
    latecomer = await harness.subscribe(group)

    records = await harness.drain(latecomer, 3)
    assert {(r.tp, r.offset) for r in records} == {(lost, o) for o in range(3)}


def keys_in(tp: TopicPartition, *, count: int) -> list[str]:
    keys = (f"order-{i}" for i in range(10_000))
    return [k for k in keys if partition_for(k, 3) == tp.partition][:count]


async def test_records_and_offsets_survive_reopening_the_file(harness: Harness) -> None:
    group = harness.group()
    await harness.publish([harness.message(f"order-{i % 4}", str(i)) for i in range(20)])
    member = await harness.subscribe(group)
    records = await harness.drain(member, 20)
    await member.commit(harness.next_offsets(records[:8]))
    await harness.aclose()

    assert isinstance(harness.bus, LocalBus)
    reopened = LocalBus(harness.bus.path, partitions=3)
    async with reopened.subscriber(topics=[harness.topic], group_id=group) as again:
        rest = await harness.drain(again, 12)
        assert await harness.quiet(again)
    async with reopened.subscriber(topics=[harness.topic], group_id=harness.group()) as fresh:
        everything = await harness.drain(fresh, 20)

    assert {(r.partition, r.offset) for r in rest} == {(r.partition, r.offset) for r in records[8:]}
    assert sorted(int(r.value or b"") for r in everything) == list(range(20))


async def test_a_topic_without_records_polls_nothing_and_lags_zero(harness: Harness) -> None:
    member = await harness.subscribe(harness.group())

    assert await harness.quiet(member)
    assert await member.lag() == dict.fromkeys(harness.partitions, 0)
    await member.commit({})
    await member.seek_to_committed(sorted(harness.partitions, key=lambda tp: tp.partition))
    assert await harness.quiet(member)


async def test_a_topic_wiped_from_the_log_is_recreated_and_read_from_its_new_start(
    harness: Harness,
) -> None:
    group = harness.group()
    member = await harness.subscribe(group)
    await harness.publish([harness.message("order-1", "before")])
    await harness.drain(member, 1, commit=True)
    assert isinstance(harness.bus, LocalBus)
    with sqlite3.connect(harness.bus.path) as conn:  # as if someone deleted the topic
        conn.execute("DELETE FROM records WHERE topic=?", (harness.topic,))
        conn.execute("DELETE FROM topics WHERE name=?", (harness.topic,))
    assert await harness.quiet(member)

    await harness.publish([harness.message("order-1", "after")])

    [record] = await harness.drain(member, 1, commit=True)
    assert (record.value, record.offset) == (b"after", 0)
    assert await member.lag() == dict.fromkeys(harness.partitions, 0)
