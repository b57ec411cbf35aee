"""Drop frames, never queue them: a live source read in its own thread, handing out only its newest frame.

A camera driver buffers a few frames; a consumer slower than the camera would work through that backlog,
analysing ever older frames stamped with the time they were *read*, not taken. Wrapped in
:class:`NewestFrames`, the driver is drained as fast as it delivers (so each stamp is taken as the frame
arrives), and each iteration step gets the newest frame not yet handed out; the ones in between are dropped and
counted. Frames stay in memory only (DESIGN §6): at most one is held besides the one being analysed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Self

import numpy as np

Frame = tuple[float, np.ndarray]


class NewestFrames:
    """Iterate a live frame source at the consumer's pace, skipping the frames it had no time for.

    Args:
        source: an iterable of ``(t, frame)`` with ``close()`` (a :class:`kiosk.vision.source.FrameSource`).

    Attributes:
        dropped: frames read from the source but never handed out, so far.
        delivered: frames handed out so far.

    A source error is raised from the iteration once the frames read before it are handed out.
    """

    def __init__(self, source: Iterable[Frame] | Any) -> None:
        self._source = source
        self._cond = threading.Condition()
        self._newest: Frame | None = None
        self._error: BaseException | None = None
        self._ended = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.delivered = 0

    @property
    def nominal_fps(self) -> float | None:
        return getattr(self._source, "nominal_fps", None)

    def _read(self) -> None:
        try:
            for item in self._source:
                with self._cond:
                    if self._newest is not None:
                        self.dropped += 1  # the consumer was busy: this one is stale now
                    self._newest = item
                    self._cond.notify()
                if self._stopping.is_set():
                    break
        except BaseException as exc:  # handed to the consumer's thread, where it is raised
            with self._cond:
                self._error = exc
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify()

    def __iter__(self) -> Iterator[Frame]:
        """Start reading (once) and hand out frames as the consumer asks for them."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._read, name="kiosk-frames", daemon=True)
            self._thread.start()
        return self._handed_out()

    def _handed_out(self) -> Iterator[Frame]:
        while True:
            with self._cond:
                while self._newest is None and not self._ended:
                    self._cond.wait()
                item, self._newest = self._newest, None
                if item is None:
                    if self._error is not None:
                        raise self._error
                    return
            self.delivered += 1
            yield item

    def close(self) -> None:
        """Stop reading and release the source. Safe to call twice."""
        self._stopping.set()
        if self._thread is not None:
            # The reader stops after its current read (a frame period); a stalled driver is released anyway.
            self._thread.join(timeout=2.0)
        self._source.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
