"""Principals and their bearer tokens (JWT, HS256): who calls, from which node, over which scope.

A token carries the role, the node that issued it and the division the principal may write
(``div``): the province for a province admin, a city for a city operator, a county for a county
operator. Suppliers, enterprises, talents and partners may carry no division; what they may
touch is the record they own (``sid``/``eid``), which each service checks.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from enum import StrEnum
from typing import Any, Self

import jwt
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from shulian_common.errors.base import UnauthorizedError
from shulian_common.reference import (
    PROVINCE_CODE,
    DivisionLevel,
    UnknownDivisionError,
    get_division,
    in_scope,
    is_division,
)
from shulian_common.settings import Settings

ALGORITHM = "HS256"
BEARER_SCHEME = "bearerAuth"  # the OpenAPI security scheme name
# Nodes' clocks drift a little; a token is not refused for a few seconds of skew.
CLOCK_SKEW_SECONDS = 30


class Role(StrEnum):
    """What a principal is."""

    PROVINCE_ADMIN = "province_admin"
    CITY_OPERATOR = "city_operator"
    COUNTY_OPERATOR = "county_operator"
    SUPPLIER = "supplier"
    ENTERPRISE = "enterprise"
    TALENT = "talent"
    PARTNER = "partner"


OPERATOR_ROLES = frozenset({Role.PROVINCE_ADMIN, Role.CITY_OPERATOR, Role.COUNTY_OPERATOR})
# Partner platforms subscribe and read; they never change anything.
READ_ONLY_ROLES = frozenset({Role.PARTNER})
_OPERATOR_LEVEL = {
    Role.PROVINCE_ADMIN: DivisionLevel.PROVINCE,
    Role.CITY_OPERATOR: DivisionLevel.CITY,
    Role.COUNTY_OPERATOR: DivisionLevel.COUNTY,
}


class Principal(BaseModel):
    """The authenticated caller."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sub: str
    role: Role
    node: str
    division: str | None = None
    supplier_id: str | None = None
    enterprise_id: str | None = None

    @model_validator(mode="after")
    def _scope_matches_role(self) -> Self:
        if not is_division(self.node):
            raise ValueError(f"node {self.node} is not a known division")
        if self.division is not None and not is_division(self.division):
            raise ValueError(f"division {self.division} is not a known division")
        level = _OPERATOR_LEVEL.get(self.role)
        if level is None:
            return self
        if self.division is None or get_division(self.division).level is not level:
            raise ValueError(f"a {self.role} needs a {level} division, got {self.division}")
        # A node only vouches for operators within its own jurisdiction.
        if not in_scope(self.node, self.division):
            raise ValueError(f"node {self.node} cannot issue a {self.role} for {self.division}")
        return self

    @property
    def is_operator(self) -> bool:
        """Whether this is a government operator (province, city or county)."""
        return self.role in OPERATOR_ROLES

    @property
    def is_read_only(self) -> bool:
        """Whether this principal may only read (partners)."""
        return self.role in READ_ONLY_ROLES

    def can_write_division(self, code: str) -> bool:
        """Whether this operator may write records of division ``code`` (unknown codes: no)."""
        if not self.is_operator or self.division is None:
            return False
        try:
            return in_scope(self.division, code)
        except UnknownDivisionError:
            return False


def mint_token(
    settings: Settings,
    *,
    role: Role | str,
    node: str,
    division: str | None = None,
    sub: str | None = None,
    supplier_id: str | None = None,
    enterprise_id: str | None = None,
    ttl_seconds: int | None = None,
    audience: str | None = None,
) -> str:
    """A signed token for a principal; a province admin's division defaults to the province.

    With an ``audience`` the token is good only where that audience is asked for (e.g. the key
    of a calendar subscription link), never as a bearer token on the API.

    Raises ``ValueError`` when the role, node and division do not fit together.
    """
    role = Role(role)
    if role is Role.PROVINCE_ADMIN and division is None:
        division = PROVINCE_CODE
    principal = Principal(
        sub=sub or f"{role}@{division or node}",
        role=role,
        node=node,
        division=division,
        supplier_id=supplier_id,
        enterprise_id=enterprise_id,
    )
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "sub": principal.sub,
        "iat": now,
        "exp": now + (ttl_seconds if ttl_seconds is not None else settings.jwt_ttl_seconds),
        **_scope_claims(principal),
    }
    if audience is not None:
        claims["aud"] = audience
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)


