"""A partner's webhook receiver: verifies Standard Webhooks signatures, dedupes by ``webhook-id``.

Deliveries are retried until a 2xx comes back, so the same message can arrive more than once; the
``webhook-id`` is the same on every attempt, and the receiver keeps the ids it has handled. During
a secret rotation Shulian signs with both secrets, so a receiver holding either verifies.

    SHULIAN_WEBHOOK_SECRET=whsec_... python examples/partner/receiver.py 8080
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# What to answer a verified message (its webhook-id, and how many times it came): 2xx handles it.
Responder = Callable[[str, int], int]


def always_ok(_msg_id: str, _attempt: int) -> int:
    """Handle everything."""
    return 204


@dataclass
class Receiver:
    """Verifies, dedupes and keeps the events it was sent."""

    secrets: Sequence[str]
    respond: Responder = always_ok
    hang: bool = False  # never answer (to show a dead endpoint holds up no one else)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # by webhook-id, handled
    arrivals: dict[str, list[float]] = field(default_factory=dict)  # monotonic times per id
    rejected: int = 0

    def verify(self, body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
        """The payload if any of our secrets verifies the signature; ``None`` otherwise."""
        for secret in self.secrets:
            try:
                payload: dict[str, Any] = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return payload
        return None

    async def handle(self, request: Request) -> Response:
        """The webhook endpoint."""
        if self.hang:
            await asyncio.Event().wait()
        body = await request.body()
        payload = self.verify(body, dict(request.headers))
        if payload is None:
            self.rejected += 1
            return Response(status_code=401)
        msg_id = request.headers["webhook-id"]
        times = self.arrivals.setdefault(msg_id, [])
        times.append(time.monotonic())
        status = self.respond(msg_id, len(times))
        if 200 <= status < 300:
            self.events.setdefault(msg_id, payload)  # dedupe: a repeat is acknowledged, once
        return Response(status_code=status)

    def app(self, path: str = "/webhooks") -> Starlette:
        """An ASGI app serving the endpoint at ``path``."""
        return Starlette(routes=[Route(path, self.handle, methods=["POST"])])


async def serve(app: Any, host: str = "127.0.0.1", port: int = 0, **options: Any) -> uvicorn.Server:
    """Start an ASGI app (``Receiver.app()``) on a real HTTP server on ``host``; ``bound_port``
    tells the port it got (``options``: more ``uvicorn.Config``, e.g. ``ssl_certfile``)."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="off", **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    server.task = task  # type: ignore[attr-defined]
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server


def bound_port(server: uvicorn.Server) -> int:
    """The port a started server listens on."""
    return int(server.servers[0].sockets[0].getsockname()[1])


async def stop(server: uvicorn.Server) -> None:
    """Stop a server started by ``serve`` (hanging requests are cut)."""
    server.should_exit = True
    server.force_exit = True
    task: asyncio.Task[None] = server.task  # type: ignore[attr-defined]
    try:
        await asyncio.wait_for(task, timeout=5)
    except TimeoutError:
        task.cancel()


@asynccontextmanager
async def serving(receiver: Receiver, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """``receiver`` served on ``host`` while the block runs; yields its webhook URL."""
    server = await serve(receiver.app(), host=host)
    try:
        yield f"http://{host}:{bound_port(server)}/webhooks"
    finally:
        await stop(server)


def main(port: int) -> None:
    """Serve on ``port``, printing each verified event once."""
    receiver = Receiver([os.environ["SHULIAN_WEBHOOK_SECRET"]])

    def respond(msg_id: str, attempt: int) -> int:
        if attempt == 1:
            print(json.dumps({"webhook-id": msg_id}, ensure_ascii=False))  # noqa: T201
        return 204

    receiver.respond = respond
    uvicorn.run(receiver.app(), host="127.0.0.1", port=port)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8080)
