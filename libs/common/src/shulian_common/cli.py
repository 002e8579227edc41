"""The ``shulian`` command: run the platform, one service, mint tokens, tail streams."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from shulian_common.deploy.cli import add_deploy_commands
from shulian_common.outbox_cli import add_outbox_commands
from shulian_common.settings import Settings

if TYPE_CHECKING:
    from shulian_common.service import ServiceDefinition

BASE_PORT = 8000
PORTS_PER_NODE = 10


@dataclass(frozen=True, slots=True)
class Planned:
    """One service process of one node, as ``shulian up`` starts it."""

    node: str
    service: str
    port: int

    @property
    def url(self) -> str:
        """Base URL of the process."""
        return f"http://127.0.0.1:{self.port}"


def plan(nodes: Sequence[str], services: Sequence[str], base_port: int) -> list[Planned]:
    """Ports for every (node, service): ``base + node_index * 10 + service offset``."""
    from shulian_common.service import installed_services

    defs = installed_services()
    return [
        Planned(node, name, base_port + i * PORTS_PER_NODE + defs[name].port_offset)
        for i, node in enumerate(nodes)
        for name in services
    ]


def _settings_for(node: str, service: str, data_dir: Path, **extra: object) -> Settings:
    return Settings(node_id=node, service=service, data_dir=data_dir, **extra)  # type: ignore[arg-type]


def _named_service(name: str) -> ServiceDefinition | None:
    """The installed service ``name`` (its entry point alone imported), or None after saying
    which are installed."""
    from shulian_common.service import installed_service, installed_service_names

    service = installed_service(name)
    if service is None:
        known = ", ".join(sorted(installed_service_names()))
        print(f"unknown service {name!r}; installed: {known}", file=sys.stderr)
    return service


def cmd_serve(args: argparse.Namespace) -> int:
    """Run one service in the foreground, as a container would (``SHULIAN_WORKERS`` processes)."""
    from shulian_common.app.workers import serve, stop_with_parent

    service = _named_service(args.service)
    if service is None:
        return 2
    if args.stop_with_parent is not None:
        stop_with_parent(args.stop_with_parent)
    settings = Settings(service=args.service)
    if args.port is not None:
        settings = settings.model_copy(update={"port": args.port})
    if args.workers is not None:
        if args.workers < 1:
            return _refuse("--workers must be at least 1")
        settings = settings.model_copy(update={"workers": args.workers})
    return serve(service.create_app, settings)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade one service's database to its latest migration, then exit (an init step)."""
    from shulian_common import db

    service = _named_service(args.service)
    if service is None:
        return 2
    settings = Settings(service=args.service)
    # The app knows its migrations (the factory's ``migrations``); building it starts nothing.
    migrations: Path | None = service.create_app(settings).state.migrations
    if migrations is None:
        print(f"{args.service}: no migrations")
        return 0

    async def upgrade() -> None:
        engine = db.create_engine(settings.resolved_database_url)
        try:
            await db.migrate(engine, migrations)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
    print(f"{args.service}: database at the latest migration")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Print a bearer token and nothing else."""
    from shulian_common.auth import Role, mint_token

    roles = [role.value for role in Role]
    if args.role not in roles:
        return _refuse(f"unknown role {args.role!r}; roles: {', '.join(roles)}")
    role = Role(args.role)
    for needs, option, given in (
        (Role.SUPPLIER, "--supplier-id", args.supplier_id),
        (Role.ENTERPRISE, "--enterprise-id", args.enterprise_id),
    ):
        if role is needs and not given:
            return _refuse(f"--role {role.value} needs {option} (the record it acts for)")
    try:
        token = mint_token(
            Settings(node_id=args.node),
            role=role,
            node=args.node,
            division=args.division or _default_division(role, args.node),
            sub=args.sub,
            supplier_id=args.supplier_id,
            enterprise_id=args.enterprise_id,
            ttl_seconds=args.ttl,
        )
    except ValueError as exc:  # a node, division or scope that does not fit the role
        return _refuse(_first_line(exc))
    print(token)
    return 0


def _refuse(message: str) -> int:
    """One line on stderr and the usage-error exit status."""
    print(f"shulian: error: {message}", file=sys.stderr)
    return 2


def _first_line(exc: ValueError) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in exc.errors())
    return str(exc).splitlines()[0]


def _default_division(role: object, node: str) -> str | None:
    from shulian_common.auth import Role

    operators = {Role.PROVINCE_ADMIN, Role.CITY_OPERATOR, Role.COUNTY_OPERATOR}
    return node if role in operators else None


async def _tail(settings: Settings, topic: str, from_beginning: bool, limit: int | None) -> int:
    from shulian_common.bus import bus_from_url
    from shulian_common.envelope import CloudEvent, EnvelopeError

    bus = bus_from_url(settings.resolved_bus_url, settings)
    # A throwaway group: tailing never moves anyone else's offsets.
    subscriber = bus.subscriber(topics=[topic], group_id=f"tail-{uuid.uuid4().hex[:12]}")
    seen = 0
    async with subscriber:
        if not from_beginning:
            await _skip_to_end(subscriber)
        while limit is None or seen < limit:
            wanted = 500 if limit is None else min(500, limit - seen)
            for record in await subscriber.poll(timeout=1.0, max_records=wanted):
                try:
                    event = CloudEvent.from_record(record.headers, record.value, record.key)
                    line = json.dumps(event.to_structured(), ensure_ascii=False)
                except EnvelopeError as exc:
                    line = json.dumps({"error": str(exc), "offset": record.offset})
                print(line, flush=True)
                seen += 1
    await bus.close()
    return 0


async def _skip_to_end(subscriber: object) -> None:
    from shulian_common.bus import Subscriber

    assert isinstance(subscriber, Subscriber)
    while await subscriber.poll(timeout=0.2):
        pass


def cmd_tail(args: argparse.Namespace) -> int:
    """Print a stream's events as structured CloudEvents JSON, one per line."""
    overrides = {"data_dir": args.data_dir, "bus_url": args.bus_url}
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    try:
        return asyncio.run(_tail(settings, args.topic, args.from_beginning, args.limit))
    except KeyboardInterrupt:
        return 0


