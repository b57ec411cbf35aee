"""A customer's "call a manager" tap, sent at once to the central server (``POST /api/v1/manager-calls``).

The body says which device called and when, nothing else: ``{"device_id", "call_id", "called_at"}``. The server
knows the device's store from its token, shows the call on that store's page and in its region's alerts, and
stores nothing about the customer. The central server validates requests with
the same model (``kiosk.wire.manager_call``).

A call is sent once, with a short timeout, and not queued: a manager who hears of a call an hour later cannot
help the customer who is standing there. When it fails, the terminal tells the customer to ask at the counter.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import requests

from kiosk.settings.tree import Settings
from kiosk.device.http import post_json, server_session, status_failure, transport_failure
from kiosk.device.sync import SyncConfigError
from kiosk.wire.manager_call import ENDPOINT, ManagerCallPayload

log = logging.getLogger(__name__)


class ManagerCaller:
    """Sends manager calls for one terminal. Call it with the tap's time; True when the server stored the call.

    Args:
        settings: ``store.device_id`` and the ``sync`` section (URL, token, CA bundle).
        timeout_s: connect and read timeout of the one request (``terminal.manager_call_timeout_s``).
    """

    def __init__(self, settings: Settings, timeout_s: float) -> None:
        self._device_id = settings.store.device_id
        self._sync = settings.sync
        self._timeout_s = timeout_s

    def __call__(self, at: datetime) -> bool:
        sync = self._sync
        try:
            session = server_session(sync, SyncConfigError, retries=False)
        except SyncConfigError as exc:
            log.warning("manager call not sent: %s", exc)
            return False
        payload = ManagerCallPayload(device_id=self._device_id, call_id=uuid.uuid4(), called_at=at)
        url = sync.server_url.rstrip("/") + ENDPOINT
        try:
            response = post_json(session, url, payload.model_dump_json(), sync, self._timeout_s)
        except requests.RequestException as exc:
            log.warning("manager call not delivered: %s", transport_failure(exc, url, self._timeout_s, "terminal.manager_call_timeout_s")[1])
            return False
        finally:
            session.close()
        if 200 <= response.status_code < 300:
            log.info("manager call delivered (%s)", payload.call_id)
            return True
        log.warning("manager call refused: %s", status_failure(response, url)[1])
        return False
