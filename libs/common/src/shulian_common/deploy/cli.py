"""``shulian deploy``: render what ops apply from one source (its modules load on use)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

RENDER_COMMAND = "./dev shulian deploy render"


def main_check(root: Path) -> int:
    """Exit status of ``render --check``: 1, with each stale file on stderr, if any is stale."""
    from shulian_common.deploy.render import stale_files

    files = _render(root)
    if files is None:
        return 2
    problems = stale_files(root, files)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"render them again: {RENDER_COMMAND}", file=sys.stderr)
    return 1 if problems else 0


def main_render(root: Path) -> int:
    """Exit status of ``render``: write every generated file, print those that changed."""
    from shulian_common.deploy.render import write_files

    files = _render(root)
    if files is None:
        return 2
    for path in write_files(root, files):
        print(f"wrote {path}")
    print(f"{len(files)} files rendered")
    return 0


def _render(root: Path) -> dict[Path, str] | None:
    from shulian_common.deploy.network import NetworkError, load_network
    from shulian_common.deploy.render import render_all

    try:
        return render_all(load_network(root))
    except (NetworkError, OSError, ValueError) as exc:
        print(f"shulian deploy: {exc}", file=sys.stderr)
        return None


def cmd_render(args: argparse.Namespace) -> int:
    """``shulian deploy render [--check] [--root DIR]``."""
    root: Path = args.root.resolve()
    return main_check(root) if args.check else main_render(root)


def add_deploy_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``shulian deploy ...``."""
    deploy = sub.add_parser("deploy", help="render what ops apply (Kubernetes, compose, Kafka)")
    commands = deploy.add_subparsers(dest="deploy_command", required=True)
    render = commands.add_parser(
        "render",
        help="write the generated files of deploy/ and docker-compose.yml",
        description="Render the 22 node overlays, the Kubernetes base, the Strimzi backbone "
        "(Kafka, KafkaTopic, KafkaUser), docker-compose.yml with its topic step and databases, "
        "from deploy/network.toml, the reference data and the event catalogue.",
    )
    render.add_argument("--root", type=Path, default=Path("."), help="the repository root")
    render.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file is stale"
    )
    render.set_defaults(func=cmd_render)
