"""Frames in: a USB/V4L2 camera, a video file, or the Pi camera, as ``(t_seconds, frame_bgr)`` pairs.

Frames live in memory only: nothing here writes, logs or sends pixels (DESIGN §6). Time stamps are the
source's own clock: the video's presentation time for files (so a recorded scene replays identically), seconds
since opening for live cameras. ``max_fps`` drops frames to hold a rate, on that same clock.

    with open_source("0", size=(640, 480), max_fps=10) as source:
        for t, frame in source:
            ...
"""

from __future__ import annotations

import logging
import math
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import cv2
import numpy as np

logger = logging.getLogger(__name__)

Frame = tuple[float, np.ndarray]

MIN_SIZE = (160, 120)
MAX_SIZE = (4096, 4096)
# A file that stops this far short of the frame count in its header was cut off or damaged. Containers
# estimate the count from duration x rate, so a couple of percent is normal slack.
_TRUNCATION_SLACK = 0.02
_CAMERA_RETRIES = 30  # consecutive failed reads before a live camera counts as lost (~1 s at 30 fps)


class SourceError(Exception):
    """A frame source cannot be opened or stopped delivering frames; the message says what to check."""


class CameraNotFoundError(SourceError):
    """No camera answers at the requested index (or no Pi camera is connected)."""


class VideoFileError(SourceError):
    """A video file is missing, unreadable, not a video, or truncated/corrupt."""


class UnsupportedResolutionError(SourceError):
    """The requested frame size is out of range or the camera cannot deliver it."""


def check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    """Validate a requested (width, height) in pixels.

    Raises:
        UnsupportedResolutionError: naming the size and the allowed range.
    """
    if size is None:
        return None
    if len(size) != 2 or not all(isinstance(v, (int, np.integer)) for v in size):
        raise UnsupportedResolutionError(f"size must be (width, height) in whole pixels, got {size!r}")
    w, h = int(size[0]), int(size[1])
    if not (MIN_SIZE[0] <= w <= MAX_SIZE[0] and MIN_SIZE[1] <= h <= MAX_SIZE[1]):
        raise UnsupportedResolutionError(
            f"size {w}x{h} is not supported: width must be {MIN_SIZE[0]}..{MAX_SIZE[0]} and height "
            f"{MIN_SIZE[1]}..{MAX_SIZE[1]} pixels"
        )
    return w, h


def check_negotiated(device: str, requested: tuple[int, int], delivered: tuple[int, int]) -> None:
    """Raise when a camera delivers another size than asked (drivers silently fall back to one they have).

    Raises:
        UnsupportedResolutionError: naming the device, both sizes and what to do.
    """
    if tuple(requested) != tuple(delivered):
        raise UnsupportedResolutionError(
            f"{device} cannot deliver {requested[0]}x{requested[1]}; it gave {delivered[0]}x{delivered[1]}. "
            "Set camera.width_px/height_px to a mode the camera lists (`v4l2-ctl --list-formats-ext`)"
        )


class FrameSource(ABC):
    """Iterable of ``(t_seconds, frame_bgr)``; frames are uint8 (height, width, 3) BGR arrays.

    Args:
        max_fps: at most this many frames per second of the source's clock are yielded; None = all.

    Use as a context manager (or call :meth:`close`) so the device or file is released.
    """

    def __init__(self, max_fps: float | None = None) -> None:
        if max_fps is not None and not (math.isfinite(max_fps) and max_fps > 0):
            raise ValueError(f"max_fps must be a positive number of frames per second or None, got {max_fps!r}")
        self.max_fps = max_fps
        self._closed = False

    @abstractmethod
    def _frames(self) -> Iterator[tuple[float, Callable[[], np.ndarray]]]:
        """Every frame's time stamp with a function that decodes it (skipped frames are never decoded)."""

    @property
    def nominal_fps(self) -> float | None:
        """The rate the source claims (file header or driver), or None when unknown."""
        return None

    @property
    def frame_count(self) -> int | None:
        """Frames in a file according to its header (for progress), None for live sources."""
        return None

    def __iter__(self) -> Iterator[Frame]:
        if self._closed:
            raise SourceError(f"{self!r} is closed")
        period = 1.0 / self.max_fps if self.max_fps else 0.0
        next_due: float | None = None
        for t, decode in self._frames():
            # Keep a frame when it reaches the next slot of the capped rate. The slot schedule (rather than
            # "period since the last kept frame") holds the average rate when it is not a divisor of the
            # source's; after a stall it restarts from the current frame instead of bursting to catch up.
            if next_due is not None and t < next_due - 1e-6:
                continue
            next_due = t + period if next_due is None or next_due + period < t else next_due + period
            yield t, decode()

    def close(self) -> None:
        """Release the device or file. Safe to call twice."""
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _ready(frame: np.ndarray) -> Callable[[], np.ndarray]:
    """A live frame is decoded already; wrap it like a file's lazy decode."""
    return lambda: frame


