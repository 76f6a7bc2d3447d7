"""Browser sign-in: a session cookie so that <img> and EventSource need no token in their URL.

POST /api/session with {"token": …} checks the token and sets it as an
HttpOnly, SameSite=Strict cookie scoped to /api/ (Secure over HTTPS); the
cookie is accepted only where browsers cannot send a header: the evidence
pictures and the live feed (alerting.api.auth.requires_header_or_query).
Scripts keep using Authorization: Bearer. DELETE /api/session signs out.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from alerting.api.auth import ANY, SESSION_COOKIE, principal_for
from alerting.api.schemas import Me

router = APIRouter(prefix="/api/session", tags=["session"])


class SessionIn(BaseModel):
    token: str = Field(min_length=1, max_length=500)


@router.post("", response_model=Me, summary="Sign a browser in: sets the session cookie", responses={401: {}})
def sign_in(request: Request, response: Response, body: SessionIn) -> dict:
    principal = principal_for(request, body.token.strip(), ANY)  # 401 if unknown or revoked
    response.set_cookie(
        SESSION_COOKIE,
        body.token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/api/",
    )
    return {"name": principal.name, "role": principal.role}


@router.delete("", status_code=204, summary="Sign out: clears the session cookie")
def sign_out(response: Response) -> Response:
    response.delete_cookie(SESSION_COOKIE, path="/api/", httponly=True, samesite="strict")
    response.status_code = 204
    return response
