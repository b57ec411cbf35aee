"""The terminal's real heartbeat client against the real central server: uvicorn on a loopback port, the
organisation registered the way an operator does it (``kiosk.central.manage``), SQLite underneath."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.central import manage
from kiosk.central.app import create_app
from kiosk.settings.central import CentralSettings
from kiosk.settings.tree import Settings, StoreSettings, SyncSettings
from kiosk.device.heartbeat import send_heartbeat
from tests.central.live import LiveServer

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Central:
    """A running central server and a registered terminal's settings (its token included)."""

    url: str
    terminal: Settings


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    settings = CentralSettings(data_dir=tmp_path / "central")
    manage.add_region(settings, "north")
    manage.add_store(settings, "n1", "north", "Nordhafen")
    token = manage.add_device(settings, "pi-0042", "n1")
    manage.add_user(settings, "admin", PASSWORD, "admin")
    app = create_app(settings)
    with LiveServer(app) as server:
        terminal = Settings(
            store=StoreSettings(data_dir=tmp_path / "terminal", store_id="n1", device_id="pi-0042"),
            sync=SyncSettings(server_url=server.url, device_token=token, timeout_s=10.0),
        )
        yield Central(server.url, terminal)
    app.state.engine.dispose()


def _device(url: str) -> dict[str, Any]:
    """The terminal as the store's daily summary shows it, read over HTTP as a signed-in admin."""
    with requests.Session() as s:
        assert s.post(f"{url}/api/v1/login", json={"username": "admin", "password": PASSWORD}, timeout=10).ok
        daily = s.get(f"{url}/api/v1/stores/n1/daily", timeout=10)
    assert daily.status_code == 200, daily.text
    [device] = daily.json()["devices"]
    return device  # type: ignore[no-any-return]


def test_real_client_heartbeat_shows_the_device_ok(central: Central) -> None:
    send_heartbeat(central.terminal)
    device = _device(central.url)
    assert (device["id"], device["status"], device["outbox_pending"]) == ("pi-0042", "ok", 0)


def test_real_client_learns_the_server_clock(central: Central) -> None:
    result = send_heartbeat(central.terminal)
    assert result.server_time is not None
    # Same machine, same clock: the offset is the request's travel time.
    assert result.clock_offset_s is not None and abs(result.clock_offset_s) < 5
    assert abs(result.server_time - datetime.now(UTC)) < timedelta(seconds=30)
