"""Plain test values for the store, privacy and sync tests, and the worker the fault tests run as a real process.

As a script (``python tests/storekit.py MODE ...``) it is the terminal side of a fault test:

* ``write DB`` stores interactions in a loop and prints each id *after* its commit, until it is killed;
* ``sync DB URL`` sends the outbox once (no retries) and prints the report;
* ``close DB PAUSE_AT_DAY`` closes every finished day into the outbox (one transaction); when it builds day
  number PAUSE_AT_DAY it prints "inside" and sleeps, so the parent can kill it mid-transaction (0: no pause);
* ``fill DB LIMIT_BYTES`` stores interactions under a process file-size limit (``ulimit -f``) until the disk
  is "full", then prints the error class and message.
"""

from __future__ import annotations

import resource
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kiosk.settings.tree import PrivacySettings, Settings, StoreSettings, SyncSettings
from kiosk.core.interaction import Interaction

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)  # a Tuesday morning, UTC
TOKEN = "test-token"


def served(greeting_s: float = 4.0, wait_s: float = 6.0, eye: float = 0.5, distance: float = 1.0,
           rating: int | None = None, scores: dict[str, float] | None = None) -> Interaction:
    """A greeted, served customer who stayed 60 s; times are on the video clock."""
    return Interaction(
        arrived_at=0.0, greeted_at=greeting_s, service_started_at=wait_s, left_at=60.0,
        greeting_s=greeting_s, wait_s=wait_s, service_s=60.0 - wait_s, eye_contact_ratio=eye,
        distance_m_median=distance, distance_m_min=distance * 0.8, greeted=True, abandoned=False,
        rating=rating, rubric_scores=scores or {},
    )


def abandoned() -> Interaction:
    """A customer who left unserved and ungreeted after 30 s."""
    return Interaction(
        arrived_at=0.0, greeted_at=None, service_started_at=None, left_at=30.0, greeting_s=None, wait_s=None,
        service_s=None, eye_contact_ratio=None, distance_m_median=None, distance_m_min=None,
        greeted=False, abandoned=True,
    )


def ended(started: datetime) -> datetime:
    """The ``ended_at`` to pass for a :func:`served` interaction that should count as started at ``started``."""
    return started + timedelta(seconds=60)


def settings(data_dir: Path, url: str = "http://127.0.0.1:9", *, k: int = 5, retries: int = 2,
             timeout_s: float = 2.0, batch_size: int = 200) -> Settings:
    return Settings(
        store=StoreSettings(data_dir=data_dir, store_id="berlin-01", device_id="pi-0042"),
        privacy=PrivacySettings(min_group_size=k),
        sync=SyncSettings(server_url=url, device_token=TOKEN, timeout_s=timeout_s, max_retries=retries,
                          backoff_s=0.01, interval_s=0.05, batch_size=batch_size),
    )


def _write(db: Path) -> None:
    from kiosk.device.database import Store

    with Store.open(db) as store:
        print("ready", flush=True)
        n = 0
        while True:
            interaction = served(greeting_s=float(n % 17))
            store.add_interaction(interaction, ended(T0 + timedelta(seconds=n)))
            print(interaction.id, flush=True)  # printed only once committed: the parent's list of promises
            n += 1


def _sync(db: Path, url: str) -> None:
    from kiosk.device.database import Store
    from kiosk.device.sync import SyncError, sync_once

    with Store.open(db) as store:
        try:
            report = sync_once(store, settings(db.parent, url, retries=0, timeout_s=30.0))
        except SyncError as exc:
            print(f"error {exc}", flush=True)
            sys.exit(2)
        print(f"sent {report.sent} pending {report.pending}", flush=True)


def _close(db: Path, pause_at_day: int) -> None:
    from kiosk.core.privacy import aggregate
    from kiosk.device.database import Store

    cfg = settings(db.parent)
    days = 0

    def build(interactions, ratings, reasons):  # type: ignore[no-untyped-def]
        nonlocal days
        days += 1
        if days == pause_at_day:  # inside the transaction, with earlier days already written to it
            print("inside", flush=True)
            time.sleep(30)
        return aggregate(interactions, ratings, reasons, store_id=cfg.store.store_id, device_id=cfg.store.device_id, k=5)

    with Store.open(db) as store:
        report = store.close_days(until=T0 + timedelta(days=400), build=build, device_id=cfg.store.device_id,
                                  batch_size=1, now=T0 + timedelta(days=400))
        print(f"closed {report.days}", flush=True)


def _fill(db: Path, limit: int) -> None:
    from kiosk.device.database import Store, StoreError

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, not a signal
    with Store.open(db) as store:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        n = 0
        try:
            while True:
                store.add_interaction(served(), ended(T0 + timedelta(seconds=n)))
                n += 1
        except StoreError as exc:
            print(f"{n} {type(exc).__name__} {exc}", flush=True)


if __name__ == "__main__":
    mode, path = sys.argv[1], Path(sys.argv[2])
    if mode == "write":
        _write(path)
    elif mode == "sync":
        _sync(path, sys.argv[3])
    elif mode == "close":
        _close(path, int(sys.argv[3]))
    elif mode == "fill":
        _fill(path, int(sys.argv[3]))
    else:
        sys.exit(f"unknown mode {mode!r}")
