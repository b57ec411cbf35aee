"""Faults the terminal must survive: SIGKILL while writing, closing days or syncing (real processes); a server
that is down, failing, throttling or hanging; a full disk; a clock that jumps back. Every wait is bounded."""

from __future__ import annotations

import json
import queue
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from kiosk.core.privacy import aggregate
from kiosk.device.database import Store
from kiosk.device.sync import (
    ServerRefusedError,
    ServerTimeoutError,
    ServerUnreachableError,
    build_session,
    fill_outbox,
    sync_once,
)
from tests.storekit import T0, ended, served, settings
from tests.syncserver import Reply, SyncServer

pytestmark = pytest.mark.slow
WORKER = str(Path(__file__).resolve().parents[1] / "storekit.py")
DAY = timedelta(days=1)
T = TypeVar("T")


class Worker:
    """A terminal process (tests/storekit.py) whose stdout lines are read with a deadline."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, WORKER, *args], stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.printed: list[str] = []  # every line, including those already taken with next_line()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.printed.append(line.strip())
            self.lines.put(line.strip())

    def next_line(self, timeout_s: float = 20.0) -> str:
        try:
            return self.lines.get(timeout=timeout_s)
        except queue.Empty:
            self.kill()
            pytest.fail(f"worker printed nothing for {timeout_s} s")

    def kill(self) -> list[str]:
        """SIGKILL, then return every line it printed before dying."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(10)
        return list(self.printed)

    def finish(self, timeout_s: float = 30.0) -> list[str]:
        """Wait for a normal exit (killing it and failing the test after ``timeout_s``); every line it printed."""
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"worker still running after {timeout_s} s")
        self._reader.join(10)
        return list(self.printed)


