"""Tokens: what they carry, what makes them invalid, and what each operator may write."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from pydantic import SecretStr

from shulian_common.auth import Principal, Role, decode_token, mint_link_key, mint_token
from shulian_common.errors import UnauthorizedError
from shulian_common.settings import Settings

CHENGDU, JINJIANG, QINGYANG = "510100", "510104", "510105"
ZIGONG, ZILIUJING = "510300", "510302"


@pytest.fixture
def settings() -> Settings:
    return Settings(env="test", node_id="510000", jwt_secret=SecretStr("s" * 40))


def _raw(settings: Settings, token: str) -> dict[str, Any]:
    return jwt.decode(
        token, settings.jwt_secret.get_secret_value(), algorithms=["HS256"], issuer="shulian"
    )


def _forge(settings: Settings, secret: str | None = None, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "sub": "op-1",
        "iat": now,
        "exp": now + 600,
        "role": "city_operator",
        "node": CHENGDU,
        "div": CHENGDU,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, secret or settings.jwt_secret.get_secret_value(), algorithm="HS256")


def test_minted_token_carries_the_documented_claims(settings: Settings) -> None:
    token = mint_token(
        settings,
        role=Role.SUPPLIER,
        node=CHENGDU,
        sub="user-7",
        supplier_id="SUP-1",
        enterprise_id="ENT-2",
        ttl_seconds=120,
    )
    claims = _raw(settings, token)
    assert claims["exp"] - claims["iat"] == 120
    assert {k: claims[k] for k in ("iss", "sub", "role", "node", "sid", "eid")} == {
        "iss": "shulian",
        "sub": "user-7",
        "role": "supplier",
        "node": CHENGDU,
        "sid": "SUP-1",
        "eid": "ENT-2",
    }
    assert "div" not in claims


@pytest.mark.parametrize(
    ("role", "node", "division"),
    [
        (Role.PROVINCE_ADMIN, "510000", "510000"),
        (Role.CITY_OPERATOR, CHENGDU, CHENGDU),
        (Role.CITY_OPERATOR, "510000", ZIGONG),
        (Role.COUNTY_OPERATOR, CHENGDU, JINJIANG),
        (Role.ENTERPRISE, ZIGONG, None),
        (Role.TALENT, CHENGDU, None),
        (Role.PARTNER, "510000", None),
    ],
)
def test_decode_returns_the_minted_principal(
    settings: Settings, role: Role, node: str, division: str | None
) -> None:
    token = mint_token(settings, role=role, node=node, division=division, sub="x")
    assert decode_token(settings, token) == Principal(
        sub="x", role=role, node=node, division=division
    )


def test_province_admin_defaults_to_the_province_and_ttl_to_settings(settings: Settings) -> None:
    token = mint_token(settings, role="province_admin", node="510000")
    claims = _raw(settings, token)
    assert claims["div"] == "510000"
    assert claims["sub"] == "province_admin@510000"
    assert claims["exp"] - claims["iat"] == settings.jwt_ttl_seconds


def _reason(settings: Settings, token: str) -> UnauthorizedError:
    with pytest.raises(UnauthorizedError) as caught:
        decode_token(settings, token)
    assert caught.value.status == 401
    return caught.value


def test_expired_token_is_refused_as_expired(settings: Settings) -> None:
    past = int(time.time()) - 3600
    error = _reason(settings, _forge(settings, iat=past, exp=past + 60))
    assert error.code == "token_expired"
    assert 'error="invalid_token"' in error.headers["WWW-Authenticate"]


def test_small_clock_skew_is_tolerated(settings: Settings) -> None:
    now = int(time.time())
    assert decode_token(settings, _forge(settings, iat=now - 600, exp=now - 5)).role is (
        Role.CITY_OPERATOR
    )


@pytest.mark.parametrize(
    "token_of",
    [
        pytest.param(lambda s: _forge(s, secret="another-secret-" * 3), id="wrong-secret"),
        pytest.param(lambda s: _forge(s, iss="someone-else"), id="wrong-issuer"),
        pytest.param(lambda s: _forge(s, exp=None), id="no-expiry"),
        pytest.param(lambda s: "not.a.jwt", id="garbage"),
        pytest.param(
            lambda s: jwt.encode({"sub": "x", "role": "province_admin"}, None, algorithm="none"),
            id="alg-none",
        ),
        pytest.param(lambda s: _forge(s, role="superuser"), id="unknown-role"),
        pytest.param(lambda s: _forge(s, div=JINJIANG), id="city-operator-with-county"),
        pytest.param(
            lambda s: _forge(s, role="county_operator", div=CHENGDU), id="county-operator-with-city"
        ),
        pytest.param(lambda s: _forge(s, div="519999"), id="unknown-division"),
        pytest.param(lambda s: _forge(s, node="999999"), id="unknown-node"),
        pytest.param(lambda s: _forge(s, node=ZIGONG), id="node-outside-its-scope"),
        pytest.param(lambda s: _forge(s, role="province_admin", div=None), id="admin-no-div"),
    ],
)
def test_invalid_tokens_are_refused(settings: Settings, token_of: Any) -> None:
    assert _reason(settings, token_of(settings)).code == "invalid_token"


@pytest.mark.parametrize(
    ("role", "node", "division"),
    [
        (Role.CITY_OPERATOR, CHENGDU, None),
        (Role.CITY_OPERATOR, CHENGDU, JINJIANG),
        (Role.COUNTY_OPERATOR, CHENGDU, CHENGDU),
        (Role.PROVINCE_ADMIN, "510000", CHENGDU),
        (Role.CITY_OPERATOR, ZIGONG, CHENGDU),
        (Role.SUPPLIER, CHENGDU, "123456"),
    ],
)
def test_mint_refuses_a_scope_that_does_not_fit_the_role(
    settings: Settings, role: Role, node: str, division: str | None
) -> None:
    with pytest.raises(ValueError, match=r"division|node"):
        mint_token(settings, role=role, node=node, division=division)


PROVINCE = Principal(sub="p", role=Role.PROVINCE_ADMIN, node="510000", division="510000")
CITY = Principal(sub="c", role=Role.CITY_OPERATOR, node=CHENGDU, division=CHENGDU)
COUNTY = Principal(sub="k", role=Role.COUNTY_OPERATOR, node=CHENGDU, division=JINJIANG)


@pytest.mark.parametrize(
    ("principal", "code", "allowed"),
    [
        (PROVINCE, "510000", True),
        (PROVINCE, CHENGDU, True),
        (PROVINCE, ZILIUJING, True),
        (CITY, "510000", False),
        (CITY, CHENGDU, True),
        (CITY, JINJIANG, True),
        (CITY, ZIGONG, False),
        (CITY, ZILIUJING, False),
        (COUNTY, CHENGDU, False),
        (COUNTY, JINJIANG, True),
        (COUNTY, QINGYANG, False),
        (COUNTY, ZILIUJING, False),
        (PROVINCE, "519999", False),
    ],
)
def test_can_write_division(principal: Principal, code: str, allowed: bool) -> None:
    assert principal.can_write_division(code) is allowed


@pytest.mark.parametrize("role", [Role.SUPPLIER, Role.ENTERPRISE, Role.TALENT, Role.PARTNER])
def test_non_operators_write_no_division(role: Role) -> None:
    principal = Principal(sub="x", role=role, node=CHENGDU, division=CHENGDU)
    assert not principal.is_operator
    assert not principal.can_write_division(CHENGDU)


def test_operator_and_read_only_flags() -> None:
    assert all(p.is_operator for p in (PROVINCE, CITY, COUNTY))
    assert Principal(sub="x", role=Role.PARTNER, node=CHENGDU).is_read_only
    assert not CITY.is_read_only


# --- decoded tokens are remembered until they expire ---------------------------------------------


def test_a_token_decoded_once_is_not_verified_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _forge(settings)
    first = decode_token(settings, token)
    verified: list[str] = []
    real = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: verified.append("x") or real(*a, **k))
    assert decode_token(settings, token) == first
    assert verified == []
    decode_token(settings, _forge(settings, sub="op-2"))  # another token is checked in full
    assert verified == ["x"]


def test_a_remembered_token_is_checked_in_full_once_it_expires(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = int(time.time())
    token = _forge(settings, iat=now, exp=now + 60)
    assert decode_token(settings, token).sub == "op-1"
    verified: list[dict[str, Any]] = []

    def decode_at_a_later_time(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        verified.append(_kwargs)
        raise jwt.ExpiredSignatureError("expired")

    monkeypatch.setattr(jwt, "decode", decode_at_a_later_time)
    monkeypatch.setattr(time, "time", lambda: float(now + 60 + 29))  # within the skew
    assert decode_token(settings, token).sub == "op-1"
    assert verified == []
    monkeypatch.setattr(time, "time", lambda: float(now + 60 + 30))  # past exp and the skew
    assert _reason(settings, token).code == "token_expired"
    assert len(verified) == 1


def test_a_remembered_token_is_refused_under_another_secret(settings: Settings) -> None:
    token = _forge(settings)
    decode_token(settings, token)
    rotated = settings.model_copy(update={"jwt_secret": SecretStr("r" * 40)})
    assert _reason(rotated, token).code == "invalid_token"


def test_refused_tokens_are_not_remembered(settings: Settings) -> None:
    token = _forge(settings, secret="another-secret-" * 3)
    for _ in range(2):  # refused each time by the full check, with its reason
        assert _reason(settings, token).code == "invalid_token"


def test_a_link_key_is_good_only_for_its_audience(settings: Settings) -> None:
    principal = decode_token(
        settings, mint_token(settings, role=Role.CITY_OPERATOR, node="511500", division="511500")
    )
    key = mint_link_key(settings, principal, audience="shulian:calendar", ttl_seconds=3600)

    # Decoded for its audience first (and so remembered), it is still no bearer token.
    assert decode_token(settings, key, "shulian:calendar") == principal
    with pytest.raises(UnauthorizedError) as refused:
        decode_token(settings, key)
    assert refused.value.code == "invalid_token"
    with pytest.raises(UnauthorizedError):
        decode_token(settings, key, "shulian:other")
    # Nor is a bearer token a key.
    bearer = mint_token(settings, role=Role.CITY_OPERATOR, node="511500", division="511500")
    assert decode_token(settings, bearer) == principal
    with pytest.raises(UnauthorizedError) as refused:
        decode_token(settings, bearer, "shulian:calendar")
    assert refused.value.code == "invalid_token"
