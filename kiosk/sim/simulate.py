"""Scripted counter scenes -> observations through a pinhole camera, with the ground truth of every interaction.

A scene (TOML, see ``scenes/``) gives the camera pose and intrinsics, the floor zones, the noise of the
vision stage, and each person's path: keyframes of floor position (linear in between) and of what they face
(a heading, or another person, held until the next keyframe). The simulator:

1. projects everyone's 3D skeleton into the image (pinhole), hides what the counter and their own body hide,
   adds keypoint noise, head/torso-yaw noise and dropouts -> :class:`Observation` per person per frame;
2. calibrates the camera from the tape marks as an installer would (clicked with pixel error) and runs the
   real pipeline: :class:`FloorTracker` -> :class:`EpisodeTracker` -> interactions;
3. runs the same episode logic on the true, noise-free world -> the truth.

So the truth applies DESIGN §4's definitions to what really happened; the measured side has to recover it
through the camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kiosk.core.angles import wrap_deg
from kiosk.core.body_model import side_visibility, skeleton_points
from kiosk.settings.toml_file import read_toml
from kiosk.settings.tree import CameraSettings, CounterSettings, FloorPoint, Settings, Zone
from kiosk.core.geometry import CameraModel, intrinsics_from_hfov, point_in_polygon, yaw_from_heading
from kiosk.core.observation import HeadPose, Observation
from kiosk.core.episodes import EpisodeTracker
from kiosk.core.scene import SceneFrame, TrackedPerson
from kiosk.core.interaction import Interaction
from kiosk.core.tracking import FloorTracker, ZoneMap, camera_from_settings
from kiosk.vocabulary import ZONES, Role, ZoneName


class SceneError(ValueError):
    """A scene file that cannot be simulated; the message names the file and the key."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SceneCamera(_M):
    position_m: tuple[float, float, float]
    look_at_m: tuple[float, float, float]
    hfov_deg: float = Field(102.0, gt=20, lt=170)
    width_px: int = Field(640, ge=160)
    height_px: int = Field(480, ge=120)


class SceneNoise(_M):
    keypoint_px: float = Field(2.0, ge=0, description="Gaussian keypoint noise, pixels.")
    yaw_deg: float = Field(8.0, ge=0, description="Head-yaw noise, degrees.")
    torso_yaw_deg: float = Field(12.0, ge=0)
    dropout: float = Field(0.02, ge=0, le=1, description="Chance a person is missed in a frame.")
    head_dropout: float = Field(0.05, ge=0, le=1, description="Chance the face is not read in a frame.")
    calibration_px: float = Field(1.0, ge=0, description="Error of the installer's clicks on the tape marks.")


class SceneCounter(_M):
    height_m: float = Field(1.05, gt=0, le=2)
    depth_m: float = Field(0.85, gt=0, le=3, description="From the service zone's near edge towards the staff.")
    hides: list[Role] = Field(default_factory=lambda: ["staff"])


class SceneZone(_M):
    name: ZoneName
    polygon_m: list[tuple[float, float]] = Field(min_length=3)


class Keyframe(_M):
    t: float = Field(ge=0)
    at: tuple[float, float]
    face: str | None = Field(None, description="Name of the person faced from this keyframe on.")
    heading_deg: float | None = Field(None, description="Floor heading from this keyframe on, if no `face`.")
    head_offset_deg: float = Field(0.0, description="Head turned this far from the body (looking aside).")


class ScenePerson(_M):
    name: str
    role: Role
    height_m: float = Field(1.70, ge=1.0, le=2.3)
    keyframes: list[Keyframe] = Field(min_length=1)
    unseen: list[tuple[float, float]] = Field(default_factory=list, description="Intervals the camera misses them.")
    cutouts: list[str] = Field(default_factory=list, description="Composed video only: the catalogue's cut-outs "
                               "(scenes/composed/cutouts.toml, mirror images included) this person may be drawn as; "
                               "empty = any. Lets a scene cast different real people as staff and customers.")

    @model_validator(mode="after")
    def _ordered(self) -> "ScenePerson":
        ts = [k.t for k in self.keyframes]
        if ts != sorted(ts):
            raise ValueError(f"keyframes of {self.name!r} must be in time order, got t={ts}")
        return self