def bounded(fn: Callable[[], T], timeout_s: float = 20.0) -> T:
    """Run ``fn`` in a thread and fail the test (instead of hanging it) if it takes longer than ``timeout_s``."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 (handed back to the test thread below)
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        pytest.fail(f"did not finish within {timeout_s} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.01)


def closed_terminal(tmp_path: Path, days: int, batch_size: int = 1) -> Path:
    """A database with ``days`` days of 5 customers each, closed into the outbox; returns its path."""
    with Store.in_data_dir(tmp_path) as store:
        for day in range(days):
            for i in range(5):
                store.add_interaction(served(), ended(T0.replace(minute=i) + day * DAY))
        fill_outbox(store, settings(tmp_path, batch_size=batch_size), T0 + (days + 1) * DAY)
        return store.path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- SIGKILL --------------------------------------------------------------------------------------------------

def test_sigkill_while_writing_loses_no_committed_interaction(tmp_path: Path) -> None:
    db, promised, rng = tmp_path / "terminal.sqlite", set(), random.Random(7)
    for _ in range(4):
        worker = Worker("write", str(db))
        assert worker.next_line() == "ready"
        for _ in range(rng.randint(5, 80)):
            worker.next_line()
        promised |= {line for line in worker.kill() if line != "ready"}  # it was already inside the next write
    assert len(promised) >= 20
    with Store.open(db) as store:  # opening runs the integrity check, and would raise on damage
        assert promised <= {ti.interaction.id for ti in store.interactions()}
        assert store.integrity_problems() == []


def test_sigkill_while_closing_days_leaves_all_or_nothing(tmp_path: Path) -> None:
    with Store.in_data_dir(tmp_path) as store:
        for day in range(60):
            for i in range(5):
                store.add_interaction(served(), ended(T0.replace(minute=i) + day * DAY))

    def queued() -> tuple[int, int, int]:
        raw = sqlite3.connect(store.path)
        payloads = [json.loads(p) for (p,) in raw.execute("SELECT payload FROM outbox")]
        days, promised = raw.execute("SELECT count(*), coalesce(sum(sent_interactions), 0) FROM closed_days").fetchone()
        raw.close()
        return days, promised, sum(a["interactions"] for p in payloads for a in p["aggregates"])

    worker = Worker("close", str(store.path), "30")
    assert worker.next_line() == "inside"  # 29 days are written inside the open transaction
    worker.kill()
    assert queued() == (0, 0, 0)
    assert Worker("close", str(store.path), "0").finish() == ["closed 60"]
    assert queued() == (60, 300, 300)


def test_sigkill_during_sync_never_counts_a_batch_twice(tmp_path: Path) -> None:
    db = closed_terminal(tmp_path, days=5)
    with SyncServer() as server:
        server.script(200, 200, Reply("apply_then_hang"))  # the third batch is applied, its answer never comes
        worker = Worker("sync", str(db), server.url)
        wait_for(lambda: len(server.applied) == 3)
        worker.kill()
        with Store.open(db) as store:
            assert (len(store.sent_batches()), len(store.pending_batches())) == (2, 3)
        assert Worker("sync", str(db), server.url).finish() == ["sent 3 pending 0"]
    assert len(server.applied) == 5 and set(server.counted.values()) == {1}
    assert server.interactions_counted == 25


def test_sigkill_while_the_server_holds_the_request_resends_it_once(tmp_path: Path) -> None:
    db = closed_terminal(tmp_path, days=2)
    with SyncServer() as server:
        server.script(Reply("hang"))
        worker = Worker("sync", str(db), server.url)
        wait_for(lambda: len(server.attempts) == 1)
        worker.kill()
        server.release()
        assert Worker("sync", str(db), server.url).finish() == ["sent 2 pending 0"]
    assert len(server.applied) == 2 and set(server.counted.values()) == {1}


# ---- the server misbehaves ------------------------------------------------------------------------------------

def test_server_down_for_long_keeps_the_outbox_then_delivers_each_batch_once(tmp_path: Path) -> None:
    port = free_port()
    store = Store.open(closed_terminal(tmp_path, days=3))
    cfg = settings(tmp_path, f"http://127.0.0.1:{port}")
    for day in range(3, 6):  # three more days pass while the server is down
        for i in range(5):
            store.add_interaction(served(), ended(T0.replace(minute=i) + day * DAY))
        fill_outbox(store, settings(tmp_path, batch_size=1), T0 + (day + 1) * DAY)
        with pytest.raises(ServerUnreachableError, match=f"127.0.0.1:{port}.*stay in the outbox"):
            bounded(lambda: sync_once(store, cfg))
    assert len(store.pending_batches()) == 6
    with SyncServer(port=port) as server:
        assert bounded(lambda: sync_once(store, cfg)).sent == 6
    assert len(server.applied) == 6 and server.interactions_counted == 30
    store.close()


def test_500_then_200_delivers_once(tmp_path: Path) -> None:
    store = Store.open(closed_terminal(tmp_path, days=1))
    with SyncServer() as server:
        server.script(500)
        assert bounded(lambda: sync_once(store, settings(tmp_path, server.url))).sent == 1
    assert [a.status for a in server.attempts] == [500, 200] and len(server.applied) == 1


def test_500_after_applying_is_retried_and_counted_once(tmp_path: Path) -> None:
    store = Store.open(closed_terminal(tmp_path, days=1))
    with SyncServer() as server:
        server.script(Reply("apply_then_status", 500))
        assert bounded(lambda: sync_once(store, settings(tmp_path, server.url))).sent == 1
    assert len(server.attempts) == 2 and set(server.counted.values()) == {1}


def test_persistent_500_keeps_the_batch_for_the_next_round(tmp_path: Path) -> None:
    store = Store.open(closed_terminal(tmp_path, days=1))
    with SyncServer() as server:
        server.script(500, 500, 500)
        with pytest.raises(ServerRefusedError, match="HTTP 500.*next round") as err:
            bounded(lambda: sync_once(store, settings(tmp_path, server.url, retries=2)))
        assert err.value.report is not None and err.value.report.pending == 1
        assert bounded(lambda: sync_once(store, settings(tmp_path, server.url))).sent == 1
    assert len(server.applied) == 1


def test_429_waits_as_long_as_retry_after_says(tmp_path: Path) -> None:
    store = Store.open(closed_terminal(tmp_path, days=1))
    with SyncServer() as server:
        server.script(Reply(status=429, headers={"Retry-After": "1"}))
        assert bounded(lambda: sync_once(store, settings(tmp_path, server.url))).sent == 1
    first, second = server.attempts
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9  # a lower bound: the client may wait longer, never shorter


def test_a_very_long_retry_after_is_capped_so_sync_cannot_block(tmp_path: Path) -> None:
    store = Store.open(closed_terminal(tmp_path, days=1))
    cfg = settings(tmp_path)
    with SyncServer() as server:
        cfg = settings(tmp_path, server.url)
        session = build_session(cfg.sync, retry_after_cap_s=0.1)
        server.script(Reply(status=429, headers={"Retry-After": "3600"}))
        assert bounded(lambda: sync_once(store, cfg, session=session), timeout_s=10).sent == 1


def test_hanging_server_gives_a_timeout_error_not_a_hang(tmp_path: Path) -> None:
    store = Store.open(closed_terminal(tmp_path, days=1))
    with SyncServer() as server:
        server.script(Reply("hang"), Reply("hang"))
        with pytest.raises(ServerTimeoutError, match="did not answer within sync.timeout_s = 0.3 s"):
            bounded(lambda: sync_once(store, settings(tmp_path, server.url, retries=1, timeout_s=0.3)))
        assert len(server.attempts) == 2
    assert len(store.pending_batches()) == 1


# ---- a full disk ----------------------------------------------------------------------------------------------

def test_file_size_limit_gives_storage_full_and_no_corruption(tmp_path: Path) -> None:
    db = tmp_path / "terminal.sqlite"
    (line,) = Worker("fill", str(db), str(256 * 1024)).finish()
    written, kind, message = line.split(" ", 2)
    assert kind == "StorageFullError" and "ulimit -f" in message and "earlier data is intact" in message
    with Store.open(db) as store:
        assert store.count_interactions() == int(written) > 10
        assert store.integrity_problems() == []


# ---- the clock jumps back -------------------------------------------------------------------------------------

def test_clock_jumping_back_stores_rows_and_counts_each_in_its_own_hour(tmp_path: Path) -> None:
    with Store.in_data_dir(tmp_path) as store:
        for i in range(5):
            store.add_interaction(served(), ended(T0.replace(hour=10, minute=i)))
        for i in range(5):  # the clock is set back three hours
            store.add_interaction(served(), ended(T0.replace(hour=7, minute=i)))
        assert store.count_interactions() == 10
        rows = aggregate(store.interactions(), store_id="s", device_id="d", k=5)
    assert [(a.period, a.period_start.hour, a.interactions) for a in rows] == [("hour", 7, 5), ("hour", 10, 5)]


def test_clock_jumping_back_does_not_make_retention_delete_fresh_rows(tmp_path: Path) -> None:
    with Store.in_data_dir(tmp_path) as store:
        store.add_interaction(served(), ended(T0))
        jumped = T0 - 45 * DAY  # e.g. a Pi booting without a real-time clock, before NTP
        store.add_interaction(served(), ended(jumped))
        assert store.apply_retention(jumped, 30) == 0
        assert store.count_interactions() == 2
