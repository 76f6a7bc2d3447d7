"""What every response and every token check gets: security headers, a failed-token limit
(used by alerting.api.auth), and errors mapped to documented status codes instead of 500s."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from alerting.store.db import describe_error
from alerting.store.repository import NotFound, VerdictError

log = logging.getLogger(__name__)

# The pages load only their own modules, styles, JSON and evidence (same origin); the
# JavaScript sets styles through CSSOM, which CSP does not restrict. Nothing may frame us.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pull Swagger UI / ReDoc from jsDelivr with an inline bootstrap script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),  # ?token= URLs must never leave in a Referer
    (b"cross-origin-opener-policy", b"same-origin"),
]


def page_csp(tile_url: str) -> str:
    """The pages' CSP, letting map tiles in from the origin of the configured tile URL (web/static/map.json)."""
    from urllib.parse import urlsplit

    parts = urlsplit(tile_url.replace("{s}", "a"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return PAGE_CSP
    origin = f"{parts.scheme}://{parts.netloc.replace('a.', '*.', 1) if '{s}' in tile_url else parts.netloc}"
    return PAGE_CSP.replace("img-src 'self' data: blob:;", f"img-src 'self' data: blob: {origin};")


class SecurityHeaders:
    """Pure ASGI (not BaseHTTPMiddleware), so the SSE stream passes through untouched."""

    def __init__(self, app, page_policy: str = PAGE_CSP) -> None:
        self.app = app
        self.page_policy = page_policy

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = (DOCS_CSP if scope.get("path", "").startswith(DOCS_PATHS) else self.page_policy).encode()

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in _COMMON_HEADERS if n not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", csp))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class FailedTokenLimiter:
    """At most `limit` different invalid tokens per client address within `window_s`; then every
    token attempt from that address answers 429 until the oldest failure leaves the window.

    Different tokens, not attempts: a browser retrying one stale token (the live feed
    reconnects by itself) is not guessing, and must not lock out everyone behind the same
    address. Behind a reverse proxy every client shares the proxy's address: then the proxy
    should limit, or uvicorn run with --proxy-headers so that the address is the real one.
    """

    def __init__(self, limit: int = 10, window_s: float = 60.0, max_clients: int = 10_000, clock=time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self._clock = clock
        # address -> {token digest: last failure time}, oldest first; digests, never tokens
        self._failures: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> OrderedDict[str, float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        while failures and next(iter(failures.values())) <= now - self.window_s:
            failures.popitem(last=False)
        if not failures:
            del self._failures[client]
            return None
        return failures

    def blocked_for(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None while it is under the limit."""
        with self._lock:
            now = self._clock()
            failures = self._recent(client, now)
            if failures is not None and len(failures) >= self.limit:
                return max(1, math.ceil(next(iter(failures.values())) + self.window_s - now))
            return None

    def failed(self, client: str, token_digest: str) -> None:
        with self._lock:
            now = self._clock()
            failures = self._recent(client, now) or OrderedDict()
            failures[token_digest] = now
            failures.move_to_end(token_digest)
            self._failures[client] = failures
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:  # bounded memory under a spray of addresses
                self._failures.popitem(last=False)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


# Status codes any route may answer besides its own; added to every route's OpenAPI entry.
COMMON_RESPONSES = {
    422: {"description": "invalid input (also integers out of range)"},
    503: {"description": "the database is not answering; retry later"},
}
AUTH_RESPONSES = {
    401: {"description": "missing, invalid or revoked token"},
    403: {"description": "the token's role may not do this"},
    429: {"description": "too many invalid tokens from this address; see Retry-After"},
}


def document_responses(app: FastAPI) -> None:
    """Add to each operation of the OpenAPI document the codes the shared machinery can answer."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            extra = dict(COMMON_RESPONSES)
            if path != "/healthz":
                extra.update(AUTH_RESPONSES)
            if "{" in path:  # a path parameter: it may name nothing
                extra[404] = {"description": "not found"}
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, spec in extra.items():
                    responses.setdefault(str(code), spec)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def install(app: FastAPI, static_dir=None) -> None:
    """Headers, the limiter, error handlers and their OpenAPI documentation."""
    import json

    app.state.token_limiter = FailedTokenLimiter()
    tile_url = ""
    if static_dir is not None and (static_dir / "map.json").exists():
        tile_url = json.loads((static_dir / "map.json").read_text()).get("tile_url", "")
    app.add_middleware(SecurityHeaders, page_policy=page_csp(tile_url))

    # The store says what is missing or not allowed; every route answers it the same way.
    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(VerdictError)
    async def _verdict(request: Request, exc: VerdictError) -> JSONResponse:
        return _error(409, str(exc))

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # SQLite binds at most 64-bit integers; a bigger id or offset names nothing we have.
        return _error(422, "an integer parameter is out of range (at most 2^63 - 1)")

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        return _error(422, f"invalid value: {describe_error(exc)}")

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s: database unavailable: %s", request.method, request.url.path, describe_error(exc))
        return _error(503, "the database is not answering; retry later", {"Retry-After": "5"})

    document_responses(app)
