"""The retry schedule: attempts add up per record, a failed record holds up its partition only."""

from __future__ import annotations

from shulian_common.bus.base import Record, TopicPartition
from shulian_common.retry_schedule import RetrySchedule


def record(partition: int, offset: int) -> Record:
    return Record("t", partition, offset, b"k", b"{}", [], 0)


def test_attempts_add_up_per_record_until_it_is_forgotten() -> None:
    schedule = RetrySchedule(backoff=1.0, max_backoff=5.0)
    stuck = record(0, 7)
    assert schedule.failure(stuck) is None
    assert [schedule.failed(stuck, RuntimeError(str(n))) for n in range(3)] == [1, 2, 3]
    failure = schedule.failure(stuck)
    assert failure is not None
    assert str(failure.error) == "2"

    schedule.forget(record(0, 9))  # a later record disposed of: the earlier failure is moot
    assert schedule.failure(stuck) is None


def test_forgetting_keeps_the_other_partitions_failures() -> None:
    schedule = RetrySchedule(backoff=1.0, max_backoff=5.0)
    schedule.failed(record(1, 3), RuntimeError())
    schedule.forget(record(0, 9))
    assert schedule.failure(record(1, 3)) is not None


def test_a_deferred_partition_is_due_after_its_backoff_and_no_other_is_held_up() -> None:
    schedule = RetrySchedule(backoff=0.0, max_backoff=5.0)
    schedule.failed(record(0, 1), RuntimeError())
    schedule.defer(record(0, 1))
    assert schedule.is_deferred(TopicPartition("t", 0))
    assert not schedule.is_deferred(TopicPartition("t", 1))
    assert schedule.wait(1.0) == 0.0  # due now: the poll must not wait
    assert schedule.take_due() == [TopicPartition("t", 0)]
    assert schedule.deferred == 0


def test_the_backoff_doubles_per_attempt_up_to_the_cap() -> None:
    schedule = RetrySchedule(backoff=1.0, max_backoff=5.0)
    stuck = record(0, 1)
    waits = []
    for _ in range(5):
        schedule.failed(stuck, RuntimeError())
        schedule.defer(stuck)
        waits.append(round(schedule.wait(100.0)))
        schedule.release_all()
    assert waits == [1, 2, 4, 5, 5]
    assert schedule.take_due() == []
