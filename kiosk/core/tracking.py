"""Observations -> tracked people on the floor, with roles from the calibrated zones.

Tracking runs on floor positions (metres), not pixels: two people 0.7 m apart at the counter can be a few
pixels apart in the image but are clearly apart on the floor. norfair does the matching and keeps a track
through short misses; the track id lives only in memory.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from norfair import Detection, Tracker

from kiosk.core.angles import wrap_rad
from kiosk.settings.tree import BodySettings, CameraSettings, CounterSettings, TrackingSettings
from kiosk.core.geometry import (
    CameraModel, FloorFix, apply_homography, camera_from_floor_points, heading_from_yaw, intrinsics_from_hfov,
    locate_person, point_in_polygon, refine_with_height,
)
from kiosk.core.observation import Observation
from kiosk.core.placement import FloorEstimate, hidden_by_counter, zone_posterior
from kiosk.core.plausibility import FEET, HEAD, KNEES, check_skeleton
from kiosk.core.scene import SceneFrame, TrackedPerson
from kiosk.vocabulary import Role, ZoneName

# When zones overlap, the more specific one wins: behind the counter is staff, at the counter is service.
_ZONE_PRIORITY: tuple[ZoneName, ...] = ("staff", "service", "queue")


@dataclass(frozen=True, eq=False)
class ZoneMap:
    """Zone polygons on the floor (metres), converted once from the image polygons of the calibration."""

    polygons: tuple[tuple[ZoneName, np.ndarray], ...]

    @classmethod
    def from_camera_settings(cls, camera: CameraModel, settings: CameraSettings) -> "ZoneMap":
        H = floor_homography(camera)
        return cls(tuple((z.name, apply_homography(H, np.asarray(z.polygon_px, float))) for z in settings.zones))

    def zone_of(self, floor_xy: tuple[float, float]) -> ZoneName | None:
        for name in _ZONE_PRIORITY:
            for zname, poly in self.polygons:
                if zname == name and point_in_polygon(floor_xy, poly):
                    return name
        return None

    def polygons_named(self, name: ZoneName) -> list[np.ndarray]:
        return [poly for zname, poly in self.polygons if zname == name]


def floor_homography(camera: CameraModel) -> np.ndarray:
    """Image pixels -> floor metres (3, 3) for points on the floor plane z = 0."""
    Hfi = camera.K @ np.stack([camera.R[:, 0], camera.R[:, 1], camera.t], axis=1)
    Hif = np.linalg.inv(Hfi)
    return Hif / Hif[2, 2]


def camera_from_settings(settings: CameraSettings) -> CameraModel:
    """The calibrated camera: intrinsics from the field of view, pose from the tape marks."""
    if len(settings.floor_points) < 4:
        raise ValueError("the camera is not calibrated: run `kiosk calibrate` to mark four or more floor points")
    K = intrinsics_from_hfov(settings.width_px, settings.height_px, settings.hfov_deg)
    img = np.array([p.image_px for p in settings.floor_points], float)
    flo = np.array([p.floor_m for p in settings.floor_points], float)
    camera = camera_from_floor_points(img, flo, K, settings.width_px, settings.height_px)
    return refine_with_height(camera, img, flo, settings.height_m)


class FloorTracker:
    """``update(t, observations) -> SceneFrame``: place, track and classify everyone in one frame.

    Args:
        camera: the calibrated camera.
        zones: floor zones.
        tracking: matching distance, memory and smoothing.
        body: height prior for placing people on the floor.
        fps: the frame rate the tracker is fed at (turns seconds of memory into frames).
        counter: the counter as the installer measured it, or None (then only the body's proportions tell
            which points a counter hides).
    """

    def __init__(self, camera: CameraModel, zones: ZoneMap, tracking: TrackingSettings, body: BodySettings,
                 fps: float, counter: CounterSettings | None = None) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        self._camera, self._zones, self._ts, self._body = camera, zones, tracking, body
        self._counter = None if counter is None else (np.asarray(counter.footprint_m, float), counter.height_m)
        self._staff_zones = zones.polygons_named("staff")
        self._roles: dict[int, _RoleMemory] = {}
        memory = max(2, round(tracking.memory_s * fps))
        self._tracker = Tracker(
            distance_function="euclidean",
            distance_threshold=tracking.match_distance_m,
            hit_counter_max=memory,
            initialization_delay=min(tracking.init_frames, memory - 1),
        )
        self._headings: dict[int, deque[tuple[float, float | None, float | None]]] = {}  # id -> recent (t, head, body)
        self._last_t: float | None = None

    def update(self, t: float, observations: list[Observation]) -> SceneFrame:
        period = 1
        detections: list[Detection] = []
        for obs in observations:
            placed = self._place(obs)
            if placed is not None:
                detections.append(Detection(points=np.array([self._to_track_space(placed[0])]), data=(obs, *placed)))
        tracked = self._tracker.update(detections=detections, period=period)
        people = []
        for obj in tracked:
            det = obj.last_detection
            if not any(det is d for d in detections):
                continue  # the track is coasting on its memory; report only what this frame saw
            obs, _, head, body, range_sd = det.data
            # The filtered estimate: single-frame placements jitter along the camera ray.
            pos = self._from_track_space(obj.estimate[0])
            head, body = self._smooth(obj.id, t, head, body)
            zone = self._zones.zone_of(pos)
            c = self._camera.center_m
            people.append(TrackedPerson(track_id=int(obj.id), role=self._role(int(obj.id), t, zone),
                                        zone=zone, position_m=pos, head_heading_rad=head, body_heading_rad=body,
                                        head_heading_sd_rad=(math.radians(obs.head.yaw_sd_deg)
                                                             if head is not None and obs.head is not None else 0.0),
                                        range_sd_m=range_sd, range_axis_rad=math.atan2(pos[1] - c[1], pos[0] - c[0])))
        live = {p.track_id for p in people} | {int(o.id) for o in tracked}
        self._headings = {k: v for k, v in self._headings.items() if k in live}
        self._roles = {k: v for k, v in self._roles.items() if k in live}
        return SceneFrame(t=t, people=tuple(people))

    def _role(self, tid: int, t: float, zone: ZoneName | None) -> Role:
        """The track's role with memory: the zone has to say otherwise for ``role_hold_s`` to change it."""
        said: Role = "staff" if zone == "staff" else "customer"
        memory = self._roles.get(tid)
        if memory is None:
            self._roles[tid] = _RoleMemory(said)
            return said
        if said == memory.role:
            memory.disagree_since = None
        elif memory.disagree_since is None:
            memory.disagree_since = t
        if memory.disagree_since is not None and t - memory.disagree_since >= self._ts.role_hold_s:
            memory.role, memory.disagree_since = said, None
        return memory.role

    def _to_track_space(self, floor_xy: tuple[float, float]) -> tuple[float, float]:
        """Floor position -> (arc across the view, range / depth ratio), both metres.

        One camera fixes the direction to a person to a few centimetres but their range only to decimetres
        (it rests on body proportions); shrinking the range axis makes matching and filtering weigh both
        directions by what they are worth, so two people one behind the other do not swap tracks.
        """
        c = self._camera.center_m
        dx, dy = floor_xy[0] - c[0], floor_xy[1] - c[1]
        r = math.hypot(dx, dy)
        return math.atan2(dy, dx) * r, r / self._ts.depth_uncertainty_ratio

    def _from_track_space(self, point: np.ndarray) -> tuple[float, float]:
        c = self._camera.center_m
        r = float(point[1]) * self._ts.depth_uncertainty_ratio
        theta = float(point[0]) / max(r, 1e-6)
        return c[0] + r * math.cos(theta), c[1] + r * math.sin(theta)

    def _place(self, obs: Observation) -> tuple[tuple[float, float], float | None, float | None, float] | None:
        """Floor position, head/body headings and range uncertainty of one observation, or None when it cannot be
        placed.

        The landmarks are first checked against the standard body (an impossible skeleton keeps only what is
        consistent). Headings depend on where the person stands (the ray to the camera), and the best placement
        uses the body's heading to put one-sided landmarks where they are: so place roughly, turn, place again.
        Then what the counter hides is dropped and the range meets the staff zone's prior.
        """
        cam, body_cfg = self._camera, self._body
        checked = check_skeleton(obs.keypoints, body_cfg.min_keypoint_visibility, cam.width_px / cam.height_px)
        kp = checked.keypoints
        fix = self._locate(kp, obs, None)
        if fix is None:
            return None
        if self._counter is not None:
            seen = np.flatnonzero(kp[:, 2] >= body_cfg.min_keypoint_visibility)
            hidden = hidden_by_counter(cam, kp[seen, :2] * [cam.width_px, cam.height_px], fix.position_m,
                                       *self._counter)
            if hidden.any() and not hidden[np.isin(seen, HEAD)].all():
                kp = kp.copy()
                kp[seen[hidden], 2] = 0.0
                fix = self._locate(kp, obs, fix.position_m) or fix
        legs_seen = bool((kp[list(KNEES + FEET), 2] >= body_cfg.min_keypoint_visibility).any())
        pos, range_sd = self._zone_prior(fix.position_m, fix.range_sd_m, legs_seen)
        head, body = self._headings_at(obs, pos)
        return pos, head, body, range_sd

    def _locate(self, kp: np.ndarray, obs: Observation, near: tuple[float, float] | None) -> FloorFix | None:
        """Place the keypoints, turned to the observation's headings as seen from ``near`` (or a first fix)."""
        b = self._body
        kw = dict(mean_height_m=b.mean_height_m, height_sd_m=b.height_sd_m, min_visibility=b.min_keypoint_visibility)
        fix = None
        if near is None:
            fix = locate_person(self._camera, kp, **kw)
            if fix is None:
                return None
            near = fix.position_m
        head, body = self._headings_at(obs, near)
        if body is not None:
            turned = locate_person(self._camera, kp, body_heading_rad=body, head_heading_rad=head, **kw)
            if turned is not None:
                return turned
        return fix if fix is not None else locate_person(self._camera, kp, **kw)

    def _zone_prior(self, pos: tuple[float, float], range_sd: float, legs_seen: bool) -> tuple[tuple[float, float], float]:
        """Draw an uncertain placement into the staff zone when the evidence agrees with it being there."""
        c = self._camera.center_m
        b = self._body
        r = math.hypot(pos[0] - c[0], pos[1] - c[1])
        measured = FloorEstimate(pos, math.atan2(pos[1] - c[1], pos[0] - c[0]),
                                 range_sd_m=math.hypot(range_sd, b.proportion_error * r), lateral_sd_m=b.lean_sd_m)
        prior = b.legs_seen_staff_prior if legs_seen else b.staff_zone_prior
        post = zone_posterior(measured, self._staff_zones, prior,
                              nobody_stands=None if self._counter is None else self._counter[0])
        if post.position_m == pos:  # the measurement stands, and so does its own spread
            return pos, range_sd
        return post.position_m, post.range_sd_m

    def _headings_at(self, obs: Observation, pos: tuple[float, float]) -> tuple[float | None, float | None]:
        head = heading_from_yaw(self._camera, pos, obs.head.yaw_deg) if obs.head is not None else None
        body = heading_from_yaw(self._camera, pos, obs.torso_yaw_deg) if obs.torso_yaw_deg is not None else None
        return head, body

    def _smooth(self, tid: int, t: float, head: float | None, body: float | None) -> tuple[float | None, float | None]:
        window = self._ts.heading_window_s
        if window <= 0:
            return head, body
        hist = self._headings.setdefault(tid, deque())
        hist.append((t, head, body))
        while hist and hist[0][0] < t - window:
            hist.popleft()
        return _circular_median([h for _, h, _ in hist], head), _circular_median([b for _, _, b in hist], body)


@dataclass
class _RoleMemory:
    role: Role
    disagree_since: float | None = None


def _circular_median(angles: list[float | None], latest: float | None) -> float | None:
    """Median of angles around the latest one (no wrap-around jumps); None when this frame has none."""
    if latest is None:
        return None
    offsets = [wrap_rad(a - latest) for a in angles if a is not None]
    return wrap_rad(latest + float(np.median(offsets)))
