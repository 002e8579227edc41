"""The local log's bulk reader: whole partitions in pages, raw, exactly what was appended."""

from __future__ import annotations

from pathlib import Path

import pytest

from shulian_common.bus import OutgoingMessage, TopicPartition, partition_for
from shulian_common.bus.local import LocalBus
from shulian_common.bus.local.store import decode_headers

TOPIC = "shulian.test.reader.v1"


@pytest.fixture
def bus(tmp_path: Path) -> LocalBus:
    """Only the local log (the reader is its own API)."""
    return LocalBus(tmp_path / "bus.db", partitions=3)


async def test_pages_of_a_partition_return_every_record_raw_in_log_order(bus: LocalBus) -> None:
    messages = [
        OutgoingMessage(TOPIC, f"k{i % 7}", f'{{"n":{i}}}'.encode(), [("ce_id", f"e{i}".encode())])
        for i in range(50)
    ]
    publisher = bus.publisher()
    await publisher.publish(messages[:20])
    await publisher.publish(messages[20:])
    await publisher.stop()

    async with bus.reader() as reader:
        ends = await reader.log_ends([TOPIC, "shulian.test.missing.v1"])
        read: dict[int, list[tuple[str, bytes, str, int]]] = {}
        for tp, end in ends.items():
            position, pages = 0, []
            while position < end:
                page = await reader.read_range(tp.topic, tp.partition, position, 4)
                pages.append(len(page))
                read[tp.partition] = read.get(tp.partition, []) + [
                    (k.decode(), v, h, o)
                    for k, v, h, o, _ts in page
                    if k is not None and v is not None
                ]
                position = page[-1][3] + 1
            assert all(size == 4 for size in pages[:-1])  # full pages until the end
            assert await reader.read_range(tp.topic, tp.partition, end, 4) == []

    assert set(ends) == {TopicPartition(TOPIC, p) for p in range(3)}  # missing topics: none
    for partition, records in read.items():
        expected = [m for m in messages if partition_for(m.key, 3) == partition]
        assert [r[3] for r in records] == list(range(len(expected)))  # contiguous offsets
        assert [(r[0], r[1], decode_headers(r[2])) for r in records] == [
            (m.key, m.value, list(m.headers)) for m in expected
        ]
    assert sum(len(records) for records in read.values()) == len(messages)