def mint_link_key(
    settings: Settings, principal: Principal, *, audience: str, ttl_seconds: int
) -> str:
    """The key of a link ``principal`` hands to an app that cannot send a header (a calendar
    subscription): the principal's own scope, good only for ``audience``."""
    return mint_token(
        settings,
        role=principal.role,
        node=principal.node,
        division=principal.division,
        sub=principal.sub,
        supplier_id=principal.supplier_id,
        enterprise_id=principal.enterprise_id,
        ttl_seconds=ttl_seconds,
        audience=audience,
    )


def _scope_claims(principal: Principal) -> dict[str, Any]:
    claims = {
        "role": str(principal.role),
        "node": principal.node,
        "div": principal.division,
        "sid": principal.supplier_id,
        "eid": principal.enterprise_id,
    }
    return {name: value for name, value in claims.items() if value is not None}


class _DecodedTokens:
    """Tokens already verified, with their principal, until they expire: a client sends the
    same token with every request, and checking its signature and scope again each time cost
    more than the rest of a cached search.

    Bounded (least recently used go first) and keyed by the secret and issuer too, so a process
    serving several services, or a test changing the secret, never mixes them up. Only valid
    tokens are kept: a flood of bad ones cannot push good ones out, and each bad one is refused
    by the full check, with its own reason.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str, str, str], tuple[Principal, float]] = (
            OrderedDict()
        )

    def get(self, key: tuple[str, str, str, str], now: float) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        principal, expires = entry
        if now >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return principal

    def put(self, key: tuple[str, str, str, str], principal: Principal, expires: float) -> None:
        self._entries[key] = (principal, expires)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


DECODED_TOKENS_CACHED = 4096
_decoded = _DecodedTokens(DECODED_TOKENS_CACHED)


def decode_token(settings: Settings, token: str, audience: str | None = None) -> Principal:
    """The principal a token names; ``UnauthorizedError`` (``invalid_token`` or
    ``token_expired``) unless it is signed by us, current and consistent, and made for
    ``audience`` (a bearer token has none: a token minted for an audience is refused here).

    A valid token is remembered until it expires (``exp`` plus the clock skew allowed, as the
    full check would), so the next request with it skips the signature and scope checks."""
    key = (settings.jwt_secret.get_secret_value(), settings.jwt_issuer, audience or "", token)
    now = time.time()
    cached = _decoded.get(key, now)
    if cached is not None:
        return cached
    claims = _verified_claims(settings, token, audience)
    principal = _principal_from(claims)
    _decoded.put(key, principal, float(claims["exp"]) + CLOCK_SKEW_SECONDS)
    return principal


def _verified_claims(settings: Settings, token: str, audience: str | None) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            issuer=settings.jwt_issuer,
            audience=audience,  # None: a token naming any audience is invalid
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["iss", "sub", "iat", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise UnauthorizedError("令牌已过期，请重新登录", code="token_expired") from None
    except jwt.InvalidTokenError:
        raise UnauthorizedError("令牌无效", code="invalid_token") from None
    return claims


def _principal_from(claims: dict[str, Any]) -> Principal:
    try:
        return Principal(
            sub=claims["sub"],
            role=claims["role"],
            node=claims["node"],
            division=claims.get("div"),
            supplier_id=claims.get("sid"),
            enterprise_id=claims.get("eid"),
        )
    except (KeyError, ValidationError):
        raise UnauthorizedError("令牌中的角色或辖区无效", code="invalid_token") from None
