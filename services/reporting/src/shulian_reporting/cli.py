"""``shulian reporting ...``: the service's own commands (``rebuild``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from shulian_common.settings import Settings
from shulian_reporting.settings import SERVICE, reporting_settings


def add_commands(parser: argparse.ArgumentParser) -> None:
    """Add reporting's subcommands to its ``shulian reporting`` parser."""
    commands = parser.add_subparsers(dest="reporting_command", required=True)
    rebuild = commands.add_parser(
        "rebuild",
        help="rebuild the projections from the start of the streams",
        description="Empty reporting's projections and replay the registry's streams into "
        "them from the beginning (SHULIAN_* settings name the database and the bus). Run it "
        "with the service stopped or running: snapshots are version-gated, figures end equal.",
    )
    rebuild.add_argument(
        "--batch-size",
        type=int,
        help="events per transaction (default: SHULIAN_REBUILD_BATCH_SIZE)",
    )
    rebuild.add_argument(
        "--jobs",
        type=_at_least_one,
        default=min(os.cpu_count() or 1, 8),
        help="processes sharing the partitions when the bus is the local log (default: one "
        "per CPU, at most 8); on Kafka the replay is one process",
    )
    rebuild.add_argument("--no-progress", action="store_true", help="no progress bar")
    rebuild.set_defaults(func=cmd_rebuild)


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1 expected, not {text!r}")
    return value


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Rebuild with a progress bar on stderr; print what was done."""
    from tqdm import tqdm

    from shulian_reporting.handlers.rebuild import rebuild

    settings = reporting_settings(Settings(service=SERVICE))
    batch = args.batch_size or settings.rebuild_batch_size
    with tqdm(desc="重建报表投影", unit="事件", disable=args.no_progress, file=sys.stderr) as bar:

        def progress(done: int, left: int) -> None:
            bar.total = done + left
            bar.update(done - bar.n)

        result = asyncio.run(rebuild(settings, batch_size=batch, progress=progress, jobs=args.jobs))
    rows = ", ".join(f"{table} {count}" for table, count in result.rows.items())
    print(
        f"rebuilt from {result.events} events ({result.applied} applied, "
        f"{result.dead_lettered} dead-lettered) in {result.seconds:.2f}s "
        f"= {result.rate:,.0f} events/s; rows: {rows}"
    )
    return 0
