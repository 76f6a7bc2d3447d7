"""Camera masks: config masks and operators' masks together; operators remove their own kind.

A removed (or added) operator mask reaches the running stream workers within seconds
(alerting.masks publishes, streams.masks applies). Config masks change only in the config file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field

from alerting.api.auth import DECIDE, requires
from alerting.api.context import context
from alerting.store.models import CameraMask
from alerting.store.repository import MaskError, delete_mask, list_masks
from alerting.store.tokens import Principal
from alerting.views import iso

router = APIRouter(prefix="/api/masks", tags=["masks"])


class MaskOut(BaseModel):
    id: int
    camera_id: str
    polygon: list[list[float]] = Field(description="[x, y] points, normalised 0..1 to the frame")
    source: Literal["config", "operator"] = Field(description="config: from the config file; operator: a dismissal's mask")
    deletable: bool = Field(description="true for operator masks (DELETE /api/masks/{id})")
    alert_id: int | None = Field(description="the dismissed alert an operator mask came from")
    created_by: str
    created_at: datetime | None


class MaskList(BaseModel):
    items: list[MaskOut]


def mask_view(mask: CameraMask) -> dict:
    operator = mask.source != "config"
    return {
        "id": mask.id,
        "camera_id": mask.camera_id,
        "polygon": mask.polygon,
        "source": "operator" if operator else "config",
        "deletable": operator,
        "alert_id": mask.alert_id,
        "created_by": mask.created_by,
        "created_at": iso(mask.created_at),
    }


@router.get("", response_model=MaskList, summary="Every camera mask, config and operator, by camera")
def masks(request: Request, camera_id: str | None = None, _: Principal = Depends(requires(DECIDE))) -> dict:
    with context(request).factory() as session:
        rows = list_masks(session)
    return {"items": [mask_view(m) for m in rows if camera_id is None or m.camera_id == camera_id]}


@router.delete(
    "/{mask_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={404: {"description": "no such mask"}, 409: {"description": "a config mask (edit the config file)"}},
    summary="Remove an operator mask; the workers stop applying it within seconds",
)
def remove(mask_id: int, request: Request, _: Principal = Depends(requires(DECIDE))) -> Response:
    try:
        delete_mask(context(request).factory, mask_id)
    except MaskError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)