def cmd_asyncapi(args: argparse.Namespace) -> int:
    """Print (or write) the AsyncAPI 3 document of the events one installed service publishes."""
    from shulian_common.contracts import published_contract
    from shulian_common.service import installed_services

    services = installed_services()
    if args.service not in services:
        print(
            f"shulian asyncapi: unknown service {args.service!r}; installed: {', '.join(services)}",
            file=sys.stderr,
        )
        return 2
    document = published_contract(args.service)
    if args.output is None:
        sys.stdout.write(document)
    else:
        args.output.write_text(document, encoding="utf-8")
    return 0


async def _seed(nodes: Sequence[str], services: Sequence[str], data_dir: Path) -> None:
    from shulian_common.service import installed_services

    defs = installed_services()
    for node in nodes:
        for name in services:
            seed = defs[name].seed_demo
            if seed is not None:
                count = await seed(_settings_for(node, name, data_dir))
                print(f"  demo data: {node} {name}: {count} records")


def _wait_healthy(
    planned: Sequence[Planned],
    procs: Sequence[subprocess.Popen[bytes]],
    data_dir: Path,
    timeout: float,
) -> bool:
    """Whether every process answers ``/healthz`` within ``timeout``; if not, say which did not
    (exited, with its exit code, or still starting) and show the end of its log."""
    deadline = time.monotonic() + timeout
    pending = dict(zip(planned, procs, strict=True))
    while pending and time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in pending.values()):
            break
        for item in list(pending):
            try:
                if httpx.get(f"{item.url}/healthz", timeout=0.5).status_code == 200:
                    del pending[item]
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    for item, proc in pending.items():
        code = proc.poll()
        state = f"exited with code {code}" if code is not None else f"not up after {timeout:.0f} s"
        log = data_dir / item.node / f"{item.service}.log"
        print(f"{item.node} {item.service} {state}; the end of {log}:", file=sys.stderr)
        lines = (
            log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
        )
        for line in lines[-15:]:
            print(f"  {line}", file=sys.stderr)
    return not pending


def _print_tokens(nodes: Sequence[str], planned: Sequence[Planned] = ()) -> None:
    from shulian_common.auth import Role, mint_token

    for node in nodes:
        role = Role.PROVINCE_ADMIN if node == "510000" else Role.CITY_OPERATOR
        settings = Settings(node_id=node)
        operator = mint_token(settings, role=role, node=node, division=node, sub=f"ops-{node}")
        partner = mint_token(settings, role=Role.PARTNER, node=node, sub=f"partner-{node}")
        print(f"  {node} {role.value}: {operator}")
        print(f"  {node} partner (read-only): {partner}")
        supplier_id = _a_supplier_of(planned, node, operator)
        if supplier_id is not None:
            supplier = mint_token(settings, role=Role.SUPPLIER, node=node, supplier_id=supplier_id)
            print(f"  {node} supplier {supplier_id} (listed): {supplier}")


