"""`kiosk run` limits glibc's malloc arenas and fixes its mmap threshold, first thing, before any thread starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.device.allocator import ARENA_MAX, M_ARENA_MAX, M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES, tune_malloc


class FakeLibc:
    def __init__(self, answer: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.answer = answer

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.answer


def test_tune_malloc_asks_glibc_for_two_arenas_and_a_fixed_mmap_threshold():
    libc = FakeLibc()
    assert tune_malloc(libc) is True
    assert libc.calls == [(M_ARENA_MAX, 2), (M_MMAP_THRESHOLD, 256 * 1024)]
    assert (ARENA_MAX, MMAP_THRESHOLD_BYTES) == (2, 256 * 1024)


def test_tune_malloc_reports_a_refusal():
    assert tune_malloc(FakeLibc(answer=0)) is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_process_glibc_takes_the_settings():
    assert tune_malloc() is True


# kiosk run with the app replaced by a stub: how many threads the process has when tune_malloc runs, and whether
# the app starts after it.
# (The stub is put in place only then: importing the app's modules loads NumPy, whose OpenBLAS starts threads.)
SCRIPT = """
import kiosk.device.allocator as allocator
from kiosk.cli import main

real = allocator.tune_malloc
def tune():
    threads = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("Threads:"))
    print("tuned with threads", threads, real())
    import kiosk.terminal.launch as launch
    launch.run_terminal = lambda settings, factory: print("app started")
allocator.tune_malloc = tune
raise SystemExit(main(["run", "--source", "demo"]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_kiosk_run_tunes_malloc_while_the_process_has_one_thread_before_the_app_starts(tmp_path):
    env = {**os.environ, "KIOSK_STORE__DATA_DIR": str(tmp_path / "var")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, env=env,
                         cwd=Path(__file__).resolve().parents[2], check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["tuned with threads 1 True", "app started"]
