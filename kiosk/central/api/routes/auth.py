"""Sign-in for people: a session cookie for the pages and the JSON API alike."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status

from kiosk.central import crud
from kiosk.central import models as m
from kiosk.central.deps import SESSION_COOKIE, CurrentUser, SessionDep, SettingsDep
from kiosk.central.schemas import LoginIn, UserPublic
from kiosk.central.settings import CentralSettings

router = APIRouter(tags=["auth"])


def user_public(user: m.User) -> UserPublic:
    return UserPublic(username=user.username, role=user.role.value, store_id=user.store_id,
                      region_ids=[r.id for r in user.regions])


def set_session_cookie(response: Response, token: str, settings: CentralSettings) -> None:
    # HttpOnly: scripts cannot read it; SameSite=Lax: other sites cannot post with it.
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_ttl_s, httponly=True,
                        samesite="lax", secure=settings.cookie_secure, path="/")


@router.post("/login", response_model=UserPublic, responses={401: {"description": "Wrong username or password."}})
def login(body: LoginIn, response: Response, db: SessionDep, settings: SettingsDep) -> UserPublic:
    """Sign in; sets the HttpOnly session cookie the pages and the read API use."""
    user = crud.authenticate(db, body.username, body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    token = crud.open_session(db, user, settings.session_ttl_s)
    db.commit()
    set_session_cookie(response, token, settings)
    return user_public(user)


@router.post("/logout", status_code=204)
def logout(request: Request, db: SessionDep) -> Response:
    """End the session: its row is deleted, so the cookie is worthless even if kept."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        crud.close_session(db, token)
        db.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=UserPublic, responses={401: {"description": "Not signed in."}})
def me(user: CurrentUser) -> UserPublic:
    """Who is signed in, with their role and the store or regions they may read."""
    return user_public(user)
