"""Sign-in, sessions and secrets at rest: argon2 passwords, hashed device and session tokens."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from kiosk.central import models as m

from .helpers import PASSWORD, Org, login


def test_login_sets_http_only_session_cookie(client: TestClient, org: Org) -> None:
    r = client.post("/api/v1/login", json={"username": "mgr-n1", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json() == {"username": "mgr-n1", "role": "manager", "store_id": "n1", "region_ids": []}
    cookie = r.headers["set-cookie"]
    assert "kiosk_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_wrong_password_is_401(client: TestClient, org: Org) -> None:
    r = client.post("/api/v1/login", json={"username": "mgr-n1", "password": "wrong password"})
    assert r.status_code == 401
    assert "kiosk_session" not in r.headers.get("set-cookie", "")


def test_unknown_user_is_401(client: TestClient, org: Org) -> None:
    assert client.post("/api/v1/login", json={"username": "nobody", "password": PASSWORD}).status_code == 401


def test_logout_ends_the_session(client: TestClient, org: Org) -> None:
    login(client, "mgr-n1")
    token = client.cookies.get("kiosk_session")
    client.post("/api/v1/logout")
    client.cookies.set("kiosk_session", token or "")
    assert client.get("/api/v1/me").status_code == 401


def test_session_expires(client: TestClient, org: Org, app: FastAPI) -> None:
    login(client, "mgr-n1")
    with app.state.sessionmaker() as s:
        for row in s.scalars(select(m.LoginSession)):
            row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        s.commit()
    assert client.get("/api/v1/me").status_code == 401


def test_passwords_are_stored_as_argon2id(org: Org, app: FastAPI) -> None:
    with app.state.sessionmaker() as s:
        hashes = list(s.scalars(select(m.User.password_hash)))
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_device_tokens_are_stored_hashed(org: Org, app: FastAPI) -> None:
    with app.state.sessionmaker() as s:
        stored = set(s.scalars(select(m.Device.token_hash)))
    assert len(stored) == 4
    assert not stored & set(org.tokens.values())


def test_session_cookie_is_stored_hashed(client: TestClient, org: Org, app: FastAPI) -> None:
    login(client, "mgr-n1")
    with app.state.sessionmaker() as s:
        stored = set(s.scalars(select(m.LoginSession.token_hash)))
    assert client.cookies.get("kiosk_session") not in stored and len(stored) == 1


def test_api_schema_exposes_no_secret_fields(client: TestClient) -> None:
    text = client.get("/openapi.json").text
    assert "password_hash" not in text and "token_hash" not in text


def test_login_form_redirects_only_to_local_paths(client: TestClient, org: Org) -> None:
    r = client.post("/login", data={"username": "mgr-n1", "password": PASSWORD, "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_cookie_is_secure_when_the_setting_says_so(settings, make_app, org: Org) -> None:  # type: ignore[no-untyped-def]
    app = make_app(settings.model_copy(update={"cookie_secure": True}))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.post("/api/v1/login", json={"username": "mgr-n1", "password": PASSWORD})
    app.state.engine.dispose()
    assert "Secure" in r.headers["set-cookie"]
