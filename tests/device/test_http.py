"""One reading of a failed request for the outbox, the heartbeat and the manager call (kiosk.device.http)."""

from __future__ import annotations

import json

import pytest
import requests
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

from kiosk.device.http import post_json, server_session, status_failure, transport_failure
from kiosk.settings.tree import SyncSettings

URL = "https://central.example/api/v1/heartbeat"


def answer(status: int, body: object | str) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = (body if isinstance(body, str) else json.dumps(body)).encode()
    return r


@pytest.mark.parametrize("case, status, body, kind, fragment", [
    ("token refused", 401, {"detail": "unknown device token"}, "token", "re-register the device"),
    ("other store's token", 403, {"detail": "device belongs to another store"}, "token", "another store"),
    ("wrong address", 404, "Not Found", "missing", "check sync.server_url"),
    ("busy, worth a retry", 503, "maintenance", "busy", "HTTP 503 (maintenance)"),
    ("refused for good", 400, {"detail": "bad batch"}, "refused", "HTTP 400: bad batch"),
])
def test_an_answer_that_is_not_2xx_says_what_to_do(case, status, body, kind, fragment):
    got_kind, message = status_failure(answer(status, body), URL)
    assert got_kind == kind and fragment in message and URL in message


@pytest.mark.parametrize("case, exc, kind, fragment", [
    ("certificate", requests.exceptions.SSLError("certificate verify failed"), "tls", "set sync.ca_bundle"),
    ("read timeout", requests.exceptions.ReadTimeout("read timed out"), "timeout", "within sync.timeout_s = 3.0 s"),
    ("read timeout after retries",
     requests.exceptions.ConnectionError(MaxRetryError(None, URL, ReadTimeoutError(None, URL, "read timed out"))),
     "timeout", "did not answer"),
    ("refused connection", requests.exceptions.ConnectionError("connection refused"), "unreachable", "check the network"),
])
def test_a_request_without_an_answer_says_what_to_check(case, exc, kind, fragment):
    got_kind, message = transport_failure(exc, URL, 3.0)
    assert got_kind == kind and fragment in message


def test_the_timeout_named_is_the_one_that_was_used():
    _, message = transport_failure(requests.exceptions.ReadTimeout("slow"), URL, 5.0, "terminal.manager_call_timeout_s")
    assert "terminal.manager_call_timeout_s = 5.0 s" in message


def test_a_session_without_retries_tries_once():
    session = server_session(SyncSettings(device_token="t"), ValueError, retries=False)
    assert session.get_adapter("https://central.example").max_retries.total == 0


def test_settings_no_request_can_succeed_with_raise_the_callers_error():
    class Mine(Exception):
        pass

    with pytest.raises(Mine, match="sync.device_token is empty"):
        server_session(SyncSettings(device_token=""), Mine, retries=False)


def test_the_token_goes_with_every_post_even_on_a_bare_session():
    sent: list[requests.PreparedRequest] = []

    class Recording(requests.Session):
        def send(self, request, **kw):
            sent.append(request)
            return answer(200, {})

    post_json(Recording(), URL, "{}", SyncSettings(device_token="secret"))
    assert sent[0].headers["Authorization"] == "Bearer secret"
    assert sent[0].headers["Content-Type"] == "application/json"
