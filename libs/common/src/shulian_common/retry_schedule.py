"""Records waiting for another attempt, and the partitions they hold up (those only).

A record whose handler failed holds up its own partition (per-key order) until its backoff is
over, while the consumer goes on with its other partitions. Failures are kept per (partition,
offset), so that the attempts of a record add up across its redeliveries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shulian_common.bus.base import Record, TopicPartition


@dataclass(frozen=True, slots=True)
class Failure:
    """The failed attempts of one record so far, and the last error."""

    attempts: int
    error: Exception


class RetrySchedule:
    """Failed records, and the monotonic time at which each held-up partition may resume."""

    def __init__(self, *, backoff: float, max_backoff: float) -> None:
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._failures: dict[tuple[TopicPartition, int], Failure] = {}
        self._deferred: dict[TopicPartition, float] = {}

    def failure(self, record: Record) -> Failure | None:
        """The failures of ``record`` so far, if it failed before."""
        return self._failures.get((record.tp, record.offset))

    def failed(self, record: Record, error: Exception) -> int:
        """Count one more failed attempt of ``record``; return its attempts so far."""
        previous = self.failure(record)
        attempts = (previous.attempts if previous else 0) + 1
        self._failures[(record.tp, record.offset)] = Failure(attempts, error)
        return attempts

    def forget(self, record: Record) -> None:
        """Drop the failures of ``record`` and of its partition's earlier records.

        Earlier ones are left only by a partition that moved to another member and back.
        """
        for tp, offset in list(self._failures):
            if tp == record.tp and offset <= record.offset:
                del self._failures[(tp, offset)]

    def defer(self, record: Record) -> None:
        """Hold up ``record``'s partition for the backoff of its next attempt."""
        failure = self.failure(record)
        attempts = failure.attempts if failure else 1
        delay = min(self._max_backoff, self._backoff * 2 ** (attempts - 1))
        self._deferred[record.tp] = time.monotonic() + delay

    def is_deferred(self, tp: TopicPartition) -> bool:
        """Whether ``tp`` is held up by a record waiting for its next attempt."""
        return tp in self._deferred

    @property
    def deferred(self) -> int:
        """How many partitions are held up."""
        return len(self._deferred)

    def take_due(self) -> list[TopicPartition]:
        """The held-up partitions whose backoff is over, in order; no longer held up."""
        now = time.monotonic()
        due = sorted(
            (tp for tp, at in self._deferred.items() if at <= now),
            key=lambda tp: (tp.topic, tp.partition),
        )
        for tp in due:
            del self._deferred[tp]
        return due

    def wait(self, timeout: float) -> float:
        """``timeout``, cut short when a held-up partition is due before it ends."""
        if not self._deferred:
            return timeout
        return max(0.0, min(timeout, min(self._deferred.values()) - time.monotonic()))

    def release_all(self) -> None:
        """Hold up nothing (a new group member starts every partition from its commit)."""
        self._deferred.clear()
