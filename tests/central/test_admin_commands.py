"""`kiosk central revoke-device | rotate-device-token | disable-user | enable-user | reset-password | end-sessions`:
each takes effect on the running server at once (the next request), on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient

from kiosk.settings.central import CentralSettings
from kiosk.cli.commands import main

from .helpers import PASSWORD, TODAY, Org, aggregate, auth, batch, hour, login

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("KIOSK_")]:
        monkeypatch.delenv(name)


def _kiosk(settings: CentralSettings, *argv: str, stdin: str = "") -> tuple[int, str]:
    import contextlib
    import sys

    out = io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out):
            code = main(["central", *argv, "--db", str(settings.db_url)])
    finally:
        sys.stdin = old
    return code, out.getvalue()


def _ingest(client: TestClient, token: str) -> int:
    body = batch("d-n1", [aggregate("n1", "d-n1", hour(TODAY, 9))])
    return client.post("/api/v1/aggregates", json=body, headers=auth(token)).status_code


def _sign_in(client: TestClient, user: str, password: str) -> int:
    return client.post("/api/v1/login", json={"username": user, "password": password}).status_code


def test_revoked_device_token_is_refused(client: TestClient, org: Org, settings: CentralSettings) -> None:
    assert _kiosk(settings, "revoke-device", "d-n1")[0] == 0
    assert _ingest(client, org.tokens["d-n1"]) == 401


def test_rotated_token_replaces_the_old_one(client: TestClient, org: Org, settings: CentralSettings) -> None:
    code, out = _kiosk(settings, "rotate-device-token", "d-n1")
    new_token = out.strip().splitlines()[-1]
    assert code == 0 and new_token != org.tokens["d-n1"]
    assert _ingest(client, org.tokens["d-n1"]) == 401
    assert _ingest(client, new_token) == 200


def test_disabled_user_loses_their_session_and_cannot_sign_in(client: TestClient, org: Org, settings: CentralSettings) -> None:
    login(client, "mgr-n1")
    assert _kiosk(settings, "disable-user", "mgr-n1")[0] == 0
    assert client.get("/api/v1/me").status_code == 401
    assert _sign_in(client, "mgr-n1", PASSWORD) == 401


def test_enabled_user_can_sign_in_again(client: TestClient, org: Org, settings: CentralSettings) -> None:
    _kiosk(settings, "disable-user", "mgr-n1")
    assert _kiosk(settings, "enable-user", "mgr-n1")[0] == 0
    assert _sign_in(client, "mgr-n1", PASSWORD) == 200


def test_reset_password_ends_sessions_and_replaces_the_password(client: TestClient, org: Org,
                                                                settings: CentralSettings) -> None:
    login(client, "mgr-n1")
    assert _kiosk(settings, "reset-password", "mgr-n1", "--password-stdin", stdin=NEW_PASSWORD + "\n")[0] == 0
    assert client.get("/api/v1/me").status_code == 401
    assert _sign_in(client, "mgr-n1", PASSWORD) == 401
    assert _sign_in(client, "mgr-n1", NEW_PASSWORD) == 200


def test_end_sessions_signs_the_user_out_everywhere(client: TestClient, org: Org, settings: CentralSettings) -> None:
    login(client, "mgr-n1")
    code, out = _kiosk(settings, "end-sessions", "mgr-n1")
    assert code == 0 and out.startswith("1 session(s)")
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("argv", [("revoke-device", "nope"), ("disable-user", "nobody"),
                                  ("reset-password", "mgr-n1", "--password-stdin")])
def test_impossible_request_is_exit_3_with_a_message(org: Org, settings: CentralSettings, argv: tuple[str, ...],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _kiosk(settings, *argv, stdin="short\n")
    assert code == 3 and capsys.readouterr().err.startswith(f"kiosk central {argv[0]}: ")