class Scene(_M):
    name: str
    description: str = ""
    duration_s: float = Field(gt=0, le=3600)
    fps: float = Field(15.0, gt=0, le=60)
    seed: int = 0
    camera: SceneCamera
    noise: SceneNoise = SceneNoise()
    counter: SceneCounter = SceneCounter()
    floor_points_m: list[tuple[float, float]] = Field(min_length=4)
    zones: list[SceneZone] = Field(min_length=2)
    person: list[ScenePerson] = Field(min_length=1)

    @model_validator(mode="after")
    def _targets_exist(self) -> "Scene":
        names = {p.name for p in self.person}
        for p in self.person:
            for k in p.keyframes:
                if k.face is not None and k.face not in names:
                    raise ValueError(f"{p.name!r} faces {k.face!r} at t={k.t}, but no person has that name")
        return self


def load_scene(path: Path | str) -> Scene:
    """Read and validate a scene file. Raises :class:`SceneError`."""
    path = Path(path)
    data = read_toml(path, "scene file", SceneError)
    layout = data.pop("layout", None)
    if layout is not None:  # a shared counter layout (camera, zones, tape marks); the scene's keys win
        data = {**read_toml(path.parent / layout, f"layout of scene {path}:", SceneError), **data}
    try:
        return Scene.model_validate(data)
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()]
        raise SceneError(f"scene file {path} is invalid:\n  " + "\n  ".join(lines)) from None


@dataclass(frozen=True)
class _State:
    """A person's true state at one instant."""

    position: tuple[float, float]
    body_heading: float
    head_heading: float


def states_at(scene: Scene, t: float) -> dict[str, _State]:
    """Everyone present at ``t`` with their true floor position and headings (the ground truth of a scene)."""
    positions: dict[str, tuple[float, float]] = {}
    for p in scene.person:
        ks = p.keyframes
        if not ks[0].t <= t <= ks[-1].t:
            continue
        j = max(i for i, k in enumerate(ks) if k.t <= t)
        a, b = ks[j], ks[min(j + 1, len(ks) - 1)]
        u = 0.0 if b.t == a.t else (t - a.t) / (b.t - a.t)
        positions[p.name] = (a.at[0] + u * (b.at[0] - a.at[0]), a.at[1] + u * (b.at[1] - a.at[1]))
    states: dict[str, _State] = {}
    for p in scene.person:
        if p.name not in positions:
            continue
        k = [k for k in p.keyframes if k.t <= t][-1]
        pos = positions[p.name]
        if k.face is not None and k.face in positions:
            tgt = positions[k.face]
            body = math.atan2(tgt[1] - pos[1], tgt[0] - pos[0])
        elif k.heading_deg is not None:
            body = math.radians(k.heading_deg)
        else:  # walking: face where you go
            nxt = next((q for q in p.keyframes if q.t > t), None)
            body = math.atan2(nxt.at[1] - pos[1], nxt.at[0] - pos[0]) if nxt else 0.0
        states[p.name] = _State(pos, body, body + math.radians(k.head_offset_deg))
    return states


def zone_of(scene: Scene, xy: tuple[float, float]) -> str | None:
    """The scene's zone (staff wins over service over queue) a true floor position lies in."""
    for name in ZONES:  # in this order: staff wins
        for z in scene.zones:
            if z.name == name and point_in_polygon(xy, np.asarray(z.polygon_m)):
                return name
    return None


def true_camera(scene: Scene) -> CameraModel:
    c = scene.camera
    K = intrinsics_from_hfov(c.width_px, c.height_px, c.hfov_deg)
    return CameraModel.look_at(c.position_m, c.look_at_m, K, c.width_px, c.height_px)


