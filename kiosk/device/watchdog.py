"""systemd's notify protocol for ``kiosk run`` (sd_notify(3)): READY when the app is up, WATCHDOG while it works.

With ``device.watchdog_s > 0`` the terminal unit is ``Type=notify`` with ``WatchdogSec`` (kiosk/device/systemd.py):
systemd then waits for ``READY=1`` and kills and restarts the app when ``WATCHDOG=1`` stops coming for
``WatchdogSec``. :class:`WatchedFeed` wraps the app's pipeline feed so that

- ``READY=1`` goes out when the app starts the feed, i.e. once its window is built and shown (a terminal without
  a camera still takes ratings, so readiness does not wait for a frame);
- ``WATCHDOG=1`` goes out from the UI's own snapshot poll, and only while the live loop made progress (a frame
  processed, or a camera retry tick) within one watchdog period: a frozen UI or a frozen pipeline both stop the
  pings, and systemd restarts the app like a crashed one.

The protocol is one datagram to ``$NOTIFY_SOCKET``; it is written here rather than taken from a library because
the choices are python-systemd (a compiled system binding) or unmaintained wrappers of these same few lines.
Without ``$NOTIFY_SOCKET`` (not started by systemd) everything here does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify states to ``$NOTIFY_SOCKET``; ``WATCHDOG=1`` at most every half ``$WATCHDOG_USEC``.

    Args:
        environ: the process environment (tests pass their own).
        clock: monotonic seconds.
    """

    def __init__(self, environ: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # An abstract socket's name starts with a NUL byte, which systemd writes as "@".
        self._shown = address
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_s = _watchdog_s(env)
        self._clock = clock
        self._last_ping: float | None = None
        self._failed = False

    @property
    def enabled(self) -> bool:
        """Started by systemd with a notify socket."""
        return bool(self._address)

    def notify(self, state: str) -> bool:
        """Send ``state`` (e.g. ``"READY=1"``); True when sent. A failure is logged once, never raised: systemd
        gone away must not take the terminal down with it."""
        if not self._address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self._address)
                sock.sendall(state.encode())
        except OSError as exc:
            if not self._failed:
                log.warning("cannot notify systemd at %s: %s", self._shown, exc)
            self._failed = True
            return False
        return True

    def ready(self) -> bool:
        return self.notify("READY=1")

    def watchdog(self) -> bool:
        """``WATCHDOG=1``, unless one went out less than half a watchdog period ago (or there is no watchdog)."""
        if self.watchdog_s is None:
            return False
        now = self._clock()
        if self._last_ping is not None and now - self._last_ping < self.watchdog_s / 2:
            return False
        self._last_ping = now
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")


def _watchdog_s(env: Mapping[str, str]) -> float | None:
    """systemd's WatchdogSec in seconds when it is meant for this process, else None."""
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1e6 if value > 0 else None


class WatchedFeed:
    """The app's pipeline feed, reporting to systemd: READY on ``start``, WATCHDOG on ``snapshot`` while healthy.

    Args:
        feed: the real feed (:class:`kiosk.device.live.LiveFeed`, or the demo feed). When it has ``progress_age_s()``
            (seconds since its loop last made progress, None while it (re)starts) a stale loop stops the pings.
        notifier: where the states go.
        startup_grace_s: how long a feed may take to open its camera and load its models, at start or after a
            fault, before it must show progress.
    """

    def __init__(self, feed: Any, notifier: Notifier, *, startup_grace_s: float = 180.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._feed, self._notifier, self._grace, self._clock = feed, notifier, startup_grace_s, clock
        self._starting_since: float | None = None

    def start(self) -> None:
        self._feed.start()
        self._notifier.ready()

    def stop(self) -> None:
        self._notifier.stopping()
        self._feed.stop()

    def set_preview(self, enabled: bool) -> None:
        self._feed.set_preview(enabled)

    def snapshot(self) -> Any:
        snap = self._feed.snapshot()
        if self.healthy():
            self._notifier.watchdog()
        return snap

    def healthy(self) -> bool:
        """The live loop made progress within one watchdog period, or has been (re)starting for less than the grace."""
        age_of = getattr(self._feed, "progress_age_s", None)
        if age_of is None:
            return True
        age = age_of()
        if age is None:  # starting (or restarting after a fault): allowed up to the grace, counted from when seen
            now = self._clock()
            if self._starting_since is None:
                self._starting_since = now
            return now - self._starting_since < self._grace
        self._starting_since = None
        return age < (self._notifier.watchdog_s or float("inf"))
