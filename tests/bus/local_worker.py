"""A separate OS process on a local log, driven by test_local_log.py.

``churn``: say ``ready``, wait for a line on stdin, then publish this worker's records while
consuming in a shared group until the group has committed every record of every worker; then
print what this worker consumed, one JSON per line.
``hold``: take every partition, read and commit some records, say ``ready`` and stop heartbeating
(the parent then kills it, as a crash).
``wait``: join alone (every partition), say ``ready``, then poll with long timeouts and print each
record's value as it arrives until ``--total`` came; its fallback poll is ``--poll-interval``, so
only a wake-up from the publishing process delivers sooner.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time

from shulian_common.bus import OutgoingMessage, Record, Subscriber, TopicPartition
from shulian_common.bus.local import LocalBus

DEADLINE = 30.0


def committed_total(db: str, group: str) -> int:
    """Records the group has committed so far (offsets start at zero in every partition)."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(next_offset), 0) FROM committed_offsets WHERE group_id=?", (group,)
        ).fetchone()
    return int(row[0])


def next_offsets(records: list[Record]) -> dict[TopicPartition, int]:
    return {r.tp: r.offset + 1 for r in records}


def batches(args: argparse.Namespace) -> list[list[OutgoingMessage]]:
    keys = [f"w{args.worker}-k{k}" for k in range(args.keys)]
    messages = [
        OutgoingMessage(args.topic, key, f"{key}:{seq}".encode())
        for seq in range(args.count // args.keys)
        for key in keys
    ]
    return [messages[i : i + args.batch] for i in range(0, len(messages), args.batch)]


async def churn(bus: LocalBus, member: Subscriber, args: argparse.Namespace) -> list[Record]:
    pending, consumed = batches(args), []
    # A barrier: the parent says "go" once every worker joined, so that they publish together.
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.to_thread(sys.stdin.readline)
    deadline = time.monotonic() + DEADLINE
    async with bus.publisher() as publisher:
        while pending or committed_total(args.db, args.group) < args.total:
            if time.monotonic() > deadline:
                sys.exit(f"worker {args.worker}: group committed too little in time")
            if pending:
                await publisher.publish(pending.pop(0))
            batch = await member.poll(timeout=0.05)
            consumed += batch
            await member.commit(next_offsets(batch))
    return consumed


async def hold(member: Subscriber, args: argparse.Namespace) -> None:
    consumed: list[Record] = []
    deadline = time.monotonic() + DEADLINE
    while len(consumed) < args.total or len(member.assignment()) < 3:
        if time.monotonic() > deadline:
            sys.exit("holder: never owned every partition")
        consumed += await member.poll(timeout=0.05)
    await member.commit(next_offsets(consumed[: args.commit]))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()  # alive but silent: its leases run out


async def wait(member: Subscriber, args: argparse.Namespace) -> None:
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    received = 0
    while received < args.total:
        for record in await member.poll(timeout=2 * args.poll_interval):
            sys.stdout.write((record.value or b"").decode() + "\n")
            sys.stdout.flush()
            received += 1


async def main(args: argparse.Namespace) -> None:
    bus = LocalBus(
        args.db, partitions=3, session_timeout=args.session, poll_interval=args.poll_interval
    )
    member = bus.subscriber(topics=[args.topic], group_id=args.group, client_id=f"w{args.worker}")
    async with member:
        if args.mode == "hold":
            await hold(member, args)
            return
        if args.mode == "wait":
            await wait(member, args)
            return
        consumed = await churn(bus, member, args)
    for record in consumed:
        line = [record.partition, record.offset, (record.value or b"").decode()]
        sys.stdout.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["churn", "hold", "wait"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--count", type=int, default=0, help="records this worker publishes")
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--total", type=int, required=True, help="records the group must see")
    parser.add_argument("--commit", type=int, default=0, help="records the holder commits")
    parser.add_argument("--session", type=float, default=2.0)
    parser.add_argument("--poll-interval", type=float, default=1.0, help="fallback poll (s)")
    asyncio.run(main(parser.parse_args()))
