"""Sign-in for people: a session cookie for the pages and the JSON API alike."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy.orm import Session

from kiosk.central import crud
from kiosk.central import models as m
from kiosk.central.deps import SESSION_COOKIE, CurrentUser, SessionDep, SettingsDep, client_address
from kiosk.central.schemas import LoginIn, UserPublic
from kiosk.settings.central import CentralSettings
from kiosk.central.throttle import Busy, retry_after

router = APIRouter(tags=["auth"])


def sign_in(request: Request, db: Session, username: str, password: str) -> m.User | None:
    """The user whose password this is, or None; the one way both sign-in routes check a password.

    Raises:
        HTTPException: 429 with Retry-After while the account or the client address is locked out after
            repeated failures, or when too many password checks already run (each costs 64 MiB).
    """
    state = request.app.state
    account, client = username.lower(), client_address(request)
    wait_s = max(state.account_throttle.wait_s(account), state.client_throttle.wait_s(client))
    if wait_s > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"too many failed sign-ins for this account or from this address; retry in {retry_after(wait_s)} s",
                            headers={"Retry-After": retry_after(wait_s)})
    try:
        with state.hash_gate.slot():
            user = crud.authenticate(db, username, password)
    except Busy:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "the server is busy checking other sign-ins; retry in 1 s",
                            headers={"Retry-After": "1"}) from None
    if user is None:
        state.account_throttle.failed(account)
        state.client_throttle.failed(client)
        return None
    state.account_throttle.forget(account)
    return user


def user_public(user: m.User) -> UserPublic:
    return UserPublic(username=user.username, role=user.role.value, store_id=user.store_id,
                      region_ids=[r.id for r in user.regions])


def set_session_cookie(response: Response, token: str, settings: CentralSettings) -> None:
    # HttpOnly: scripts cannot read it; SameSite=Lax: other sites cannot post with it.
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_ttl_s, httponly=True,
                        samesite="lax", secure=settings.cookie_secure, path="/")


@router.post("/login", response_model=UserPublic, responses={401: {"description": "Wrong username or password."},
                                                                  429: {"description": "Too many failures; see Retry-After."}})
def login(body: LoginIn, request: Request, response: Response, db: SessionDep, settings: SettingsDep) -> UserPublic:
    """Sign in; sets the HttpOnly session cookie the pages and the read API use."""
    user = sign_in(request, db, body.username, body.password)
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
