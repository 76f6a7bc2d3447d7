"""Bearer tokens and roles.

ranger: read; operator: read + verdicts; admin: everything + tokens;
worker: reserved for ingest (may read /api/me and /metrics only).
Browsers' EventSource and <img> cannot send headers, so the live feed and the
evidence images also take ?token=.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from alerting.api.context import context
from alerting.store.tokens import Principal, authenticate

READ = frozenset({"ranger", "operator", "admin"})
DECIDE = frozenset({"operator", "admin"})
ADMIN = frozenset({"admin"})
ANY = frozenset({"ranger", "operator", "admin", "worker"})

bearer_scheme = HTTPBearer(auto_error=False, description="an API token: Authorization: Bearer TOKEN")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def principal_for(request: Request, value: str | None, roles: frozenset[str]) -> Principal:
    if not value:
        raise _unauthorized("missing token: send Authorization: Bearer TOKEN")
    with context(request).factory() as session:
        principal = authenticate(session, value)
    if principal is None:
        raise _unauthorized("invalid or revoked token")
    if principal.role not in roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"role {principal.role!r} may not do this")
    return principal


def requires(roles: frozenset[str]) -> Callable[..., Principal]:
    """Dependency: a valid header token whose role is one of `roles`."""

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme)
    ) -> Principal:
        return principal_for(request, credentials.credentials if credentials else None, roles)

    return dependency


def requires_header_or_query(roles: frozenset[str]) -> Callable[..., Principal]:
    """Dependency: as `requires`, also accepting ?token= (EventSource, <img>)."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
        token: str | None = Query(default=None, description="the API token, for clients that cannot send headers"),
    ) -> Principal:
        return principal_for(request, credentials.credentials if credentials else token, roles)

    return dependency
