"""People in a video from a fixed camera: detect rarely, follow each person, landmark each person once a frame.

BlazePose's own tracking design, for several people at once (:mod:`kiosk.vision.graphs` has the two models):

- **Detect** with MediaPipe's person detector on a sweep of regions: the full frame and each crop the caller
  passes (the zones' rectangles, where people are too small for the detector on the whole frame). One region per
  frame, so a sweep costs no frame more than one detector pass; a sweep starts every ``redetect_s``, at once when
  a track is lost, and continuously while nobody is tracked.
- **Track**: each person keeps a region of interest (ROI) that the landmark model derives from their own
  landmarks, frame after frame (kept about upright: people at a counter stand); the detector is not needed for
  people already followed. The landmark model looks only at the zone crop the person stands in, so a neighbour
  in the next zone cannot pull it.
- **Keep whom the model barely sees**: a followed person stays while the model's presence score is above
  ``min_tracking_presence`` (a new one needs ``min_presence``). A person barely seen or lost in their own ROI is
  looked for by the detector around it the same frame and landmarked in the detector's ROI; from then on their
  ROI is the detector's, moved with their shoulders (a body cut by the counter makes the landmarks' own ROI
  creep up and in until the model loses it).
- **A second look for a body cut by the counter**: the landmark model often calls nobody a person whose lower
  body is the counter's front; a detection it refuses is landmarked again with the picture below the
  detector's hip line blank, as if the frame ended there, and, if seen then, followed that way, with whatever
  the blank hides (and the hips on its edge) unseen.
- **Resolve duplicates before landmarks**: a detection whose ROI coincides with a tracked person's ROI (or with
  another detection's, from an overlapping region) is the same person and is not landmarked again. Two tracks
  that converge on one person (their landmarks agree) are cut to one.
- **Share models**: one detector and ``landmark_workers`` landmark graphs serve every region and every person;
  memory does not grow with the people in view. With more than one worker, people are landmarked in parallel
  (one core each) and the detector runs beside them.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Self, TypeVar

import cv2
import numpy as np

from kiosk.core.observation import Observation
from kiosk.core.observation import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER
from kiosk.settings.tree import VisionSettings
from kiosk.vision.graphs import Detection, LandmarkFilter, Landmarks, PoseDetector, PoseLandmarker, Roi
from kiosk.vision.pose import Rect, clip_rect, observation_from_landmarks, same_person

T = TypeVar("T")
_VISION = VisionSettings.model_fields
# A detection and a tracked ROI whose centres (the hips, for both) lie within this share of the ROI's side are
# one person; two people that close stand one behind the other, where the detector's own NMS keeps one anyway.
_SAME_ROI_GAP = 0.3
_SAME_ROI_SIZE = 1.5  # ... and whose sides differ by less than this factor
# A detection whose shoulder centre lies this close (share of its ROI side, about 1.25 body heights) to a tracked
# person's shoulders is that person: two people's shoulder centres are a shoulder width (~0.2 of it) apart at least.
_SAME_SHOULDERS_GAP = 0.08
# One frame's change of a person's ROI that a real body can make (at 10-15 fps): larger steps are landmarks that
# latched onto a neighbour or the counter. And the tilt of a standing person (a wide lens leans them a little).
_MAX_GROWTH, _MAX_STEP, _MAX_TURN_RAD = 1.3, 0.35, 0.35
_MAX_TILT_RAD = 0.5


@dataclass(frozen=True)
class TrackerOptions:
    """How :class:`PoseTracker` finds and follows people.

    full_frame: search the whole frame too, not only the crops passed to ``update``.
    redetect_s: a detector sweep over every region starts at least this often (seconds of the source clock).
    max_people: people followed at once (the cost per frame grows with them).
    landmark_workers: landmark graphs run in parallel, one core each (~65 MB each); 0:
        :func:`default_landmark_workers`.
    inference_threads: XNNPACK threads inside each model run; 0: :func:`default_inference_threads`.
    min_detection_confidence: the detector's score threshold, 0..1; a detection above it costs one landmark pass,
        whose presence test decides, so it can sit below the landmarkers' usual 0.5 (people turned away score low).
    min_presence: the landmark model's presence score a newly found person needs, 0..1 (MediaPipe's default 0.5).
    min_tracking_presence: the score that keeps a followed person, 0..1: lower, as MediaPipe's own tracking
        confidence is separate from its detection confidence, because the score of someone turning away or
        bending over flickers about 0.5 from frame to frame, and one low frame must not end their track (a
        lost track waits for the next detector sweep, up to ``redetect_s``).
    min_keypoint_visibility: keypoints below this do not count (bbox, head, duplicates), 0..1.
    duplicate_overlap: two people whose boxes overlap by this share of the smaller box, and whose keypoints
        agree, are one person, 0..1.
    """

    full_frame: bool = True
    # The settings' defaults, written once there (docs/SETTINGS.md), not shadowed here.
    redetect_s: float = _VISION["redetect_s"].default
    max_people: int = _VISION["max_people"].default
    landmark_workers: int = _VISION["landmark_workers"].default
    inference_threads: int = _VISION["inference_threads"].default
    min_detection_confidence: float = _VISION["candidate_min_score"].default
    min_presence: float = 0.5
    min_tracking_presence: float = 0.3
    min_keypoint_visibility: float = 0.5
    duplicate_overlap: float = 0.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.redetect_s) and 0.0 <= self.redetect_s <= 60.0):
            raise ValueError(f"TrackerOptions.redetect_s must be within 0..60 s, got {self.redetect_s!r}")
        for name, low, top in (("max_people", 1, 16), ("landmark_workers", 0, 8), ("inference_threads", 0, 8)):
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= top:
                raise ValueError(f"TrackerOptions.{name} must be a whole number {low}..{top}, got {value!r}")
        for name in ("min_detection_confidence", "min_presence", "min_tracking_presence", "min_keypoint_visibility",
                     "duplicate_overlap"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"TrackerOptions.{name} must be within 0..1, got {value!r}")


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_landmark_workers(cores: int | None = None) -> int:
    """Landmark graphs for a machine with ``cores`` usable cores (None: this process's): two people landmarked
    at once wherever there are two cores. Two separate passes never wait for each other, unlike the two threads
    of one pass; more than two would cost another 65 MB each for a third person at once."""
    return 2 if (cores if cores is not None else _usable_cores()) >= 2 else 1


def default_inference_threads(cores: int | None = None, workers: int = 1) -> int:
    """XNNPACK threads per model run, with ``workers`` landmark graphs on ``cores`` usable cores (None: this
    process's).

    Two halve a landmark pass, but a multi-threaded run waits at every layer for its slowest thread: on two
    cores, with one taken by other work (the app drawing, a sync), a three-person frame took 13 times as long
    with two threads and 3 times with one. So two only where every worker's two threads still leave two cores
    for the rest.
    """
    if cores is None:
        cores = _usable_cores()
    return 2 if cores >= 2 * workers + 2 else 1


def model_parallelism(landmark_workers: int = 0, inference_threads: int = 0) -> tuple[int, int]:
    """(landmark workers, inference threads) a tracker runs with for these settings, 0 meaning this machine's
    default (:func:`default_landmark_workers`, :func:`default_inference_threads`)."""
    workers = landmark_workers or default_landmark_workers()
    return workers, inference_threads or default_inference_threads(workers=workers)


@dataclass
class _Track:
    roi: Roi
    observation: Observation | None
    anchored_t: float  # when a detection last confirmed (and re-anchored) the ROI
    smoother: LandmarkFilter  # this person's landmark smoothing, frame to frame
    pinned: bool = False  # their landmarks' own ROI lost them once: the detector's ROI follows their shoulders
    below_hips: bool = False  # seen only with what lies below their hips blank (a counter cuts them)


def _regions(width: int, height: int, full_frame: bool, crops: Sequence[Sequence[int]] | None) -> list[Rect]:
    regions: list[Rect] = [(0, 0, width, height)] if full_frame else []
    for rect in crops or ():
        clipped = clip_rect(rect, width, height)  # None: too small to hold a detectable person
        if clipped is not None and clipped not in regions:
            regions.append(clipped)
    return regions


def same_roi(a: Roi, b: Roi, width: int, height: int) -> bool:
    """Whether two ROIs of one frame hold the same person: centres close for their size, sizes alike."""
    sa, sb = a.side_px(width, height), b.side_px(width, height)
    if max(sa, sb) > _SAME_ROI_SIZE * min(sa, sb):
        return False
    gap = math.hypot((a.cx - b.cx) * width, (a.cy - b.cy) * height)
    return gap <= _SAME_ROI_GAP * min(sa, sb)


def upright(roi: Roi) -> bool:
    """Whether the ROI holds a person standing about upright, as everyone at a counter does: a detection tilted
    further guessed the hips of a body the counter hides."""
    return abs(roi.rotation) <= _MAX_TILT_RAD


def standing(roi: Roi) -> Roi:
    """``roi`` tilted no further than a standing person leans: landmarks of a body bent over the counter (or
    cut by it) make the next ROI lie sideways, and the landmark model then reads the person as lying down."""
    tilt = max(-_MAX_TILT_RAD, min(_MAX_TILT_RAD, math.remainder(roi.rotation, 2 * math.pi)))
    return roi if tilt == roi.rotation else replace(roi, rotation=tilt)


def plausible_step(before: Roi, after: Roi, width: int, height: int) -> bool:
    """Whether one frame can take a person's ROI from ``before`` to ``after``: a body moves and turns, it does not
    jump, swell or tip over in a fifteenth of a second."""
    side = before.side_px(width, height)
    grown = after.side_px(width, height) / side
    moved = math.hypot((after.cx - before.cx) * width, (after.cy - before.cy) * height)
    tipped = abs(math.remainder(after.rotation - before.rotation, 2 * math.pi))
    return 1 / _MAX_GROWTH <= grown <= _MAX_GROWTH and moved <= _MAX_STEP * side and tipped <= _MAX_TURN_RAD


class PoseTracker:
    """Frames of one fixed camera in, one :class:`Observation` per person out (the PoseEstimator contract).

    Args:
        options: see :class:`TrackerOptions`.

    Raises:
        ModelError: the MediaPipe wheel lacks the pose models or subgraphs.

    Example:
        >>> with PoseTracker() as tracker:
        ...     for t, frame in source:
        ...         people = tracker.update(t, frame, crops=zone_rectangles)
    """

    def __init__(self, options: TrackerOptions = TrackerOptions()) -> None:
        self.options = options
        workers, threads = model_parallelism(options.landmark_workers, options.inference_threads)
        # Load the models now, so a broken installation fails at start-up, not on the first customer.
        self._detector = PoseDetector(threads, options.min_detection_confidence)
        self._detector_lock = threading.Lock()
        floor = min(options.min_presence, options.min_tracking_presence)
        self._landmarkers = [PoseLandmarker(threads, floor) for _ in range(workers)]
        self.landmark_workers, self.inference_threads = workers, threads
        self._free: queue.SimpleQueue[PoseLandmarker] = queue.SimpleQueue()
        for landmarker in self._landmarkers:
            self._free.put(landmarker)
        self._pool = ThreadPoolExecutor(workers, "kiosk-pose") if workers > 1 else None
        self._tracks: list[_Track] = []
        self._sweep: list[Rect] = []  # regions the current detector sweep has still to search
        self._last_sweep_t: float | None = None
        self._last_t: float | None = None
        self._crops: list[Rect] = []  # this frame's zone crops
        self.stage_ms: dict[str, float] = {}  # the last frame's time per stage (detect, landmarks)
        self.backend = "tracker"

    @property
    def tracked(self) -> int:
        """People followed after the last frame."""
        return len(self._tracks)

    # --- one frame ---------------------------------------------------------------------------------------------

    def update(
        self, t: float, frame_bgr: np.ndarray, crops: Sequence[Sequence[int]] | None = None
    ) -> list[Observation]:
        """Find and follow the people in one frame.

        Args:
            t: the frame's time stamp in seconds (source clock), never decreasing.
            frame_bgr: uint8 (height, width, 3) BGR image.
            crops: regions (x0, y0, x1, y1) in pixels, exclusive ends, the detector searches besides the full
                frame; clipped to the frame; regions under 32 px a side are skipped.

        Returns:
            One Observation per person, keypoints and bbox normalised to the full frame.
        """
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
            raise ValueError(
                f"frame_bgr must be a uint8 (height, width, 3) array, got {frame_bgr.dtype} {frame_bgr.shape}"
            )
        if self._last_t is not None and t < self._last_t:
            raise ValueError(f"time must not go backwards: got t={t} after t={self._last_t}")
        self._last_t = t
        height, width = frame_bgr.shape[:2]
        regions = _regions(width, height, self.options.full_frame, crops)
        self._crops = [r for r in regions if r != (0, 0, width, height)]
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        times = {"detect": 0.0, "landmarks": 0.0}

        region = self._next_region(t, regions)
        detection = self._submit(self._timed(times, "detect", lambda: self._detect(rgb, region, width, height))) \
            if region is not None else None
        # Between sweeps, one person a frame whose ROI is due is checked by the detector on a crop around them,
        # where they are whole and large: a landmark-made ROI can creep (a body cut by the counter or the frame
        # edge) or slide onto a neighbour; the detector's puts it back.
        anchor = self._due_anchor(t) if region is None else None
        anchoring = self._submit(self._timed(times, "detect", lambda: self._detect(
            rgb, self._around(anchor.roi, width, height), width, height))) if anchor is not None else None
        # Everyone followed: one landmark pass each on the ROI their last landmarks gave. Each person is taken
        # on as soon as their pass is done, while the workers go on with the others'.
        # (The landmarks' time then includes that following, and a rare recovery's passes twice: they overlap.)
        start = time.perf_counter()
        found = self._landmark_each(rgb, [track.roi for track in self._tracks],
                                    [track.below_hips for track in self._tracks])
        kept: list[_Track] = []
        for track, future in zip(self._tracks, found):
            result = future.result()
            recovered = None
            if result is None or result.presence < self.options.min_presence:
                # Barely seen or lost in the ROI their landmarks gave: the detector, on their surroundings, gives
                # one the model sees them in (a body cut by the counter makes the landmarks' ROI creep up and in
                # until the model loses the person; the detector sees what is there).
                recovered = self._recover(rgb, track, times, width, height)
                if recovered is not None:
                    track.roi, result = recovered
                    track.anchored_t, track.pinned = t, True
                elif result is not None and result.presence < self.options.min_tracking_presence:
                    result = None
            smoothed = track.smoother.smooth(rgb, result, t) if result is not None else None
            if smoothed is None or smoothed.next_roi is None:
                track.smoother.close()
                continue  # lost: out of view, hidden, or the ROI drifted off them
            seen = self._observation(t, smoothed, width, height)
            if recovered is not None:
                track.observation = seen  # in the detector's ROI, set above
                kept.append(track)
                continue
            # A person their own landmarks' ROI once lost keeps the detector's, moved with their shoulders.
            step = self._follow_shoulders(track.roi, track.observation, seen) if track.pinned \
                else standing(smoothed.next_roi)
            if plausible_step(track.roi, step, width, height):
                track.roi, track.observation = step, seen
            else:
                # A body does not jump between frames: these landmarks mixed them up with a neighbour or the
                # counter. This frame reports nothing of them; the next looks where they were.
                track.observation = None
            kept.append(track)
        times["landmarks"] += time.perf_counter() - start
        if len(kept) < len(self._tracks) and not self._sweep:
            self._sweep = list(regions)  # someone was lost: look for them (or for whoever hid them) at once
        self._tracks = self._distinct(kept, width, height)
        if anchoring is not None and anchor is not None and anchor in self._tracks:
            anchor.anchored_t = t
            if anchor.observation is not None:  # without landmarks this frame there are no shoulders to match
                anchor.roi = self._nearest_detection(anchoring.result(), anchor, _SAME_SHOULDERS_GAP, width,
                                                     height) or anchor.roi

        # New people: detections of nobody already followed, each landmarked once to start their track.
        fresh: list[Roi] = []
        for found_now, whole in detection.result() if detection is not None else []:
            followed = self._follower(found_now, width, height)
            if followed is not None:
                # A track's own ROI can creep (a feedback loop through the landmarks of a body cut off by the
                # frame edge or the counter): a detection of the whole person that disagrees with it puts it
                # back. One that agrees changes nothing: the landmarks' ROI is the more precise.
                if whole and upright(found_now.roi) and not same_roi(found_now.roi, followed.roi, width, height):
                    followed.roi = found_now.roi
            elif len(self._tracks) + len(fresh) < self.options.max_people and not any(
                same_roi(found_now.roi, other, width, height) for other in fresh
            ):
                fresh.append(found_now.roi)
        results = self._landmark_all(rgb, fresh, times)
        # A person the counter cuts at the chest: the model, seeing counter where the body should go on, calls
        # nobody there (presence 0.01-0.2 on a detection scored 0.9); with what lies below their hips blank, as if
        # the frame ended there, it sees them (0.9-1.0). A second look for the detections it refused.
        refused = [i for i, r in enumerate(results) if r is None or r.presence < self.options.min_presence]
        second = self._landmark_all(rgb, [fresh[i] for i in refused], times, below_hips=True)
        cut = dict(zip(refused, second))
        for i, roi in enumerate(fresh):
            result = cut.get(i, results[i])
            if result is None or result.presence < self.options.min_presence:
                continue  # the detector's guess, not confirmed by the landmark model
            smoother = LandmarkFilter()
            smoothed = smoother.smooth(rgb, result, t)
            if smoothed is None or smoothed.next_roi is None:
                smoother.close()
                continue
            below_hips = i in cut
            # Of a body seen only above the hips the landmarks' ROI creeps: such a person keeps the detector's.
            self._tracks.append(_Track(roi if below_hips else standing(smoothed.next_roi),
                                       self._observation(t, smoothed, width, height), t, smoother,
                                       pinned=below_hips, below_hips=below_hips))
        self._tracks = self._distinct(self._tracks, width, height)
        self.stage_ms = {k: v * 1e3 for k, v in times.items()}
        return [track.observation for track in self._tracks if track.observation is not None]

    def _next_region(self, t: float, regions: list[Rect]) -> Rect | None:
        due = self._last_sweep_t is None or t - self._last_sweep_t >= self.options.redetect_s
        if not self._sweep and (due or not self._tracks):
            self._sweep = list(regions)
            self._last_sweep_t = t
        return self._sweep.pop(0) if self._sweep else None

    def _detect_timed(self, rgb: np.ndarray, region: Rect, width: int, height: int,
                      times: dict[str, float]) -> list[tuple[Detection, bool]]:
        return self._timed(times, "detect", lambda: self._detect(rgb, region, width, height))()

    def _detect(self, rgb: np.ndarray, region: Rect, width: int, height: int) -> list[tuple[Detection, bool]]:
        """Detections in ``region``, full-frame coordinates, each with whether the region holds all of its ROI
        (a person cut by a crop's edge, not the frame's, gets a distorted ROI from the detector)."""
        x0, y0, x1, y1 = region
        crop = rgb if (x0, y0, x1, y1) == (0, 0, width, height) else np.ascontiguousarray(rgb[y0:y1, x0:x1])
        found = []
        with self._detector_lock:  # one graph: a sweep (on a worker) and a recovery may both want it
            detections = self._detector.detect(crop)
        for detection in detections:
            roi = detection.roi
            half_w, half_h = roi.width / 2 * (x1 - x0), roi.height / 2 * (y1 - y0)
            cx, cy = x0 + roi.cx * (x1 - x0), y0 + roi.cy * (y1 - y0)
            whole = ((x0 == 0 or cx - half_w >= x0) and (x1 == width or cx + half_w <= x1)
                     and (y0 == 0 or cy - half_h >= y0) and (y1 == height or cy + half_h <= y1))
            found.append((detection.in_frame(region, width, height), whole))
        return found

    def _follower(self, found: Detection, width: int, height: int) -> _Track | None:
        """The track already following the person ``found``: the same ROI, or shoulders where theirs are."""
        side = found.roi.side_px(width, height)
        for track in self._tracks:
            if same_roi(found.roi, track.roi, width, height):
                return track
            if self._shoulder_gap(found, track, width, height) <= _SAME_SHOULDERS_GAP * side:
                return track
        return None

    def _recover(self, rgb: np.ndarray, track: _Track, times: dict[str, float], width: int,
                 height: int) -> tuple[Roi, Landmarks] | None:
        """The person ``track`` follows, found again by the detector around their ROI and landmarked in the
        detector's ROI: (that ROI, their landmarks), or None when the detector or the model does not see them."""
        found = self._detect_timed(rgb, self._around(track.roi, width, height), width, height, times)
        roi = self._nearest_detection(found, track, _SAME_ROI_GAP, width, height)
        if roi is None:
            return None
        [result] = self._landmark_all(rgb, [roi], times, [track.below_hips])
        return (roi, result) if result is not None and result.presence >= self.options.min_presence else None

    def _nearest_detection(self, found: list[tuple[Detection, bool]], track: _Track, share: float, width: int,
                           height: int) -> Roi | None:
        """The ROI of the upright detection nearest the person ``track`` follows (by their shoulders when their
        landmarks are seen, else by the ROI's centre), within ``share`` of that detection's ROI side; or None."""
        def gap(f: Detection) -> float:
            if track.observation is not None:
                return self._shoulder_gap(f, track, width, height)
            return math.hypot((f.roi.cx - track.roi.cx) * width, (f.roi.cy - track.roi.cy) * height)

        near = [(gap(f), f) for f, _ in found if upright(f.roi)]
        near = [(g, f) for g, f in near if g <= share * f.roi.side_px(width, height)]
        return min(near, key=lambda n: n[0])[1].roi if near else None

    @staticmethod
    def _follow_shoulders(roi: Roi, before: Observation | None, now: Observation) -> Roi:
        if before is None:
            return roi
        step = (now.keypoints[[LEFT_SHOULDER, RIGHT_SHOULDER], :2].mean(axis=0)
                - before.keypoints[[LEFT_SHOULDER, RIGHT_SHOULDER], :2].mean(axis=0))
        if not np.isfinite(step).all():
            return roi
        return replace(roi, cx=roi.cx + float(step[0]), cy=roi.cy + float(step[1]))

    @staticmethod
    def _shoulder_gap(found: Detection, track: _Track, width: int, height: int) -> float:
        """Pixels between the detection's shoulder centre and the track's (infinite without landmarks)."""
        if track.observation is None:
            return math.inf
        shoulders = track.observation.keypoints[[LEFT_SHOULDER, RIGHT_SHOULDER], :2].mean(axis=0)
        return math.hypot((shoulders[0] - found.shoulders[0]) * width, (shoulders[1] - found.shoulders[1]) * height)

    def _due_anchor(self, t: float) -> _Track | None:
        due = [track for track in self._tracks if t - track.anchored_t >= self.options.redetect_s]
        return min(due, key=lambda track: track.anchored_t) if due else None

    @staticmethod
    def _around(roi: Roi, width: int, height: int) -> Rect:
        """A square of 1.5 ROI sides about the ROI's centre, clipped to the frame: the person whole and large."""
        half = 0.75 * roi.side_px(width, height)
        cx, cy = roi.cx * width, roi.cy * height
        rect = clip_rect((int(cx - half), int(cy - half), int(math.ceil(cx + half)), int(math.ceil(cy + half))),
                         width, height)
        return rect if rect is not None else (0, 0, width, height)

    def _landmark_all(self, rgb: np.ndarray, rois: list[Roi], times: dict[str, float],
                      below_hips: bool | Sequence[bool] = False) -> list[Landmarks | None]:
        """One landmark pass per ROI; ``below_hips`` (one for all, or per ROI): blank the frame below the ROI's
        centre (the hips) for that pass."""
        start = time.perf_counter()
        results = [future.result() for future in self._landmark_each(rgb, rois, below_hips)]
        times["landmarks"] += time.perf_counter() - start
        return results

    def _landmark_each(self, rgb: np.ndarray, rois: list[Roi],
                       below_hips: bool | Sequence[bool] = False) -> list[Future[Landmarks | None]]:
        """:meth:`_landmark_all`, each pass's result due as soon as it is done."""
        height, width = rgb.shape[:2]
        cuts = [below_hips] * len(rois) if isinstance(below_hips, bool) else list(below_hips)

        def one(roi: Roi, cut: bool) -> Landmarks | None:
            row = max(0, min(height, round(roi.cy * height)))
            landmarker = self._free.get()  # at most landmark_workers run at once: one is always free
            try:
                found = landmarker.landmarks(rgb, roi, self._region_of(roi, width, height),
                                             blank_from_row=row if cut else None)
            finally:
                self._free.put(landmarker)
            if not cut or found is None:
                return found
            # What lies below the blank edge is a guess, and so are the hips the model puts on that edge.
            hips = float(found.keypoints[[LEFT_HIP, RIGHT_HIP], 1].min())
            return found.unseen_below(min(row / height, hips))

        return [self._submit(lambda roi=roi, cut=cut: one(roi, cut)) for roi, cut in zip(rois, cuts)]

    def _region_of(self, roi: Roi, width: int, height: int) -> Rect | None:
        """The smallest zone crop the person's hips stand in, or None (the whole frame): the landmark model
        then sees only their zone, so a neighbour in the next zone or the counter's edge cannot pull it."""
        x, y = roi.cx * width, roi.cy * height
        inside = [r for r in self._crops if r[0] <= x < r[2] and r[1] <= y < r[3]]
        return min(inside, key=lambda r: (r[2] - r[0]) * (r[3] - r[1])) if inside else None

    def _submit(self, fn: Callable[[], T]) -> Future[T]:
        if self._pool is not None:
            return self._pool.submit(fn)
        done: Future[T] = Future()
        done.set_result(fn())
        return done

    @staticmethod
    def _timed(times: dict[str, float], name: str, fn: Callable[[], T]) -> Callable[[], T]:
        def run() -> T:
            start = time.perf_counter()
            try:
                return fn()
            finally:
                times[name] += time.perf_counter() - start

        return run

    def _observation(self, t: float, result: Landmarks, width: int, height: int) -> Observation:
        return observation_from_landmarks(t, result.keypoints, result.world, self.options.min_keypoint_visibility,
                                          aspect=width / height)

    def _distinct(self, tracks: list[_Track], width: int, height: int) -> list[_Track]:
        """One track per person: of two tracks whose landmarks agree (or whose ROIs coincide), the better seen."""
        kept: list[_Track] = []
        ranked = sorted(tracks, key=lambda k: k.observation.score if k.observation else 0.0, reverse=True)
        for track in ranked:
            if not any(self._duplicate(track, other, width, height) for other in kept):
                kept.append(track)
            else:
                track.smoother.close()
        return kept

    def _duplicate(self, a: _Track, b: _Track, width: int, height: int) -> bool:
        if same_roi(a.roi, b.roi, width, height):
            return True
        if a.observation is None or b.observation is None:
            return False
        return same_person(a.observation, b.observation, self.options.min_keypoint_visibility,
                           self.options.duplicate_overlap, width / height)

    # --- lifetime ----------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the models and worker threads. Safe to call twice."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._detector.close()
        for landmarker in self._landmarkers:
            landmarker.close()
        self._landmarkers = []
        for track in self._tracks:
            track.smoother.close()
        self._tracks = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
