"""`kiosk run` and `kiosk analyze` limit glibc's malloc arenas and fix its mmap threshold, first thing, before any
thread starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.device.allocator import ARENA_MAX, M_ARENA_MAX, M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES, tune_malloc


ROOT = Path(__file__).resolve().parents[2]


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


# kiosk run (or analyze) with the app (or the analysis) replaced by a stub: how many threads the process has when
# tune_malloc runs, and whether the work starts after it.
# (The stub is put in place only then: importing the app's modules loads NumPy, whose OpenBLAS starts threads.)
SCRIPT = """
import sys
import kiosk.device.allocator as allocator
from kiosk.cli import main

real = allocator.tune_malloc
def tune():
    threads = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("Threads:"))
    print("tuned with threads", threads, real())
    import kiosk.terminal.launch as launch
    import kiosk.device.pipeline as pipeline
    launch.run_terminal = lambda settings, factory: print("work started")
    pipeline.analyze_video = lambda *args, **kwargs: print("work started") or {"frames": 0, "interactions": []}
allocator.tune_malloc = tune
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("command", [["run", "--source", "demo"], ["analyze", "clip.mp4", "--quiet", "--out", "out.json"]])
def test_the_model_commands_tune_malloc_while_the_process_has_one_thread_before_the_work_starts(tmp_path, command):
    env = {**os.environ, "KIOSK_STORE__DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, *command], capture_output=True, text=True, timeout=60,
                         env=env, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["tuned with threads 1 True", "work started"]
