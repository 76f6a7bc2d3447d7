"""Evidence JPEGs from the evidence directory."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse

from alerting.api.auth import READ, requires_header_or_query
from alerting.api.context import context
from alerting.api.files import safe_file
from alerting.store.tokens import Principal

router = APIRouter(tags=["evidence"])


@router.get(
    "/api/evidence/{path:path}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "no such evidence"}},
    summary="An evidence image (also ?token=)",
)
def evidence(request: Request, path: str, _: Principal = Depends(requires_header_or_query(READ))) -> FileResponse:
    found = safe_file(context(request).evidence_dir, path, suffixes=(".jpg", ".jpeg"))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such evidence")
    # Evidence never changes once written: let browsers keep it.
    return FileResponse(found, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})
