"""Fuzzing the real application through its own OpenAPI document (schemathesis), with a token
of each role on every generated request: no 5xx, every answered status code documented, and
no role ever gets a 2xx from a route whose `requires(...)` leaves it out.

Bounded (MAX_EXAMPLES per operation, no shrinking) so it runs in well under a minute; the
issue's run of 23,608 cases found the bugs the regression tests in test_api_hardening.py keep.
"""

from __future__ import annotations

import inspect
import re
import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from alerting.api.app import create_app
from alerting.store.repository import upsert_cameras
from alerting.store.tokens import create_token

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from schemathesis.checks import not_a_server_error, status_code_conformance

MAX_EXAMPLES = 4
ROLES = ("ranger", "operator", "admin", "worker")
# A never-ending event stream: a fuzzer's request would wait forever (test_api.py covers it).
SKIPPED = {("GET", "/api/events")}


def _routes(app):
    """Every APIRoute of the app, whether FastAPI keeps included routers flat or nested."""
    for route in app.routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from nested.routes
        elif hasattr(route, "endpoint") and hasattr(route, "methods"):
            yield route


def required_roles(app) -> dict[tuple[str, str], frozenset[str]]:
    """(METHOD, path) -> the roles its `requires(...)` dependency admits (read from the code)."""
    found = {}
    for route in _routes(app):
        for parameter in inspect.signature(route.endpoint).parameters.values():
            dependency = getattr(parameter.default, "dependency", None)
            for cell in getattr(dependency, "__closure__", None) or ():
                if isinstance(cell.cell_contents, frozenset):
                    for method in route.methods:  # "/x/{path:path}" is "/x/{path}" in OpenAPI
                        found[(method, re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path))] = cell.cell_contents
    return found


@pytest.fixture
def fuzzed_app(make_settings, sqlite_engine, redis_client):
    app = create_app(make_settings(), engine=sqlite_engine, redis_client=redis_client)
    upsert_cameras(app.state.ctx.factory, app.state.ctx.settings.cameras)
    return app


def _operations(app):
    for result in schemathesis.openapi.from_asgi("/openapi.json", app).get_all_operations():
        yield result.ok()


@pytest.mark.slow
def test_fuzz_every_operation_with_every_role(fuzzed_app):
    roles = required_roles(fuzzed_app)
    engine = fuzzed_app.state.ctx.engine
    tokens: dict[str, str] = {}
    checked = 0

    def refresh_tokens() -> None:  # an admin case may well have revoked the previous ones
        for role in ROLES:
            tokens[role] = create_token(engine, f"fuzz-{role}-{checked}", role)

    for operation in _operations(fuzzed_app):
        key = (operation.method.upper(), operation.path)
        if key in SKIPPED:
            continue
        allowed = roles.get(key)

        @settings(
            max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck), database=None,
        )
        @given(case=operation.as_strategy())
        def fuzz(case) -> None:
            nonlocal checked
            if not tokens or key == ("DELETE", "/api/tokens/{token_id}"):
                refresh_tokens()
            for role in ROLES:
                headers = {**(case.headers or {}), "Authorization": f"Bearer {tokens[role]}"}
                response = case.call(headers=headers)
                case.validate_response(response, checks=[not_a_server_error, status_code_conformance], headers=headers)
                if allowed is not None and role not in allowed:
                    assert not 200 <= response.status_code < 400, (
                        f"{role} got {response.status_code} from {case.method} {case.formatted_path} (allowed: {sorted(allowed)})"
                    )
                checked += 1

        fuzz()
    assert checked >= 4 * MAX_EXAMPLES * 10  # every operation was really exercised, with each role


def test_the_role_table_is_read_from_the_code(fuzzed_app):
    """The role check above is only as good as this table: it must know the guarded routes."""
    roles = required_roles(fuzzed_app)
    assert roles[("GET", "/api/alerts")] == frozenset({"ranger", "operator", "admin"})
    assert roles[("POST", "/api/alerts/{alert_id}/verdict")] == frozenset({"operator", "admin"})
    assert roles[("POST", "/api/tokens")] == frozenset({"admin"})
    assert roles[("GET", "/api/me")] == frozenset(ROLES)
    spec = fuzzed_app.openapi()
    operations = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    unguarded = operations - set(roles)
    assert unguarded <= {("GET", "/healthz"), ("GET", "/metrics"), ("POST", "/api/session"), ("DELETE", "/api/session")}