def calibrate(scene: Scene, rng: np.random.Generator, with_counter: bool = True) -> CameraSettings:
    """What the installer's calibration would store: tape marks and zones as clicked in the image, the camera
    height and the counter as tape-measured (``with_counter=False``: an installer who skipped the counter)."""
    cam = true_camera(scene)
    c = scene.camera

    def clicked(points_m) -> list[tuple[float, float]]:
        pts = np.c_[np.asarray(points_m, float), np.zeros(len(points_m))]
        uv, z = cam.project(pts)
        if np.any(z <= 0):
            raise SceneError(f"scene {scene.name!r}: a floor point lies behind the camera")
        uv = uv + rng.normal(0, scene.noise.calibration_px, uv.shape)
        return [(float(u), float(v)) for u, v in uv]

    floor = [FloorPoint(image_px=px, floor_m=m) for px, m in zip(clicked(scene.floor_points_m), scene.floor_points_m)]
    zones = [Zone(name=z.name, polygon_px=clicked(z.polygon_m)) for z in scene.zones]
    lo, hi = counter_box(scene)
    tape = lambda v: round(float(v + rng.normal(0, 0.01)), 3)  # noqa: E731  # a tape measure is good to a cm
    counter = CounterSettings(height_m=tape(hi[2]), footprint_m=[(tape(x), tape(y)) for x, y in (
        (lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1]))])
    return CameraSettings(width_px=c.width_px, height_px=c.height_px, hfov_deg=c.hfov_deg,
                          height_m=tape(c.position_m[2]), floor_points=floor, zones=zones,
                          counter=counter if with_counter else None)


