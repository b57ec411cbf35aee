"""The heartbeat: the server's never/ok/stale rule as a table, and the client against a tiny HTTP server on
127.0.0.1 that records what arrives (headers and body)."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from kiosk import __version__
from kiosk.cli import main as device_main
from kiosk.device.database import Store
from kiosk.device.heartbeat import HeartbeatError, TerminalStatus, read_outbox_status, send_heartbeat
from kiosk.device.sync import fill_outbox
from kiosk.settings.tree import Settings, StoreSettings, SyncSettings
from kiosk.wire.heartbeat import HeartbeatPayload, device_status
from tests.storekit import T0, TOKEN, ended, served, settings
from tests.localserver import LocalServer, QuietHandler

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
STALE = timedelta(minutes=15)
FIELDS = {"device_id", "sent_at", "version", "outbox_pending", "last_sync_at", "pipeline_fps"}


# ---- device_status ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case, last_seen, expected", [
    ("never heard from", None, "never"),
    ("just now", NOW, "ok"),
    ("one beat ago", NOW - timedelta(minutes=5), "ok"),
    ("exactly at the limit", NOW - STALE, "ok"),
    ("a second past the limit", NOW - STALE - timedelta(seconds=1), "stale"),
    ("days ago", NOW - timedelta(days=3), "stale"),
    ("ahead of the server's clock", NOW + timedelta(minutes=2), "ok"),
    ("another time zone, same instant", (NOW - timedelta(minutes=20)).astimezone(timezone(timedelta(hours=5))), "stale"),
])
def test_device_status(case: str, last_seen: datetime | None, expected: str) -> None:
    assert device_status(last_seen, NOW, STALE) == expected


@pytest.mark.parametrize("case, last_seen, now, stale_after, message", [
    ("zero limit", NOW, NOW, timedelta(0), "stale_after must be a positive duration"),
    ("naive now", NOW, NOW.replace(tzinfo=None), STALE, "now must be a timezone-aware datetime"),
    ("naive last seen", NOW.replace(tzinfo=None), NOW, STALE, "last_seen must be a timezone-aware datetime"),
])
def test_device_status_refuses(case: str, last_seen: datetime, now: datetime, stale_after: timedelta, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        device_status(last_seen, now, stale_after)


# ---- a tiny server ----------------------------------------------------------------------------------------------

class BeatServer(LocalServer):
    """Records each POST (path, headers, JSON body) and answers with ``status`` and ``answer``."""

    def __init__(self, status: int = 200, answer: dict[str, Any] | None = None) -> None:
        owner = self
        self.requests: list[tuple[str, dict[str, str], Any]] = []

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.requests.append((self.path, dict(self.headers), json.loads(body)))
                data = json.dumps(answer or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)

    @property
    def body(self) -> dict[str, Any]:
        assert len(self.requests) == 1, self.requests
        return self.requests[0][2]  # type: ignore[no-any-return]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def beat(tmp_path: Path, url: str, **kwargs: Any) -> Any:
    return send_heartbeat(settings(tmp_path, url), clock=lambda: NOW, **kwargs)


# ---- the client ---------------------------------------------------------------------------------------------------

def test_heartbeat_is_posted_to_the_heartbeat_endpoint_with_the_device_token(tmp_path: Path) -> None:
    with BeatServer() as server:
        beat(tmp_path, server.url + "/")
    path, headers, _ = server.requests[0]
    assert path == "/api/v1/heartbeat" and headers["Authorization"] == f"Bearer {TOKEN}"


def test_heartbeat_body_has_exactly_the_agreed_fields(tmp_path: Path) -> None:
    with BeatServer() as server:
        beat(tmp_path, server.url, status=TerminalStatus(outbox_pending=2, pipeline_fps=9.5))
    assert set(server.body) == FIELDS


def test_heartbeat_body_holds_the_device_id_and_numbers_only(tmp_path: Path) -> None:
    with BeatServer() as server:
        beat(tmp_path, server.url, status=TerminalStatus(outbox_pending=2, pipeline_fps=9.5))
    body = server.body
    assert (body["device_id"], body["version"], body["sent_at"]) == ("pi-0042", __version__, "2026-11-23T12:00:00Z")
    numbers = {k: v for k, v in body.items() if k not in ("device_id", "version", "sent_at", "last_sync_at")}
    assert numbers == {"outbox_pending": 2, "pipeline_fps": 9.5}


def test_heartbeat_reports_the_outbox_of_the_terminal_database(tmp_path: Path) -> None:
    with Store.in_data_dir(tmp_path) as store:
        for i in range(5):
            store.add_interaction(served(), ended(T0.replace(minute=i)))
        fill_outbox(store, settings(tmp_path), T0 + timedelta(days=2))
        pending = len(store.pending_batches())
    with BeatServer() as server:
        beat(tmp_path, server.url)
    assert pending > 0 and server.body["outbox_pending"] == pending and server.body["last_sync_at"] is None


def test_heartbeat_reports_the_last_acknowledged_sync(tmp_path: Path) -> None:
    with Store.in_data_dir(tmp_path) as store:
        for i in range(5):
            store.add_interaction(served(), ended(T0.replace(minute=i)))
        fill_outbox(store, settings(tmp_path), T0 + timedelta(days=2))
        for batch in store.pending_batches():
            store.mark_sent(batch.batch_id, T0 + timedelta(days=2, minutes=1))
    status = read_outbox_status(tmp_path)
    assert (status.outbox_pending, status.last_sync_at) == (0, T0 + timedelta(days=2, minutes=1))


def test_reading_the_outbox_creates_no_database(tmp_path: Path) -> None:
    assert read_outbox_status(tmp_path) == TerminalStatus(outbox_pending=0)
    assert list(tmp_path.iterdir()) == []


def test_the_server_time_gives_the_terminal_clock_offset(tmp_path: Path) -> None:
    received = (NOW - timedelta(seconds=90)).isoformat()
    with BeatServer(answer={"received_at": received}) as server:
        result = beat(tmp_path, server.url)
    assert result.status_code == 200 and result.clock_offset_s == pytest.approx(90.0)


@pytest.mark.parametrize("case, status, message", [
    ("token refused", 401, "re-register the device"),
    ("server without heartbeats", 404, "predates heartbeats"),
    ("server error", 500, "HTTP 500"),
])
def test_a_refused_heartbeat_raises_with_the_fix(tmp_path: Path, case: str, status: int, message: str) -> None:
    with BeatServer(status=status) as server, pytest.raises(HeartbeatError, match=message):
        beat(tmp_path, server.url)


def test_an_unreachable_server_raises(tmp_path: Path) -> None:
    with pytest.raises(HeartbeatError, match="cannot reach"):
        beat(tmp_path, f"http://127.0.0.1:{closed_port()}")


def test_no_token_means_no_request(tmp_path: Path) -> None:
    with BeatServer() as server:
        tokenless = Settings(store=StoreSettings(data_dir=tmp_path), sync=SyncSettings(server_url=server.url))
        with pytest.raises(HeartbeatError, match="device_token is empty"):
            send_heartbeat(tokenless)
    assert server.requests == []


def test_the_payload_model_refuses_anything_extra() -> None:
    # The server validates with this model: a body carrying more than the agreed numbers is refused.
    with pytest.raises(ValidationError, match="interactions"):
        HeartbeatPayload.model_validate({"device_id": "d", "sent_at": NOW.isoformat(), "version": "1",
                                         "interactions": [{"greeting_s": 3.0}]})


def test_the_command_sends_one_heartbeat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with BeatServer() as server:
        config = tmp_path / "kiosk.toml"
        config.write_text(f'[store]\ndata_dir = "{tmp_path}"\ndevice_id = "pi-7"\n\n'
                          f'[sync]\nserver_url = "{server.url}"\ndevice_token = "{TOKEN}"\n')
        code = device_main(["--config", str(config), "heartbeat"])
    assert code == 0 and server.body["device_id"] == "pi-7" and "heartbeat delivered" in capsys.readouterr().out
