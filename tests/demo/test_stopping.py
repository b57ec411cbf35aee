"""A stop asked of the demo (Ctrl+C, SIGTERM) is never lost, even when its KeyboardInterrupt is raised where Python
drops it: inside a finalizer."""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
import threading
import weakref
from concurrent.futures import Future

import pytest

from kiosk.demo.stopping import STOP, stop_on_signals


class Pool:
    """Stands for urllib3's connection pool, which closes itself from a finalizer."""


def stop_dropped_by_a_finalizer(unraisable: list) -> None:
    pool = Pool()
    weakref.finalize(pool, signal.raise_signal, signal.SIGTERM)
    del pool
    gc.collect()
    assert [type(u.exc_value) for u in unraisable] == [KeyboardInterrupt], "the finalizer should have dropped it"


@pytest.fixture
def unraisable(monkeypatch) -> list:
    seen: list = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    return seen


def test_a_stop_dropped_by_a_finalizer_is_raised_at_the_next_checkpoint(unraisable):
    with stop_on_signals():
        stop_dropped_by_a_finalizer(unraisable)
        with pytest.raises(KeyboardInterrupt, match="signal 15"):
            STOP.check()


@pytest.fixture(params=["for a worker's day", "for the server"])
def a_long_wait(request):
    """What the demo waits on, bounded at 10 s should the stop not end the wait."""
    if request.param == "for the server":
        server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(10)"])
        yield lambda: STOP.wait(server)
        server.kill()
        server.wait()
    else:
        day: Future = Future()
        timer = threading.Timer(10, day.set_result, ["the day's interactions"])
        timer.start()
        yield lambda: STOP.result(day)
        timer.cancel()


def test_a_long_wait_ends_with_a_dropped_stop(unraisable, a_long_wait):
    with stop_on_signals():
        stop_dropped_by_a_finalizer(unraisable)
        with pytest.raises(KeyboardInterrupt):
            a_long_wait()


def test_a_waited_result_comes_back_when_no_stop_was_asked():
    done: Future = Future()
    done.set_result(7)
    with stop_on_signals():
        assert STOP.result(done) == 7


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl+C", "SIGTERM"])
def test_a_stop_inside_a_held_block_waits_for_its_end(signum):
    finished = []
    with stop_on_signals():
        with pytest.raises(KeyboardInterrupt):
            with STOP.held():
                signal.raise_signal(signum)
                finished.append("the child is on record")
    assert finished == ["the child is on record"]


def test_the_previous_handlers_and_no_request_are_back_after_the_block():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with pytest.raises(KeyboardInterrupt):
        with stop_on_signals():
            signal.raise_signal(signal.SIGTERM)
    assert {s: signal.getsignal(s) for s in before} == before
    STOP.check()  # no request left over for the next run in this process
