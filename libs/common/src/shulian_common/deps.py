"""FastAPI dependencies shared by every service, with typed ``Annotated`` aliases.

Routes declare what they need by type: ``principal: PrincipalDep``, ``writer: WriterDep``,
``session: SessionDep`` (read-only), ``connection: ConnectionDep`` (read-only, Core: the list
routes' lean path), ``uow_factory: UowFactoryDep`` (writes go through a handler's unit of work,
never through the request's session).

Every dependency here is ``async`` (FastAPI runs a plain ``def`` one in a worker thread) and
reads the app's settings and runtime from the request itself rather than through another
dependency: FastAPI solves each sub-dependency per request, even a cached one, and on a list
route the dependency tree cost more than its query (issue 13).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shulian_common.app.runtime import ServiceRuntime, runtime_of
from shulian_common.auth import BEARER_SCHEME, Principal, Role, decode_token
from shulian_common.db import ReadConnection
from shulian_common.errors import ForbiddenError, UnauthorizedError
from shulian_common.settings import Settings
from shulian_common.uow import UnitOfWorkFactory

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerToken(SecurityBase):
    """The bearer token of the ``Authorization`` header, or ``None``: FastAPI's ``HTTPBearer``
    with ``auto_error=False`` without its per-request ``HTTPAuthorizationCredentials`` model.

    A ``SecurityBase`` with ``HTTPBearer``'s OpenAPI model and scheme name, so the document
    declares the same security scheme, and each route using it the same requirement. The header
    is read as ``HTTPBearer`` reads it: the first ``Authorization`` header, its scheme the text
    before the first space (``bearer`` in any case), the token the rest, stripped; anything else
    (no header, no token, another scheme) is ``None``.
    """

    def __init__(self, *, scheme_name: str, bearer_format: str, description: str) -> None:
        self.model = HTTPBearerModel(bearerFormat=bearer_format, description=description)
        self.scheme_name = scheme_name

    async def __call__(self, request: Request) -> str | None:
        headers: list[tuple[bytes, bytes]] = request.scope["headers"]
        for name, value in headers:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                token = token.strip()
                if scheme.lower() != "bearer" or not token:
                    return None
                return token
        return None


_bearer = BearerToken(
    scheme_name=BEARER_SCHEME,
    bearer_format="JWT",
    description="A JWT carrying role and node scope (`shulian token` mints one for dev).",
)


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_runtime(request: Request) -> ServiceRuntime:
    """The running service's runtime (503 before the lifespan has started it)."""
    return runtime_of(request.app)


SettingsDep = Annotated[Settings, Depends(get_settings)]
RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]


async def get_uow_factory(request: Request) -> UnitOfWorkFactory:
    """The factory of units of work, for handlers that write."""
    return runtime_of(request.app).uow_factory


def _refuse_writes(*_: Any) -> None:
    raise RuntimeError("the request session is read-only: write through a unit of work")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only session for this request: a flush raises, and it is closed, never committed
    (on PostgreSQL it runs outside a transaction: one round trip per query, see ``db``)."""
    runtime = runtime_of(request.app)
    sessions = runtime.read_session_factory or runtime.session_factory
    async with sessions() as session:
        event.listen(session.sync_session, "before_flush", _refuse_writes)
        yield session


async def get_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A read-only Core connection for this request (``db.create_read_engine``: DML refused,
    on PostgreSQL no transaction), closed after the response.

    For reads rendered straight from rows: a statement on it skips the ORM session's result
    machinery (its compile state, identity map, object per row), about a fifth of a list
    route's CPU on the ORM path, and on PostgreSQL a ``SELECT`` runs on asyncpg itself
    (``db.ReadConnection``, on a connection of the runtime's read pool). An ORM entity
    ``select(Model)`` run on it yields rows of the table's columns, not objects.
    """
    runtime = runtime_of(request.app)
    engine = runtime.read_engine or runtime.engine
    async with ReadConnection(engine, runtime.read_pool) as connection:
        yield connection


UowFactoryDep = Annotated[UnitOfWorkFactory, Depends(get_uow_factory)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ConnectionDep = Annotated[AsyncConnection, Depends(get_connection)]


async def get_principal(
    request: Request,
    token: Annotated[str | None, Depends(_bearer)],
) -> Principal:
    """The caller named by the bearer token; 401 problem (with a challenge) otherwise."""
    if token is None:
        raise UnauthorizedError("需要 Bearer 令牌")
    return decode_token(request.app.state.settings, token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def principal_by_key_or_bearer(audience: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency naming the caller by a link's ``key`` query parameter (a token minted for
    ``audience`` with ``auth.mint_link_key``), else by the bearer token: for URLs an app
    subscribes to without sending headers, such as a calendar's. The access log records paths
    without their query, so a key does not reach the logs."""

    async def principal(
        request: Request,
        token: Annotated[str | None, Depends(_bearer)],
        key: Annotated[
            str | None,
            Query(
                max_length=4096,
                description="the key of a subscription link, for apps that cannot send "
                "an Authorization header",
            ),
        ] = None,
    ) -> Principal:
        settings = request.app.state.settings
        if key is not None:
            return decode_token(settings, key, audience)
        if token is None:
            raise UnauthorizedError("需要 Bearer 令牌或订阅链接中的 key")
        return decode_token(settings, token)

    return principal


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency letting only ``roles`` through (403 ``forbidden_role``)."""
    allowed = frozenset(roles)
    names = "、".join(str(role) for role in roles)

    async def principal_with_role(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise ForbiddenError(f"此操作仅限以下角色：{names}", code="forbidden_role")
        return principal

    return principal_with_role


async def require_writer(request: Request, principal: PrincipalDep) -> Principal:
    """The caller, refused (403 ``read_only_principal``) when a read-only one asks to change
    anything; safe methods pass, so it can guard a whole router."""
    if principal.is_read_only and request.method not in SAFE_METHODS:
        raise ForbiddenError("合作平台只有只读权限", code="read_only_principal")
    return principal


WriterDep = Annotated[Principal, Depends(require_writer)]
OperatorDep = Annotated[
    Principal,
    Depends(require_roles(Role.PROVINCE_ADMIN, Role.CITY_OPERATOR, Role.COUNTY_OPERATOR)),
]
