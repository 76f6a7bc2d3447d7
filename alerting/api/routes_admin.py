"""Who am I, and token management (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from alerting.api.auth import ADMIN, ANY, requires
from alerting.api.context import context
from alerting.api.schemas import Me, TokenCreated, TokenIn, TokenList
from alerting.store.tokens import Principal, create_token, list_tokens, revoke_token

router = APIRouter(prefix="/api", tags=["tokens"])


@router.get("/me", response_model=Me, summary="The caller's name and role")
def me(principal: Principal = Depends(requires(ANY))) -> dict:
    return {"name": principal.name, "role": principal.role}


@router.get("/tokens", response_model=TokenList, summary="All tokens (admin)")
def tokens(request: Request, _: Principal = Depends(requires(ADMIN))) -> dict:
    with context(request).factory() as session:
        return {"items": list_tokens(session)}


@router.post(
    "/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, summary="Create a token (admin)",
    responses={409: {"description": "the user exists with another role"}},
)
def new_token(request: Request, body: TokenIn, _: Principal = Depends(requires(ADMIN))) -> dict:
    try:
        value = create_token(context(request).engine, body.name, body.role)
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return {"token": value, "name": body.name, "role": body.role}


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a token (admin)")
def delete_token(request: Request, token_id: int, _: Principal = Depends(requires(ADMIN))) -> Response:
    if not revoke_token(context(request).engine, token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"token {token_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