def _a_supplier_of(planned: Sequence[Planned], node: str, operator_token: str) -> str | None:
    """The id of one listed supplier ``node`` owns, asked of its registry (None without one):
    a listed one, so its token can grab orders and register for activities at once."""
    for item in planned:
        if item.node == node and item.service == "registry":
            try:
                response = httpx.get(
                    f"{item.url}/v1/suppliers",
                    params={"node": node, "status": "listed", "limit": 1},
                    headers={"Authorization": f"Bearer {operator_token}"},
                    timeout=5,
                )
                items = response.json().get("items") if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                return None
            return str(items[0]["id"]) if items else None
    return None


def cmd_up(args: argparse.Namespace) -> int:
    """Start every installed service for each node on the embedded default; Ctrl-C stops all."""
    _stop_on_signals()
    try:
        return _up(args)
    except KeyboardInterrupt:  # before the services started (e.g. while seeding demo data)
        print("\nstopped")
        return 0


def _up(args: argparse.Namespace) -> int:
    from shulian_common.service import installed_services

    nodes = [n.strip() for n in args.nodes.split(",") if n.strip()]
    for node in nodes:
        Settings(node_id=node)  # validates the code before anything starts
    services = list(installed_services())
    if not services:
        print("no services installed", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    print(f"Shulian (蜀联) — nodes {', '.join(nodes)}; data in {data_dir}")
    if args.demo:
        # Each node seeds the demo records it owns among the nodes started together.
        os.environ["SHULIAN_DEMO_NODES"] = ",".join(nodes)
        asyncio.run(_seed(nodes, services, data_dir))
    planned = plan(nodes, services, args.base_port)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.extend(_spawn(item, data_dir) for item in planned)
        if not _wait_healthy(planned, procs, data_dir, args.start_timeout):
            print("a service failed to start; stopping", file=sys.stderr)
            return 1
        _print_ready(planned, nodes)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("a service exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…")
        return 0
    finally:
        # A terminal's Ctrl-C reaches every process of the group, and a wrapper such as
        # ``uv run`` forwards it once more: later signals must not cut the shutdown short.
        _ignore_signals()
        _stop_all(procs)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    # Ctrl-C and a supervisor's SIGTERM both stop the children cleanly, even when the launcher
    # was started from a shell that ignores SIGINT in background jobs.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def _ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _spawn(item: Planned, data_dir: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "PYTHONUNBUFFERED": "1",  # the log file follows the process, and survives a crash whole
        "SHULIAN_NODE_ID": item.node,
        "SHULIAN_SERVICE": item.service,
        "SHULIAN_DATA_DIR": str(data_dir),
        "SHULIAN_PORT": str(item.port),
    }
    (data_dir / item.node).mkdir(parents=True, exist_ok=True)
    log = (data_dir / item.node / f"{item.service}.log").open("ab")
    cmd = [sys.executable, "-m", "shulian_common.cli", "serve", item.service]
    cmd += ["--stop-with-parent", str(os.getpid())]  # no orphan if `up` itself is killed
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def _print_ready(planned: Sequence[Planned], nodes: Sequence[str]) -> None:
    print("\nReady:")
    for item in planned:
        print(f"  {item.node} {item.service:<10} {item.url}  (Swagger UI: {item.url}/docs)")
    print("\nDev tokens (Authorization: Bearer …):")
    _print_tokens(nodes, planned)
    print("\nLogs: <data-dir>/<node>/<service>.log — Ctrl-C stops everything.")


