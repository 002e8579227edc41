"""A pinned webhook request over real TLS: the connection goes to the checked address while the
TLS server name and the certificate check keep the URL's host name (a receiver on loopback with a
certificate for ``partner.example.cn``, made with the openssl command line, which every machine
the project runs on has: without it the test fails rather than skips)."""

from __future__ import annotations

import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from partner.receiver import Receiver, bound_port, serve, stop

from shulian_common.settings import Settings
from shulian_common.webhooks.dispatcher import webhook_client
from shulian_common.webhooks.signing import new_secret, signature_headers
from shulian_common.webhooks.targets import PIN_EXTENSION

HOST = "partner.example.cn"


def _certificate(directory: Path) -> tuple[Path, Path]:
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={HOST}",
            "-addext", f"subjectAltName=DNS:{HOST}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return key, cert


async def test_a_pinned_request_verifies_the_certificate_of_the_host_name(tmp_path: Path) -> None:
    key, cert = _certificate(tmp_path)
    secret = new_secret()
    receiver = Receiver(secrets=[secret])
    server = await serve(receiver.app(), ssl_keyfile=str(key), ssl_certfile=str(cert))
    trusted = ssl.create_default_context(cafile=str(cert))
    body = b'{"id":"e1"}'
    headers = signature_headers([secret], msg_id="msg_tls", timestamp=int(time.time()), body=body)
    settings = Settings(env="test")
    try:
        port = bound_port(server)
        async with webhook_client(
            settings, lambda: httpx.AsyncHTTPTransport(verify=trusted)
        ) as client:
            pinned = await client.post(
                f"https://{HOST}:{port}/webhooks",
                content=body,
                headers=headers,
                extensions={PIN_EXTENSION: "127.0.0.1"},
            )
            with pytest.raises(httpx.ConnectError):  # the same address under another name
                await client.post(
                    f"https://other.example.cn:{port}/webhooks",
                    content=body,
                    headers=headers,
                    extensions={PIN_EXTENSION: "127.0.0.1"},
                )
    finally:
        await stop(server)

    assert pinned.status_code == 204
    assert list(receiver.events) == ["msg_tls"]
