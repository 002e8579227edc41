"""``shulian outbox``: list the outbox rows the relay parked, and re-queue them."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from shulian_common.settings import Settings


def add_outbox_commands(sub: Any) -> None:
    """Add ``outbox parked`` and ``outbox requeue`` to the ``shulian`` parser."""
    outbox = sub.add_parser("outbox", help="list and re-queue outbox rows the bus refused")
    outbox.add_argument("--service", help="the service whose database to open (SHULIAN_* rest)")
    outbox.add_argument("--database-url", help="open this database instead")
    commands = outbox.add_subparsers(dest="outbox_command", required=True)
    parked = commands.add_parser("parked", help="list parked rows, oldest first")
    parked.set_defaults(func=cmd_parked)
    requeue = commands.add_parser("requeue", help="re-queue parked rows for the relay")
    requeue.add_argument("seqs", nargs="*", type=int, metavar="SEQ", help="rows to re-queue")
    requeue.add_argument("--all", action="store_true", help="re-queue every parked row")
    requeue.set_defaults(func=cmd_requeue)


def _database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    settings = Settings(service=args.service) if args.service else Settings()
    return settings.resolved_database_url


def cmd_parked(args: argparse.Namespace) -> int:
    """Print each parked row: seq, when, topic, key, type and the bus's refusal."""
    from shulian_common.parking import parked_rows

    rows = asyncio.run(_with_engine(_database_url(args), parked_rows))
    if not rows:
        sys.stdout.write("no parked rows\n")
    for row in rows:
        when = row.parked_at.isoformat(timespec="seconds")
        sys.stdout.write(f"{row.seq}\t{when}\t{row.topic}\t{row.key}\t{row.type}\t{row.error}\n")
    return 0


def cmd_requeue(args: argparse.Namespace) -> int:
    """Unpark the rows named (or all): the relay publishes them, and their keys' held rows."""
    from shulian_common.parking import requeue

    if bool(args.seqs) == bool(args.all):
        sys.stderr.write("name the rows to re-queue (SEQ ...) or pass --all, not both\n")
        return 2
    seqs = None if args.all else list(args.seqs)
    count = asyncio.run(_with_engine(_database_url(args), lambda e: requeue(e, seqs)))
    sys.stdout.write(f"re-queued {count} row(s)\n")
    return 0


async def _with_engine(url: str, work: Any) -> Any:
    from shulian_common.db import create_engine

    engine = create_engine(url)
    try:
        return await work(engine)
    finally:
        await engine.dispose()
