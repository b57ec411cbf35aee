"""glibc malloc tuned for the commands that run the pose models (``kiosk run``, ``kiosk analyze``): fewer
per-thread arenas, frame-sized blocks given back.

The app runs a dozen and more native threads (Kivy, the camera reader, the pipeline, MediaPipe's graph and
inference threads). glibc gives each thread that allocates concurrently an arena of its own, up to eight per core,
and memory freed into one arena is never reused by another: each keeps its own free pages resident. Two arenas
are enough for a process whose heavy work is one pipeline thread. And glibc raises its mmap threshold each time a
large block is freed, until camera frames (640x480x3, ~0.9 MB) come out of the arenas instead of their own
mappings, where their freed pages stay resident; a fixed threshold keeps them mapped and returned on free.
Measured on the three-person scene (benchmarks/pipeline.py --run-s): about 10 MB off the peak RSS of ``kiosk run``,
15 MB off that of ``kiosk analyze`` (397 -> 381 MB, two landmark workers).

It must run before the process starts its threads: glibc fixes the arena limit the first time a thread needs an
arena, and later calls do not lower it. Elsewhere (not glibc, e.g. musl or macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Any

log = logging.getLogger(__name__)

# glibc's malloc.h
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

ARENA_MAX = 2
# Above this size a block gets its own mapping, handed back to the system when freed (glibc's default start;
# fixing it stops the dynamic raise described above). Small enough for a frame, large enough for the rest.
MMAP_THRESHOLD_BYTES = 256 * 1024


def _glibc() -> Any | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "mallopt") else None
    except OSError:
        return None


def tune_malloc(libc: Any | None = None) -> bool:
    """Limit glibc to :data:`ARENA_MAX` arenas and fix its mmap threshold; True when glibc took both values.

    ``libc``: the C library to configure (tests pass a fake); None loads the process's own.
    """
    libc = libc if libc is not None else _glibc()
    if libc is None:
        log.debug("not glibc: malloc left as it is")
        return False
    ok = libc.mallopt(M_ARENA_MAX, ARENA_MAX) == 1
    ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 and ok
    if not ok:
        log.warning("glibc refused the malloc settings (mallopt): the app uses more memory than it needs")
    return ok
