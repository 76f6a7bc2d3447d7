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
from alerting.api.protect import client_address
from alerting.store.tokens import Principal, authenticate, hash_token

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
    # Guessing tokens: after too many invalid ones, this address may not try any for a while.
    limiter = getattr(request.app.state, "token_limiter", None)
    client = client_address(request)
    wait_s = limiter.blocked_for(client) if limiter is not None else None
    if wait_s is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many invalid tokens from this address; retry after {wait_s} s",
            headers={"Retry-After": str(wait_s)},
        )
    with context(request).factory() as session:
        principal = authenticate(session, value)
    if principal is None:
        if limiter is not None:
            limiter.failed(client, hash_token(value))
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


# --- issue 11: the browser session cookie (set by alerting.api.routes_session) ---
SESSION_COOKIE = "pinewatch_session"
# --- end issue 11 ---


def requires_header_or_query(roles: frozenset[str]) -> Callable[..., Principal]:
    """Dependency: as `requires`, also accepting ?token= or the session cookie (EventSource, <img>)."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
        token: str | None = Query(default=None, description="the API token, for clients that cannot send headers"),
    ) -> Principal:
        value = credentials.credentials if credentials else token
        if not value:  # issue 11: the HttpOnly session cookie of a signed-in browser
            value = request.cookies.get(SESSION_COOKIE)
        return principal_for(request, value, roles)

    return dependency