def _stop_all(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def build_parser(service_commands: bool = True) -> argparse.ArgumentParser:
    """The argument parser of ``shulian``; with ``service_commands``, also each installed
    service's own ``shulian <service> ...`` commands (which imports every service)."""
    parser = argparse.ArgumentParser(prog="shulian", description="Shulian (蜀联) platform")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run every service for each node (embedded default)")
    up.add_argument("--nodes", default="510000", help="comma-separated GB/T 2260 node codes")
    up.add_argument("--data-dir", default=os.environ.get("SHULIAN_DATA_DIR", "./var"))
    up.add_argument("--demo", action="store_true", help="seed deterministic demo data")
    up.add_argument("--base-port", type=int, default=BASE_PORT)
    up.add_argument(
        "--start-timeout",
        type=float,
        default=180.0,
        help="seconds every service may take to answer /healthz (start-up and migrations)",
    )
    up.set_defaults(func=cmd_up)

    serve = sub.add_parser("serve", help="run one service (SHULIAN_* settings)")
    serve.add_argument("service")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers", type=int, help="processes on the port (default SHULIAN_WORKERS, 1)"
    )
    serve.add_argument(
        "--stop-with-parent",
        type=int,
        metavar="PID",
        help="stop (gracefully) once process PID is no longer this one's parent, even killed "
        "(`shulian up` passes its own)",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser(
        "migrate",
        help="upgrade one service's database and exit (SHULIAN_* settings)",
        description="Upgrade the service's database (SHULIAN_DATABASE_URL) to its latest "
        "migration and exit: Kubernetes runs it as the init container of each pod. Replicas "
        "take turns under a PostgreSQL advisory lock; at the latest migration it changes "
        "nothing.",
    )
    migrate.add_argument("service")
    migrate.set_defaults(func=cmd_migrate)

    token = sub.add_parser(
        "token",
        help="print a dev bearer token",
        description="Print a signed bearer token for a principal, and nothing else.",
    )
    token.add_argument("--role", required=True, help=f"one of: {', '.join(_role_names())}")
    token.add_argument(
        "--node",
        default=os.environ.get("SHULIAN_NODE_ID", "510000"),
        help="GB/T 2260 code of the issuing node (default: SHULIAN_NODE_ID or 510000)",
    )
    token.add_argument("--division", help="scope code (defaults to the node for operators)")
    token.add_argument("--sub", help="subject (defaults to role@scope)")
    token.add_argument("--supplier-id", help="the supplier a supplier token acts for (required)")
    token.add_argument(
        "--enterprise-id", help="the enterprise an enterprise token acts for (required)"
    )
    token.add_argument("--ttl", type=int, help="lifetime in seconds (default: 8 hours)")
    token.set_defaults(func=cmd_token)

    tail = sub.add_parser(
        "tail",
        help="print a topic's events as they arrive",
        description=(
            "Print a topic's events as structured CloudEvents JSON, one per line, until Ctrl-C\n"
            "(or --limit). Reads the bus SHULIAN_BUS_URL names (or --bus-url); without one,\n"
            "the embedded local log at <data-dir>/bus.db that `shulian up` writes for every\n"
            "node. Tailing uses a throwaway consumer group: it moves no one's offsets."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keeps the bus URL on one line
        epilog=_tail_epilog(),
    )
    tail.add_argument("topic", help="topic to read, e.g. shulian.registry.suppliers.v1")
    tail.add_argument(
        "--from-beginning",
        action="store_true",
        help="print the events already on the topic first (default: only new ones)",
    )
    tail.add_argument("--limit", type=int, metavar="N", help="stop after N events")
    tail.add_argument(
        "--data-dir",
        help="the data directory whose bus.db to read (default: SHULIAN_DATA_DIR or ./var)",
    )
    tail.add_argument(
        "--bus-url",
        help="local://PATH or kafka://HOST:PORT[,HOST:PORT] (default: SHULIAN_BUS_URL)",
    )
    tail.set_defaults(func=cmd_tail)

    asyncapi = sub.add_parser(
        "asyncapi",
        help="print the AsyncAPI 3 document of the events one service publishes",
        description="Print the AsyncAPI 3 document of the events SERVICE publishes, as its "
        "committed contract services/SERVICE/asyncapi.json holds it (sorted, stable).",
    )
    asyncapi.add_argument("--service", required=True, help="an installed service, e.g. registry")
    asyncapi.add_argument(
        "--output", "-o", type=Path, help="write the document to this file instead of stdout"
    )
    asyncapi.set_defaults(func=cmd_asyncapi)

    add_outbox_commands(sub)
    add_deploy_commands(sub)
    if service_commands:
        _add_service_commands(sub)
    return parser


def _add_service_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``shulian <service> ...`` for each installed service that declares its own commands."""
    from shulian_common.service import installed_services

    for name, definition in installed_services().items():
        if definition.add_commands is None:
            continue
        if name in sub.choices:
            raise ValueError(f"service {name!r} would shadow the built-in command {name!r}")
        parser = sub.add_parser(name, help=f"commands of the {name} service")
        definition.add_commands(parser)


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    return {
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }


def _role_names() -> list[str]:
    from shulian_common.auth import Role

    return [role.value for role in Role]


def _tail_epilog() -> str:
    try:
        return f"With the current environment it reads: {Settings().resolved_bus_url}"
    except ValueError:  # a bad SHULIAN_* variable: `tail` itself will say which
        return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``shulian`` command."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(service_commands=False)
    # A built-in command (``serve``, ``token``, ...) need not import every service: ``serve``
    # then imports only the one it runs. Anything else (a service's command, help, a typo)
    # parses with every service's commands, so help and errors list them all.
    from shulian_common.service import installed_service_names

    built_in = _subcommands(parser)
    shadowing = installed_service_names() & built_in
    if shadowing:
        raise ValueError(f"service {min(shadowing)!r} would shadow the built-in command")
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command not in built_in:
        parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
