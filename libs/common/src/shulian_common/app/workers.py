"""``shulian serve`` with several worker processes on one port (``SHULIAN_WORKERS``).

One Python process serves HTTP on one core; a service whose requests are CPU-bound (searches,
lists, exports) uses a second core only through a second process. The parent binds the socket
once and starts the workers, which all accept on it (the kernel spreads the connections).

Only the first worker runs the background work: the outbox relay, the consumers, webhook
deliveries, retention. The others serve HTTP only (``http_only``). So nothing runs twice
whatever the backend: no two relays racing for the same rows on SQLite, no two consumers of a
group in one pod. A write in any worker appends to the outbox in its transaction, and reaches
the first worker's relay by ``NOTIFY`` on PostgreSQL (at once) or by its poll
(``SHULIAN_RELAY_POLL_INTERVAL``, 1 s) on SQLite. The first worker also starts alone, and the
others only once it is up, so that it alone migrates the database.

A worker that dies takes the whole group down (exit status 1), and the orchestrator restarts the
container: a half-running service, e.g. HTTP without its relay, is worse than a restart.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event
from types import FrameType
from typing import Any

from fastapi import FastAPI

from shulian_common.settings import Settings

logger = logging.getLogger(__name__)

START_TIMEOUT = 300.0  # seconds the first worker may take to migrate and start
STOP_TIMEOUT = 30.0  # seconds the workers get to finish their requests on shutdown
PARENT_CHECK_INTERVAL = 1.0  # seconds between a worker's checks that its parent still runs

AppFactory = Callable[[Settings], FastAPI]


def serve(create_app: AppFactory, settings: Settings) -> int:
    """Serve ``create_app(settings)`` on ``settings.host:port`` in ``settings.workers``
    processes; the exit status."""
    import uvicorn

    if settings.workers == 1:
        app = create_app(settings)
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
        return 0
    config = uvicorn.Config(app="", host=settings.host, port=settings.port, log_config=None)
    listener = config.bind_socket()
    return _supervise(create_app, settings, listener)


def _supervise(create_app: AppFactory, settings: Settings, listener: socket.socket) -> int:
    spawn = multiprocessing.get_context("spawn")
    workers: list[SpawnProcess] = []
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # SIGTERM: uvicorn finishes its requests, then the lifespan

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for index in range(settings.workers):
            started = spawn.Event()
            worker = spawn.Process(
                target=_run_worker,
                args=(
                    create_app,
                    _worker_settings(settings, index),
                    listener,
                    started,
                    os.getpid(),
                ),
                name=f"shulian-{settings.service}-worker-{index}",
            )
            worker.start()
            workers.append(worker)
            if index == 0 and not _wait_started(worker, started):
                stop(signal.SIGTERM, None)
                break
        while not stopping and all(worker.is_alive() for worker in workers):
            wait([worker.sentinel for worker in workers])
        failed = not stopping
        if failed:
            logger.error("a worker of %s exited; stopping the others", settings.service)
            stop(signal.SIGTERM, None)
        for worker in workers:
            worker.join(STOP_TIMEOUT)
            if worker.is_alive():
                worker.kill()
                worker.join()
        return 1 if failed else 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listener.close()


def _wait_started(worker: SpawnProcess, started: Event) -> bool:
    """Whether the first worker finished its start-up (it exits if it cannot)."""
    deadline = time.monotonic() + START_TIMEOUT
    while worker.is_alive() and time.monotonic() < deadline:
        if started.wait(0.2):
            return True
    return started.is_set()


def _worker_settings(settings: Settings, index: int) -> Settings:
    return settings.model_copy(update={"workers": 1, "http_only": index > 0})


def _run_worker(
    create_app: AppFactory,
    settings: Settings,
    listener: socket.socket,
    started: Event,
    parent: int,
) -> None:
    import uvicorn

    stop_with_parent(parent)  # the parent's pid as it gave it: it may be gone already
    app = create_app(settings)
    app.router.lifespan_context = _signalling(app.router.lifespan_context, started)
    config = uvicorn.Config(app, log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets=[listener])


def stop_with_parent(parent: int) -> None:
    """Stop this process (SIGTERM: a graceful shutdown) once ``parent`` is no longer its parent,
    even killed with SIGKILL: no orphan keeps serving the port or running the relay."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_INTERVAL)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def _signalling(
    lifespan: Callable[[Any], AbstractAsyncContextManager[Any]], started: Event
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    """``lifespan``, setting ``started`` once its start-up is done."""

    @asynccontextmanager
    async def signalled(app: Any) -> AsyncIterator[Any]:
        async with lifespan(app) as state:
            started.set()
            yield state

    return signalled