def _resize(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or (frame.shape[1], frame.shape[0]) == size:
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


class VideoFileSource(FrameSource):
    """Frames of a video file, stamped with the video's own clock.

    Args:
        path: the video file.
        max_fps: cap on the yielded rate (the file's clock), or None for every frame.
        size: (width, height) to resize frames to, or None to keep the file's size.

    Raises:
        VideoFileError: at construction for a missing, unreadable or undecodable file; while iterating when
            the file ends well before the frame count its header promises (truncated or corrupt).
        UnsupportedResolutionError: for a ``size`` out of range.
    """

    def __init__(self, path: Path | str, max_fps: float | None = None, size: tuple[int, int] | None = None) -> None:
        super().__init__(max_fps)
        self.path = Path(path)
        self.size = check_size(size)
        if not self.path.exists():
            raise VideoFileError(f"video file {self.path} does not exist")
        if not self.path.is_file() or not os.access(self.path, os.R_OK):
            raise VideoFileError(f"video file {self.path} is not a readable file")
        # FFmpeg explicitly: the default backend list would read a name like "a%02d.png" as an image sequence.
        self._cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not self._cap.isOpened():
            self._cap.release()
            raise VideoFileError(
                f"cannot open {self.path} as a video: the file is corrupt or not a format FFmpeg can decode"
            )
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self._fps = fps if math.isfinite(fps) and 0.0 < fps < 1000.0 else None
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self._count = int(count) if math.isfinite(count) and count > 0 else None

    @property
    def nominal_fps(self) -> float | None:
        return self._fps

    @property
    def frame_count(self) -> int | None:
        return self._count

    def __repr__(self) -> str:
        return f"VideoFileSource({str(self.path)!r})"

    def _frames(self) -> Iterator[tuple[float, Callable[[], np.ndarray]]]:
        cap = self._cap
        index = 0
        last_t = -math.inf
        while cap.grab():
            t = self._timestamp(index, last_t)
            index += 1
            last_t = t
            yield t, self._retrieve
        if index == 0:
            raise VideoFileError(f"no frame of {self.path} could be decoded: the file is empty or corrupt")
        if self._count is not None and index < self._count * (1.0 - _TRUNCATION_SLACK) - 1:
            raise VideoFileError(
                f"{self.path} ended after {index} of the {self._count} frames its header announces: "
                "the file is truncated or corrupt"
            )

    def _timestamp(self, index: int, last_t: float) -> float:
        # The container's presentation time of the frame just grabbed; some files report nothing useful, so
        # fall back to index / fps, and keep the clock strictly increasing either way.
        t = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if not math.isfinite(t) or t <= last_t:
            t = index / self._fps if self._fps else index / 25.0
        if t <= last_t:
            t = last_t + 1e-3
        return t

    def _retrieve(self) -> np.ndarray:
        ok, frame = self._cap.retrieve()
        if not ok or frame is None:
            raise VideoFileError(f"a frame of {self.path} could not be decoded: the file is corrupt")
        return _resize(frame, self.size)

    def close(self) -> None:
        self._cap.release()
        super().close()


class CameraSource(FrameSource):
    """A USB or V4L2 camera by index, stamped with seconds since it opened (monotonic clock).

    Args:
        index: the camera index (``/dev/video<index>`` on Linux).
        size: (width, height) to capture; the camera must deliver exactly this.
        max_fps: cap on the yielded rate, or None.
        clock: seconds, monotonic; replaceable in tests.

    Raises:
        CameraNotFoundError: nothing answers at ``index``.
        UnsupportedResolutionError: ``size`` is out of range or the camera falls back to another size.
    """

    def __init__(
        self,
        index: int = 0,
        size: tuple[int, int] | None = (640, 480),
        max_fps: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(max_fps)
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"camera index must be a whole number >= 0, got {index!r}")
        self.index = index
        self.size = check_size(size)
        self._clock = clock
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraNotFoundError(f"no camera at index {index}: is it plugged in / enabled? try `kiosk doctor`")
        if self.size is not None:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self._cap.release()
            raise CameraNotFoundError(
                f"camera {index} opened but delivers no frames: is another program using it? try `kiosk doctor`"
            )
        if self.size is not None:
            try:
                check_negotiated(f"camera {index}", self.size, (frame.shape[1], frame.shape[0]))
            except UnsupportedResolutionError:
                self._cap.release()
                raise
        self._t0 = clock()

    @property
    def nominal_fps(self) -> float | None:
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        return fps if math.isfinite(fps) and fps > 0 else None

    def __repr__(self) -> str:
        return f"CameraSource({self.index})"

    def _frames(self) -> Iterator[tuple[float, Callable[[], np.ndarray]]]:
        failures = 0
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                failures += 1
                if failures >= _CAMERA_RETRIES:
                    raise SourceError(f"camera {self.index} stopped delivering frames: unplugged? try `kiosk doctor`")
                continue
            failures = 0
            yield self._clock() - self._t0, _ready(frame)

    def close(self) -> None:
        self._cap.release()
        super().close()


class PiCameraSource(FrameSource):
    """The Raspberry Pi camera through picamera2 (imported only here, only when used).

    Args:
        size: (width, height) of the main stream; the sensor pipeline must deliver exactly this.
        max_fps: cap on the yielded rate, or None.

    Time stamps are the sensor's (SensorTimestamp), in seconds since the first frame.

    Raises:
        SourceError: picamera2 is not importable (Raspberry Pi OS ships it as python3-picamera2; the venv must
            see system packages).
        CameraNotFoundError: no camera is connected or enabled.
        UnsupportedResolutionError: the size is out of range or the pipeline adjusts it.
    """

    def __init__(self, size: tuple[int, int] = (640, 480), max_fps: float | None = None) -> None:
        super().__init__(max_fps)
        checked = check_size(size)
        if checked is None:
            raise UnsupportedResolutionError("the Pi camera needs a (width, height) size, got None")
        self.size = checked
        try:
            from picamera2 import Picamera2  # type: ignore[import-not-found]
        except ImportError as exc:
            raise SourceError(
                "picamera2 is not importable: on Raspberry Pi OS install python3-picamera2 and create the venv "
                "with --system-site-packages"
            ) from exc
        try:
            self._cam: Any = Picamera2()
        except (IndexError, RuntimeError) as exc:
            raise CameraNotFoundError(
                "no Pi camera found: is the ribbon cable seated and the camera enabled? try `kiosk doctor`"
            ) from exc
        # "RGB888" is picamera2's name for 24-bit pixels stored B, G, R: what OpenCV calls BGR.
        # A capped rate is asked of the sensor too: frames it never takes cost no CPU and no heat.
        controls = {"FrameRate": float(max_fps)} if max_fps else {}
        config = self._cam.create_video_configuration(
            main={"size": self.size, "format": "RGB888"}, controls=controls
        )
        self._cam.align_configuration(config)
        try:
            check_negotiated("the Pi camera", self.size, tuple(config["main"]["size"]))
        except UnsupportedResolutionError:
            self._cam.close()
            raise
        self._cam.configure(config)
        self._cam.start()
        self._t0_ns: int | None = None

    def __repr__(self) -> str:
        return "PiCameraSource()"

    def _frames(self) -> Iterator[tuple[float, Callable[[], np.ndarray]]]:
        while True:
            request = self._cam.capture_request()
            try:
                frame = request.make_array("main").copy()
                stamp_ns = int(request.get_metadata().get("SensorTimestamp", time.monotonic_ns()))
            finally:
                request.release()
            if self._t0_ns is None:
                self._t0_ns = stamp_ns
            yield (stamp_ns - self._t0_ns) / 1e9, _ready(frame)

    def close(self) -> None:
        try:
            self._cam.stop()
            self._cam.close()
        finally:
            super().close()


def open_source(
    spec: str | int | Path, size: tuple[int, int] | None = None, max_fps: float | None = None
) -> FrameSource:
    """Open a source from a command-line style spec.

    Args:
        spec: a camera index ("0", 0), "picamera" for the Pi camera, or a video file path.
        size: capture size for cameras (default 640x480); resize target for files (default: keep).
        max_fps: cap on the yielded rate, or None.

    Example:
        >>> with open_source("tests/data/scene.avi", max_fps=10) as src: ...
    """
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return CameraSource(int(spec), size=size or (640, 480), max_fps=max_fps)
    if isinstance(spec, str) and spec.lower() in ("picamera", "picamera2", "pi"):
        return PiCameraSource(size=size or (640, 480), max_fps=max_fps)
    return VideoFileSource(Path(spec), max_fps=max_fps, size=size)
