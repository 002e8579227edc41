"""Webhook rules without I/O: Standard Webhooks signatures, allowed targets, filters, back-off."""

from __future__ import annotations

import ipaddress
import itertools
import random
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from shulian_common.settings import Settings
from shulian_common.webhooks import targets
from shulian_common.webhooks.dispatcher import matches, retry_delay, webhook_client
from shulian_common.webhooks.signing import new_secret, signature_headers
from shulian_common.webhooks.targets import (
    PIN_EXTENSION,
    TargetRefusedError,
    check_url,
    resolve_and_check,
)


def _signed(secrets: list[str], body: bytes = b'{"id":"e1"}') -> dict[str, str]:
    now = int(datetime.now(UTC).timestamp())
    return signature_headers(secrets, msg_id="msg_1", timestamp=now, body=body)


def test_the_standardwebhooks_package_verifies_our_signature() -> None:
    secret = new_secret()

    assert Webhook(secret).verify(b'{"id":"e1"}', _signed([secret])) == {"id": "e1"}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(b'{"id":"e1"}', _signed([secret]))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"id":"e2"}', _signed([secret]))


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    headers = _signed([new, old])

    assert headers["webhook-signature"].count("v1,") == 2
    assert Webhook(old).verify(b'{"id":"e1"}', headers) == {"id": "e1"}
    assert Webhook(new).verify(b'{"id":"e1"}', headers) == {"id": "e1"}


@pytest.mark.parametrize(
    ("url", "allow_local"),
    [
        ("http://partner.example.cn/h", False),  # http outside dev/test
        ("https://127.0.0.1/h", False),  # loopback outside dev/test
        ("https://10.0.0.8/h", True),
        ("https://192.168.1.1/h", True),
        ("https://[fd00::1]/h", True),
        ("https://[::ffff:10.0.0.1]/h", True),
        ("https://169.254.169.254/h", True),
        ("https://0.0.0.0/h", True),
        ("ftp://partner.example.cn/h", True),
        ("https:///no-host", True),
    ],
)
def test_targets_outside_the_public_internet_are_refused(url: str, allow_local: bool) -> None:
    with pytest.raises(TargetRefusedError):
        check_url(url, allow_local=allow_local)


def test_public_https_and_dev_loopback_are_allowed() -> None:
    check_url("https://partner.example.cn/h", allow_local=False)
    check_url("https://8.8.8.8/h", allow_local=False)
    check_url("http://127.0.0.1:8080/h", allow_local=True)


async def test_a_name_resolving_to_loopback_is_refused_at_delivery_in_production() -> None:
    with pytest.raises(TargetRefusedError):
        await resolve_and_check("https://localhost/h", allow_local=False)
    await resolve_and_check("http://localhost/h", allow_local=True)


SUB = {"types": None, "cities": ["510100"], "industries": ["制造业"]}


@pytest.mark.parametrize(
    ("data", "wanted"),
    [
        ({"county_code": "510104", "industries": ["制造业", "软件"]}, True),
        ({"city_code": "510100", "industry": "制造业"}, True),
        ({"city_code": "510700", "industries": ["制造业"]}, False),  # another city
        ({"county_code": "510104", "industries": ["软件"]}, False),  # another industry
        ({"industries": ["制造业"]}, False),  # no division
    ],
)
def test_a_subscription_keeps_its_cities_and_industries(
    data: dict[str, object], wanted: bool
) -> None:
    assert matches(SUB, "cn.sichuan.shulian.registry.supplier.updated.v1", data) is wanted


def test_a_subscription_keeps_its_types() -> None:
    sub = {
        "types": ["cn.sichuan.shulian.registry.park.created.v1"],
        "cities": None,
        "industries": None,
    }

    assert matches(sub, "cn.sichuan.shulian.registry.park.created.v1", {})
    assert not matches(sub, "cn.sichuan.shulian.registry.park.updated.v1", {})


def test_the_default_back_off_grows_exponentially_for_about_a_day() -> None:
    settings = Settings(env="test")
    rng = random.Random(7)
    delays = [retry_delay(n, settings, rng) for n in range(1, settings.webhook_max_attempts)]

    assert all(b > a * 2 for a, b in itertools.pairwise(delays))
    assert 8 <= delays[0] <= 12  # 10 s ± 20 %
    assert 20 * 3600 <= sum(delays) <= 34 * 3600


PUBLIC = ipaddress.ip_address("93.184.216.34")


def _resolving_to(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """Make ``targets.resolve`` answer each call with the next address; the hosts asked."""
    asked: list[str] = []
    queue = [ipaddress.ip_address(a) for a in answers]

    async def resolve(host: str, _port: int) -> list[targets.IPAddress]:
        asked.append(host)
        return [queue.pop(0) if len(queue) > 1 else queue[0]]

    monkeypatch.setattr(targets, "resolve", resolve)
    return asked


async def test_a_name_resolving_to_loopback_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving_to(monkeypatch, "127.0.0.1")

    with pytest.raises(TargetRefusedError, match="loopback"):
        await resolve_and_check("https://partner.example.cn/h", allow_local=False)


async def test_a_public_resolution_is_the_address_to_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _resolving_to(monkeypatch, str(PUBLIC))

    assert await resolve_and_check("https://partner.example.cn/h", allow_local=False) == PUBLIC
    assert asked == ["partner.example.cn"]


async def test_a_pinned_request_connects_to_the_checked_address_under_its_host_name() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    settings = Settings(env="test")
    async with webhook_client(settings, lambda: httpx.MockTransport(handle)) as client:
        pinned = await client.post(
            "https://partner.example.cn/hooks?x=1",
            content=b"{}",
            extensions={PIN_EXTENSION: str(PUBLIC)},
        )
        with pytest.raises(httpx.ConnectError):
            await client.post("https://partner.example.cn/hooks", content=b"{}")

    assert pinned.status_code == 204
    [request] = seen  # the unpinned request was never sent
    assert (request.url.host, request.url.path, request.url.query) == (
        str(PUBLIC),
        "/hooks",
        b"x=1",
    )
    assert request.headers["host"] == "partner.example.cn"
    assert request.extensions["sni_hostname"] == "partner.example.cn"  # TLS name and cert check
