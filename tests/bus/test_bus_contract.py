"""The bus contract: every test runs on the local log and on a Kafka-protocol broker."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import TYPE_CHECKING

from shulian_common.bus import OutgoingMessage, Record, dlt_topic

if TYPE_CHECKING:
    from tests.bus.conftest import Harness


def values(records: list[Record]) -> list[str]:
    return [(r.value or b"").decode() for r in records]


async def test_round_trip_keeps_key_value_and_headers(harness: Harness) -> None:
    value = json.dumps({"name": "成都人力资源服务", "n": 1}, ensure_ascii=False)
    headers = [("ce_id", b"evt-1"), ("ce_type", b"cn.t.v1"), ("blob", b"\x00\xff\xfe")]
    before_ms = time.time_ns() // 1_000_000 - 60_000
    await harness.publish([OutgoingMessage(harness.topic, "order-1", value.encode(), headers)])

    member = await harness.subscribe(harness.group())
    [record] = await harness.drain(member, 1)

    assert (record.topic, record.key, record.value) == (harness.topic, b"order-1", value.encode())
    assert list(record.headers) == headers
    assert record.header("ce_id") == "evt-1"
    assert record.offset == 0
    assert 0 <= record.partition < harness.partition_count
    assert before_ms < record.timestamp_ms < before_ms + 120_000


async def test_each_key_keeps_its_order_across_partitions(harness: Harness) -> None:
    keys, per_key, batches = [f"supplier-{k}" for k in range(30)], 20, 5
    step = per_key // batches
    for b in range(batches):  # every batch interleaves all keys
        seqs = range(b * step, (b + 1) * step)
        await harness.publish([harness.message(k, f"{k}:{s}") for s in seqs for k in keys])

    member = await harness.subscribe(harness.group())
    records = await harness.drain(member, len(keys) * per_key)

    seen: dict[str, list[int]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for record in records:
        key, seq = (record.value or b"").decode().split(":")
        seen[key].append(int(seq))
        partitions[key].add(record.partition)
    assert {k: seen[k] for k in keys} == {k: list(range(per_key)) for k in keys}
    assert all(len(p) == 1 for p in partitions.values()), "a key moved between partitions"
    assert len(set().union(*partitions.values())) > 1, "test must span several partitions"


async def test_group_members_split_partitions_and_read_each_record_once(
    harness: Harness,
) -> None:
    group = harness.group()
    members = [await harness.subscribe(group), await harness.subscribe(group)]
    shares = await harness.settle(members)
    count = 300
    await harness.publish([harness.message(f"order-{i % 30}", str(i)) for i in range(count)])

    received = await harness.drain_all(members, count)

    assert all(received), "each member must get a share"
    for share, records in zip(shares, received, strict=True):
        assert {r.tp for r in records} <= share, "a member read a partition it does not own"
    everything = [r for records in received for r in records]
    assert sorted(map(int, values(everything))) == list(range(count))  # once each
    for member in members:
        await harness.stop(member)
    latecomer = await harness.subscribe(group)
    assert await harness.quiet(latecomer), "commits of both members must hold"


async def test_committed_offsets_survive_a_restart(harness: Harness) -> None:
    group = harness.group()
    await harness.publish([harness.message("order-1", str(i)) for i in range(10)])
    first = await harness.subscribe(group)
    records = await harness.drain(first, 10)
    await first.commit(harness.next_offsets(records[:6]))
    await harness.stop(first)

    await harness.publish([harness.message("order-1", str(i)) for i in range(10, 15)])
    second = await harness.subscribe(group)

    assert values(await harness.drain(second, 9)) == [str(i) for i in range(6, 15)]


async def test_uncommitted_records_are_redelivered_after_a_crash(harness: Harness) -> None:
    group = harness.group()
    await harness.publish([harness.message(f"order-{i % 5}", str(i)) for i in range(20)])
    crashed = await harness.subscribe(group)
    before = await harness.drain(crashed, 20)
    await harness.stop(crashed)  # gone without committing

    survivor = await harness.subscribe(group)
    after = await harness.drain(survivor, 20)

    def where(records: list[Record]) -> set[tuple[int, int, bytes | None]]:
        return {(r.partition, r.offset, r.value) for r in records}

    assert where(after) == where(before)


async def test_seek_to_committed_rewinds(harness: Harness) -> None:
    await harness.publish([harness.message(f"order-{i % 7}", str(i)) for i in range(30)])
    member = await harness.subscribe(harness.group())
    records = await harness.drain(member, 30)
    committed = records[:4]
    await member.commit(harness.next_offsets(committed))

    await member.seek_to_committed(sorted(member.assignment(), key=lambda tp: tp.partition))
    again = await harness.drain(member, 26)

    assert sorted(values(again), key=int) == sorted(values(records[4:]), key=int)
    assert await harness.quiet(member)


async def test_dead_letters_carry_their_origin(harness: Harness) -> None:
    await harness.publish([harness.message("order-9", "poison", ce_id="evt-9")])
    member = await harness.subscribe(harness.group())
    [origin] = await harness.drain(member, 1)

    dead = harness.message(
        "order-9",
        "poison",
        topic=dlt_topic(harness.topic),
        ce_id="evt-9",
        dlt_origin_topic=origin.topic,
        dlt_origin_partition=str(origin.partition),
        dlt_origin_offset=str(origin.offset),
        dlt_error="ValueError: 订单数据无效",
    )
    await harness.publish([dead])
    reader = await harness.subscribe(harness.group(), [dlt_topic(harness.topic)])
    [record] = await harness.drain(reader, 1)

    assert record.topic == f"{harness.topic}.DLT"
    assert (record.key, record.value) == (b"order-9", b"poison")
    assert record.header("dlt_origin_topic") == harness.topic
    assert record.header("dlt_origin_partition") == str(origin.partition)
    assert record.header("dlt_origin_offset") == str(origin.offset)
    assert record.header("dlt_error") == "ValueError: 订单数据无效"


async def test_each_group_reads_everything_independently(harness: Harness) -> None:
    await harness.publish([harness.message(f"order-{i % 9}", str(i)) for i in range(50)])
    first = await harness.subscribe(harness.group())
    await harness.drain(first, 50, commit=True)

    second = await harness.subscribe(harness.group())

    assert sorted(map(int, values(await harness.drain(second, 50)))) == list(range(50))


async def test_lag_counts_the_records_between_the_position_and_the_log_end(
    harness: Harness,
) -> None:
    total, taken = 40, 15
    await harness.publish([harness.message(f"order-{i % 8}", str(i)) for i in range(total)])
    member = await harness.subscribe(harness.group())
    assert member.assignment() == harness.partitions  # a lone member owns the whole topic

    first: list[Record] = []
    while len(first) < taken:  # exactly ``taken``: the position is what was handed out
        first += await member.poll(timeout=0.2, max_records=taken - len(first))
    await member.commit(harness.next_offsets(first))
    lag = await member.lag()

    assert lag.keys() == harness.partitions
    assert sum(lag.values()) == total - taken
    await harness.drain(member, total - taken, commit=True)
    assert await member.lag() == dict.fromkeys(harness.partitions, 0)


async def test_a_paused_partition_is_not_polled_until_resumed_and_loses_nothing(
    harness: Harness,
) -> None:
    member = await harness.subscribe(harness.group())
    await harness.settle([member])
    held = min(member.assignment(), key=lambda tp: tp.partition)
    member.pause([held])
    await harness.publish([harness.message(f"order-{i}", str(i)) for i in range(30)])

    while_paused: list[Record] = []
    empty = 0
    while empty < 3:  # until the other partitions are drained
        batch = await member.poll(timeout=0.2)
        while_paused += batch
        empty = 0 if batch else empty + 1
    member.resume([held])
    after = await harness.drain(member, 30 - len(while_paused))

    assert while_paused, "the other partitions must go on"
    assert held not in {r.tp for r in while_paused}
    assert {r.tp for r in after} == {held}
    assert [r.offset for r in after] == list(range(len(after)))
    assert sorted(values(while_paused + after), key=int) == [str(i) for i in range(30)]