def counter_box(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """The counter as a box (lower and upper corners, metres): along the service zone's near edge and its
    length, ``counter.depth_m`` deep towards the staff, as high as ``counter.height_m``."""
    zones = {z.name: np.asarray(z.polygon_m, float) for z in scene.zones}
    service, staff = zones.get("service"), zones.get("staff")
    if service is None or staff is None or staff[:, 1].mean() >= service[:, 1].mean():
        raise SceneError(f"scene {scene.name!r}: the counter needs a staff zone at smaller y than the service zone "
                         "(it runs along x between them)")
    front = float(service[:, 1].min())
    return (np.array([service[:, 0].min(), front - scene.counter.depth_m, 0.0]),
            np.array([service[:, 0].max(), front, scene.counter.height_m]))


def observe(scene: Scene, cam: CameraModel, t: float, states: dict[str, _State],
            rng: np.random.Generator) -> list[Observation]:
    """What the vision stage would report at ``t``: noisy keypoints and yaws, some people missed."""
    n = scene.noise
    roles = {p.name: p for p in scene.person}
    shapes = _shapes(scene)
    out = []
    for name, st in states.items():
        person = roles[name]
        if any(a <= t < b for a, b in person.unseen) or rng.random() < n.dropout:
            continue
        pts = skeleton_points(st.position, st.body_heading, st.head_heading, person.height_m, *shapes[name])
        uv, z = cam.project(pts)
        if np.any(z <= 0.1):
            continue
        to_cam = cam.to_camera_angle(st.position)
        vis = side_visibility(st.body_heading, st.head_heading, to_cam)
        if person.role in scene.counter.hides:
            vis[pts[:, 2] < scene.counter.height_m] = 0.05
        uv = uv + rng.normal(0, n.keypoint_px, uv.shape)
        kp = np.c_[uv[:, 0] / cam.width_px, uv[:, 1] / cam.height_px, vis]
        inside = (kp[:, 0] >= 0) & (kp[:, 0] <= 1) & (kp[:, 1] >= 0) & (kp[:, 1] <= 1)
        kp[~inside, 2] = 0.0
        if inside.sum() < 5:
            continue
        seen = kp[kp[:, 2] > 0.5, :2] if (kp[:, 2] > 0.5).any() else kp[:, :2]
        bbox = (float(seen[:, 0].min()), float(seen[:, 1].min()), float(seen[:, 0].max()), float(seen[:, 1].max()))
        head = None
        true_yaw = yaw_from_heading(cam, st.position, st.head_heading)
        # A face turned well away from the camera cannot be read.
        if abs(true_yaw) < 120 and rng.random() >= n.head_dropout:
            head = HeadPose(yaw_deg=wrap_deg(true_yaw + rng.normal(0, n.yaw_deg)), confidence=0.8)
        torso = wrap_deg(yaw_from_heading(cam, st.position, st.body_heading) + rng.normal(0, n.torso_yaw_deg))
        out.append(Observation(t=t, keypoints=kp, bbox=bbox, score=0.9, head=head, torso_yaw_deg=torso))
    return out


def _shapes(scene: Scene) -> dict[str, tuple[float, float]]:
    """Each person's build (width, torso length factors), fixed by the scene's seed."""
    rng = np.random.default_rng(scene.seed + 7919)
    return {p.name: (float(rng.uniform(0.9, 1.12)), float(rng.normal(1.0, 0.04))) for p in scene.person}


@dataclass(frozen=True)
class SimulationResult:
    scene: Scene
    frames: int
    interactions: list[Interaction]
    truth: list[Interaction]


def run_scene(scene: Scene, settings: Settings) -> SimulationResult:
    """Simulate ``scene`` and measure it with the real pipeline; also compute the truth."""
    rng = np.random.default_rng(scene.seed)
    cam = true_camera(scene)
    # A scripted scene's counter is a height that hides the staff's legs, not a box in the room: no footprint.
    cam_settings = calibrate(scene, rng, with_counter=False)
    est_cam = camera_from_settings(cam_settings)
    zones = ZoneMap.from_camera_settings(est_cam, cam_settings)
    floor = FloorTracker(est_cam, zones, settings.tracking, settings.body, scene.fps, counter=cam_settings.counter)
    measured, truth = EpisodeTracker(settings.service), EpisodeTracker(settings.service)
    got: list[Interaction] = []
    want: list[Interaction] = []
    ids = {p.name: i for i, p in enumerate(scene.person)}
    n = int(math.floor(scene.duration_s * scene.fps)) + 1
    for i in range(n):
        t = i / scene.fps
        states = states_at(scene, t)
        got += measured.update(floor.update(t, observe(scene, cam, t, states, rng)))
        people = []
        for name, st in states.items():
            zone = zone_of(scene, st.position)
            people.append(TrackedPerson(track_id=ids[name], role="staff" if zone == "staff" else "customer",
                                        zone=zone, position_m=st.position, head_heading_rad=st.head_heading,
                                        body_heading_rad=st.body_heading))
        want += truth.update(SceneFrame(t=t, people=tuple(people)))
    got += measured.finish()
    want += truth.finish()
    return SimulationResult(scene, n, sorted(got, key=lambda x: x.arrived_at), sorted(want, key=lambda x: x.arrived_at))


def match(measured: list[Interaction], truth: list[Interaction], max_gap_s: float = 3.0
          ) -> list[tuple[Interaction | None, Interaction | None]]:
    """Pair measured with true interactions by arrival time (greedy, nearest first)."""
    pairs = sorted(((abs(m.arrived_at - w.arrived_at), i, j) for i, m in enumerate(measured)
                    for j, w in enumerate(truth)), key=lambda x: x[0])
    used_m, used_t, out = set(), set(), []
    for gap, i, j in pairs:
        if gap <= max_gap_s and i not in used_m and j not in used_t:
            used_m.add(i)
            used_t.add(j)
            out.append((measured[i], truth[j]))
    out += [(m, None) for i, m in enumerate(measured) if i not in used_m]
    out += [(None, w) for j, w in enumerate(truth) if j not in used_t]
    return sorted(out, key=lambda p: (p[1] or p[0]).arrived_at)  # type: ignore[union-attr]
