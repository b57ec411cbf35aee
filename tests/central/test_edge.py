"""The server's edge: cross-site POSTs refused (login CSRF), only trusted Host names answered, no caching of
signed-in answers, a device token checked before its body is read, and a slow body cut off."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kiosk.settings.central import CentralSettings

from .helpers import PASSWORD, TODAY, Org, aggregate, auth, hour, login, post
from .live import LiveServer

AppMaker = Callable[[CentralSettings], FastAPI]
EVIL = "https://evil.example"
FORM = {"username": "mgr-n1", "password": PASSWORD, "next": "/"}


def test_login_form_from_another_site_is_refused(client: TestClient, org: Org) -> None:
    r = client.post("/login", data=FORM, headers={"Origin": EVIL}, follow_redirects=False)
    assert r.status_code == 403
    assert "kiosk_session" not in r.headers.get("set-cookie", "")
    assert r.headers["content-type"].startswith("text/html") and "evil.example" in r.text


def test_login_form_from_the_servers_own_page_signs_in(client: TestClient, org: Org) -> None:
    r = client.post("/login", data=FORM, headers={"Origin": "http://127.0.0.1"}, follow_redirects=False)
    assert r.status_code == 303 and "kiosk_session=" in r.headers["set-cookie"]


def test_api_login_from_another_site_is_refused(client: TestClient, org: Org) -> None:
    r = client.post("/api/v1/login", json={"username": "mgr-n1", "password": PASSWORD}, headers={"Origin": EVIL})
    assert r.status_code == 403 and "cross-site" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/logout", "/api/v1/logout"])
def test_logout_from_another_site_is_refused_and_the_session_lives(client: TestClient, org: Org, path: str) -> None:
    login(client, "mgr-n1")
    assert client.post(path, headers={"Origin": EVIL}, follow_redirects=False).status_code == 403
    assert client.get("/api/v1/me").status_code == 200


@pytest.mark.parametrize("headers", [
    {"Referer": f"{EVIL}/page"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://127.0.0.1.evil.example"},
], ids=["referer", "null-origin", "sec-fetch-site", "lookalike-host"])
def test_other_cross_site_signs_are_refused(client: TestClient, org: Org, headers: dict[str, str]) -> None:
    assert client.post("/login", data=FORM, headers=headers, follow_redirects=False).status_code == 403


def test_trusted_origin_may_post(settings: CentralSettings, make_app: AppMaker, org: Org) -> None:
    app = make_app(settings.model_copy(update={"trusted_origins": ("https://kiosk.example.com",)}))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.post("/login", data=FORM, headers={"Origin": "https://kiosk.example.com"}, follow_redirects=False)
    assert r.status_code == 303
    app.state.engine.dispose()


def test_untrusted_host_header_gets_400(client: TestClient, org: Org) -> None:
    r = client.get("/login", headers={"Host": "evil.example"})
    assert r.status_code == 400


def test_redirects_never_name_an_untrusted_host(client: TestClient, org: Org) -> None:
    r = client.get("/api/v1/stores/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert "evil.example" not in r.headers.get("location", "")


@pytest.mark.parametrize("path", ["/stores/n1", "/api/v1/stores/n1/daily", "/api/v1/stores/n1/daily.csv", "/api/v1/me"])
def test_signed_in_answers_are_not_cached(client: TestClient, org: Org, path: str) -> None:
    login(client, "mgr-n1")
    r = client.get(path)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"


def test_static_files_may_be_cached(client: TestClient) -> None:
    assert "no-store" not in client.get("/static/app.css").headers.get("cache-control", "")


def test_an_unexpected_error_is_a_500_with_the_security_headers(client: TestClient, org: Org,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.central.api.routes import reports

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(reports, "daily_summary", broken)
    login(client, "mgr-n1")
    r = client.get("/api/v1/stores/n1/daily")
    assert r.status_code == 500 and "boom" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"


def test_forged_token_is_refused_before_the_body_is_read(client: TestClient, org: Org) -> None:
    pulled = []

    def body() -> Iterator[bytes]:
        for _ in range(4):
            pulled.append(1)
            yield b" " * 1_000_000

    r = client.post("/api/v1/aggregates", content=body(), headers={**auth("forged"), "content-type": "application/json"})
    assert r.status_code == 401
    assert len(pulled) <= 1  # the transport may pull one chunk before the app runs; the app reads none


def test_real_token_still_gets_its_batch_applied(client: TestClient, org: Org) -> None:
    post(client, org, "d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9))])


def test_slow_body_is_cut_off(settings: CentralSettings, make_app: AppMaker, org: Org) -> None:
    app = make_app(settings.model_copy(update={"body_timeout_s": 0.5}))
    with LiveServer(app) as server, socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head = (f"POST /api/v1/aggregates HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {org.tokens['d-n1']}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
        sock.sendall(head.encode())
        started = time.monotonic()
        answer = sock.recv(4096).decode()
        waited = time.monotonic() - started
    app.state.engine.dispose()
    assert answer.startswith("HTTP/1.1 408") and waited < 5
