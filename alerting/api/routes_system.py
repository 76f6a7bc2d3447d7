"""Liveness, Prometheus metrics and the static operator and ranger pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST

from alerting.api.auth import ANY, bearer_scheme, principal_for
from alerting.api.context import context
from alerting.api.files import safe_file
from alerting.api.schemas import Health

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["system"], summary="Liveness (no token)")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/metrics", tags=["system"], summary="Prometheus metrics (token unless api.metrics_public)")
def metrics(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme)) -> Response:
    ctx = context(request)
    if not ctx.settings.api.metrics_public:
        principal_for(request, credentials.credentials if credentials else None, ANY)
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _page(request: Request, name: str) -> FileResponse:
    found = safe_file(context(request).static_dir, name)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{name} is not installed")
    return FileResponse(found, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/", include_in_schema=False)
def operator_page(request: Request) -> FileResponse:
    return _page(request, "index.html")


@router.get("/ranger", include_in_schema=False)
def ranger_page(request: Request) -> FileResponse:
    return _page(request, "ranger.html")


@router.get("/static/{path:path}", include_in_schema=False)
def static(request: Request, path: str) -> FileResponse:
    found = safe_file(context(request).static_dir, path)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    return FileResponse(found, headers={"Cache-Control": "no-cache"})
