"""The opt-in debug video of ``kiosk analyze --overlay OUT.mp4``: what the pipeline saw, drawn on the frames.

Privacy (DESIGN §6): this is the only product code that writes frames, and only when an installer asks for
it on the command line, to a local file they name. It is off by default and never runs on the terminal's
live camera path.

Drawn per frame:
- the calibrated zones (image polygons) with their names;
- each observation's skeleton (keypoints at or above the visibility threshold) and its head yaw;
- each tracked person at their floor position: track id, role, zone, and floor arrows for the head (solid)
  and shoulder (thin) headings, half a metre long;
- live indicators between every staff member and customer within the engagement distance: a floor line
  with the distance, green while the staff member engages the customer and "mutual" while both heads face
  each other. These are the episode tracker's own decisions of the frame (``EpisodeTracker.engagements``:
  nearest person in the cone, range and heading uncertainty), drawn, not recomputed, so the installer's video
  shows what the measures used;
- how long each customer track has stood in a waiting zone (this overlay's own count, not the episode
  machine's: arrival debounce and relinking are not applied), and the measures of the last interaction
  that ended.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import cv2
import numpy as np

from kiosk.core.episodes import Engagement
from kiosk.core.geometry import CameraModel
from kiosk.core.interaction import Interaction
from kiosk.core.observation import Observation
from kiosk.core.scene import SceneFrame, TrackedPerson
from kiosk.settings.tree import CameraSettings, ServiceSettings
from kiosk.vocabulary import WAIT_ZONES

# MediaPipe pose topology, the segments worth drawing: face outline, arms, torso, legs.
SKELETON = (
    (0, 2), (0, 5), (2, 7), (5, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
    (11, 23), (12, 24), (23, 24), (23, 25), (25, 27), (24, 26), (26, 28), (27, 29), (28, 30), (27, 31), (28, 32),
)
ZONE_COLOURS = {"staff": (200, 120, 40), "service": (60, 180, 60), "queue": (40, 180, 220)}  # BGR
ROLE_COLOURS = {"staff": (220, 140, 40), "customer": (40, 170, 250)}
ENGAGED, NOT_ENGAGED = (60, 220, 60), (150, 150, 150)
_ARROW_M = 0.5
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _fmt(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


class OverlayError(OSError):
    """The overlay video cannot be written; the message names the file."""


class OverlayWriter:
    """Draws the pipeline's view of each frame and appends it to a video file.

    Args:
        path: the video to write (MPEG-4; the parent directory must exist).
        camera_settings: the calibration (zone polygons in pixels, image size).
        camera: the calibrated camera model (``Pipeline.camera``), to draw floor positions and headings.
        service: the measure definitions: pairs within ``engage_distance_m`` get a line.
        fps: the rate frames are written at (the rate they were analysed at).
        min_visibility: keypoints below this visibility are not drawn.

    Raises:
        OverlayError: on the first frame, when OpenCV cannot open ``path`` for writing.

    Example:
        >>> with OverlayWriter(Path("debug.mp4"), settings.camera, pipeline.camera, settings.service, 10) as ov:
        ...     ended = pipeline.update(t, frame)
        ...     ov.write(frame, observations, pipeline.last_frame, ended, pipeline.engagements)
    """

    def __init__(self, path: Path, camera_settings: CameraSettings, camera: CameraModel,
                 service: ServiceSettings, fps: float, min_visibility: float = 0.5) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        if not 0.0 <= min_visibility <= 1.0:
            raise ValueError(f"min_visibility must be within 0..1, got {min_visibility!r}")
        self.path = Path(path)
        self._zones = [(z.name, np.asarray(z.polygon_px, np.float64)) for z in camera_settings.zones]
        self._size = (camera_settings.width_px, camera_settings.height_px)
        self._camera, self._service, self._fps, self._vis = camera, service, fps, min_visibility
        self._writer: cv2.VideoWriter | None = None
        self._waiting_since: dict[int, float] = {}
        self._last_ended: Interaction | None = None
        self._ended = 0
        self.frames = 0

    def write(self, frame_bgr: np.ndarray, observations: Sequence[Observation], scene: SceneFrame | None,
              ended: Sequence[Interaction] = (), engagements: Sequence[Engagement] = ()) -> None:
        """Draw one analysed frame (not modified) and append it to the video.

        Args:
            frame_bgr: uint8 (height, width, 3), the frame the pipeline analysed.
            observations: what pose + head found in it.
            scene: the tracked people (``Pipeline.last_frame``), or None before tracking.
            ended: interactions that ended with this frame (``Pipeline.update``'s result).
            engagements: who engages and faces whom in this frame, as the episodes decided (``Pipeline.engagements``).
        """
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
            raise ValueError(f"frame_bgr must be a uint8 (height, width, 3) array, got {frame_bgr.dtype} {frame_bgr.shape}")
        image = np.ascontiguousarray(frame_bgr).copy()
        scale = np.array([image.shape[1] / self._size[0], image.shape[0] / self._size[1]])
        self._draw_zones(image, scale)
        for obs in observations:
            self._draw_skeleton(image, obs)
        if scene is not None:
            self._draw_people(image, scene, engagements, scale)
        if ended:
            self._ended += len(ended)
            self._last_ended = ended[-1]
        self._draw_status(image, scene)
        self._video(image).write(image)
        self.frames += 1

    def _video(self, image: np.ndarray) -> cv2.VideoWriter:
        if self._writer is None:
            size = (image.shape[1], image.shape[0])
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*"mp4v"), self._fps, size)
            if not self._writer.isOpened():
                self._writer = None
                raise OverlayError(f"cannot write the overlay video {self.path}: check the directory and the .mp4 suffix")
        return self._writer

    def _draw_zones(self, image: np.ndarray, scale: np.ndarray) -> None:
        shade = image.copy()
        for name, poly in self._zones:
            pts = (poly * scale).round().astype(np.int32)
            cv2.fillPoly(shade, [pts], ZONE_COLOURS[name])
            cv2.polylines(image, [pts], True, ZONE_COLOURS[name], 1, cv2.LINE_AA)
            x, y = pts.min(axis=0)
            cv2.putText(image, name, (int(x) + 3, int(y) + 12), _FONT, 0.4, ZONE_COLOURS[name], 1, cv2.LINE_AA)
        cv2.addWeighted(shade, 0.15, image, 0.85, 0.0, dst=image)

    def _draw_skeleton(self, image: np.ndarray, obs: Observation) -> None:
        h, w = image.shape[:2]
        pts = (obs.keypoints[:, :2] * (w, h)).round().astype(int)
        seen = obs.keypoints[:, 2] >= self._vis
        for a, b in SKELETON:
            if seen[a] and seen[b]:
                cv2.line(image, tuple(pts[a]), tuple(pts[b]), (255, 255, 255), 1, cv2.LINE_AA)
        for p in pts[seen]:
            cv2.circle(image, tuple(p), 2, (0, 220, 255), -1, cv2.LINE_AA)
        if obs.head is not None and seen[0]:
            cv2.putText(image, f"yaw {obs.head.yaw_deg:+.0f}", (int(pts[0][0]) - 18, int(pts[0][1]) - 10), _FONT, 0.33,
                        (0, 220, 255), 1, cv2.LINE_AA)

    def _floor_px(self, xy: tuple[float, float], scale: np.ndarray) -> tuple[int, int] | None:
        uv, z = self._camera.project(np.array([[xy[0], xy[1], 0.0]]))
        if z[0] <= 0.1:
            return None
        u, v = uv[0] * scale
        return int(round(u)), int(round(v))

    def _arrow(self, image: np.ndarray, person: TrackedPerson, heading: float | None, thick: int,
               scale: np.ndarray) -> None:
        if heading is None or person.position_m is None:
            return
        x, y = person.position_m
        a = self._floor_px((x, y), scale)
        b = self._floor_px((x + _ARROW_M * math.cos(heading), y + _ARROW_M * math.sin(heading)), scale)
        if a is not None and b is not None:
            cv2.arrowedLine(image, a, b, ROLE_COLOURS[person.role], thick, cv2.LINE_AA, tipLength=0.3)

    def _draw_people(self, image: np.ndarray, scene: SceneFrame, engagements: Sequence[Engagement],
                     scale: np.ndarray) -> None:
        where = {p.track_id: p.position_m for p in scene.people if p.position_m is not None}
        for e in engagements:
            if e.distance_m > self._service.engage_distance_m or e.staff_id not in where or e.customer_id not in where:
                continue
            a, b = self._floor_px(where[e.staff_id], scale), self._floor_px(where[e.customer_id], scale)
            if a is None or b is None:
                continue
            colour = ENGAGED if e.engaged else NOT_ENGAGED
            cv2.line(image, a, b, colour, 2 if e.engaged else 1, cv2.LINE_AA)
            label = f"{e.distance_m:.2f} m" + (" mutual" if e.mutual else "")
            mid = ((a[0] + b[0]) // 2 + 4, (a[1] + b[1]) // 2)
            cv2.putText(image, label, mid, _FONT, 0.35, colour, 1, cv2.LINE_AA)
        waiting = {}
        for p in scene.people:
            if p.role == "customer" and p.zone in WAIT_ZONES:
                waiting[p.track_id] = self._waiting_since.get(p.track_id, scene.t)
        self._waiting_since = waiting  # a track that leaves the zones or the view starts afresh
        for p in scene.people:
            if p.position_m is None:
                continue
            at = self._floor_px(p.position_m, scale)
            if at is None:
                continue
            colour = ROLE_COLOURS[p.role]
            cv2.circle(image, at, 4, colour, -1, cv2.LINE_AA)
            self._arrow(image, p, p.head_heading_rad, 2, scale)
            self._arrow(image, p, p.body_heading_rad, 1, scale)
            label = f"#{p.track_id} {p.role}" + (f" {p.zone}" if p.zone else "")
            if p.track_id in waiting:
                label += f" {scene.t - waiting[p.track_id]:.1f}s"
            cv2.putText(image, label, (at[0] - 30, at[1] + 16), _FONT, 0.38, colour, 1, cv2.LINE_AA)

    def _draw_status(self, image: np.ndarray, scene: SceneFrame | None) -> None:
        lines = [f"t {scene.t:7.2f} s   people {len(scene.people)}" if scene is not None else "t -",
                 f"interactions ended {self._ended}"]
        x = self._last_ended
        if x is not None:
            lines.append(f"last: greet {_fmt(x.greeting_s, 's')} wait {_fmt(x.wait_s, 's')} "
                         f"dist {_fmt(x.distance_m_median, 'm')} facing {_fmt(x.eye_contact_ratio, '')}")
        for i, text in enumerate(lines):
            org = (6, 16 + 15 * i)
            cv2.putText(image, text, org, _FONT, 0.42, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(image, text, org, _FONT, 0.42, (255, 255, 255), 1, cv2.LINE_AA)

    def close(self) -> None:
        """Finish the file. Safe to call twice."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
