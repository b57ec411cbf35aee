"""A small stand-in for the central server's ingest endpoint, for the sync tests (real HTTP on 127.0.0.1).

It validates bodies with the same model the real server uses (``kiosk.wire.aggregate.AggregateBatch``), applies a
``batch_id`` once, records every raw body, and can be scripted to misbehave: answer 500/429/401, hang, or
apply a batch and then never answer (the terminal is killed while it waits). Every wait inside is bounded.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from pydantic import ValidationError

from kiosk.wire.aggregate import AggregateBatch

HOLD_LIMIT_S = 20.0  # no handler thread outlives a test by more than this


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``action``: "status" (answer ``status`` without applying), "hang" (never answer),
    "apply_then_status" (apply, then answer ``status``), "apply_then_hang" (apply, then never answer)."""

    action: str = "status"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Attempt:
    at: float
    batch_id: str | None
    status: int | None  # None: the server never answered


class SyncServer:
    """Start with ``with SyncServer() as server:``; ``server.url`` is the base URL for ``sync.server_url``."""

    def __init__(self, token: str = "test-token", *, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.token = token
        self.applied: dict[str, AggregateBatch] = {}
        self.bodies: list[bytes] = []
        self.attempts: list[Attempt] = []
        self.applied_event = threading.Event()  # set whenever a batch is applied
        self._script: list[Reply] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            self._httpd.handle_error = lambda request, address: None  # a refused handshake is the test's point
        self.port = self._httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def script(self, *replies: Reply | int) -> None:
        """Queue answers for the next requests; plain ints are statuses. After the script: normal service."""
        with self._lock:
            self._script += [r if isinstance(r, Reply) else Reply(status=r) for r in replies]

    def release(self) -> None:
        """Let hanging handlers finish (they close the connection without an answer)."""
        self._release.set()

    @property
    def counted(self) -> Counter[tuple[str, str, str]]:
        """How many times each (device, period, period_start) was applied: every value must be 1."""
        return Counter(a.key for batch in self.applied.values() for a in batch.aggregates)

    @property
    def interactions_counted(self) -> int:
        return sum(a.interactions for batch in self.applied.values() for a in batch.aggregates)

    def attempts_for(self, batch_id: str) -> list[Attempt]:
        return [a for a in self.attempts if a.batch_id == batch_id]

    # ---- request handling (runs in handler threads) --------------------------------------------------------

    def _next(self) -> Reply | None:
        with self._lock:
            return self._script.pop(0) if self._script else None

    def _handle(self, path: str, auth: str | None, body: bytes) -> tuple[int | None, dict[str, str], dict[str, Any]]:
        batch_id = _batch_id(body)
        with self._lock:
            self.bodies.append(body)
            attempt = Attempt(time.monotonic(), batch_id, None)
            self.attempts.append(attempt)
        status, headers, answer = self._answer(path, auth, body)
        attempt.status = status
        return status, headers, answer

    def _answer(self, path: str, auth: str | None, body: bytes) -> tuple[int | None, dict[str, str], dict[str, Any]]:
        if path != "/api/v1/aggregates":
            return 404, {}, {"detail": "not found"}
        if auth != f"Bearer {self.token}":
            return 401, {}, {"detail": "unknown device token"}
        reply = self._next() or Reply()
        if reply.action == "hang":
            self._release.wait(HOLD_LIMIT_S)
            return None, {}, {}
        if reply.action == "status" and reply.status != 200:
            return reply.status, reply.headers, {"detail": f"scripted {reply.status}"}
        try:
            batch = AggregateBatch.model_validate_json(body)
        except ValidationError as exc:
            return 422, {}, {"detail": exc.errors(include_url=False, include_input=False)}
        duplicate = self._apply(batch)
        if reply.action == "apply_then_hang":
            self._release.wait(HOLD_LIMIT_S)
            return None, {}, {}
        if reply.action == "apply_then_status":
            return reply.status, reply.headers, {"detail": f"scripted {reply.status} after applying"}
        return 200, {}, {"batch_id": str(batch.batch_id), "duplicate": duplicate}

    def _apply(self, batch: AggregateBatch) -> bool:
        with self._lock:
            key = str(batch.batch_id)
            duplicate = key in self.applied
            if not duplicate:
                self.applied[key] = batch
        self.applied_event.set()
        return duplicate


def _batch_id(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("batch_id")
        return str(value) if value is not None else None
    except (ValueError, AttributeError):
        return None


def _handler(server: SyncServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, headers, answer = server._handle(self.path, self.headers.get("Authorization"), body)
            if status is None:
                self.close_connection = True
                return
            data = json.dumps(answer, default=str).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    return Handler
