"""Composed test videos: real people cut out of real photos, moved along a scripted scene's paths.

Test media only: the composer writes frames to the path its caller gives (a temporary directory in the
tests and benchmarks); the product never calls it. Nothing is fetched: the people come from the images
Debian's ``opencv-doc`` and scikit-image ship (see ``scenes/composed/cutouts.toml``).

1. **Cut-outs** (:func:`load_sprites`): MediaPipe selfie segmentation from the wheel gives the mask (above
   the hips, where it was trained; the pose model's own mask helps below them, where selfie masks lose
   legs), and pose landmarks give the body axis, the hips and so the feet of a photo cut off at the waist.
   The way each person faces was judged by eye and is in the catalogue, mirrored copies face the other way.
2. **The set** (:class:`CounterSet`): room walls, a tiled floor and the counter box ray-cast through the same
   pinhole camera the scene describes, with a depth per pixel.
3. **Frames** (:class:`Composer`): each person present at ``t`` (``kiosk.sim.simulate.states_at``) is drawn as
   a cut-out facing their true head facing (the nearest; among those within 25 degrees, one of their
   posture, standing or walking), scaled so that head top and feet land where the camera projects them,
   and hidden wherever the set is nearer (the counter in front of the staff's legs). A cut-off photo is
   used only where that cut is hidden.
"""

from __future__ import annotations

import gzip
import math
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from kiosk.core.angles import wrap_deg
from kiosk.core.geometry import CameraModel, yaw_from_heading
from kiosk.core.observation import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER
from kiosk.settings.toml_file import read_toml
from kiosk.sim.simulate import Scene, SceneError, counter_box, states_at, true_camera

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
CATALOGUE = Path(__file__).resolve().parents[2] / "scenes" / "composed" / "cutouts.toml"
# Height of the hip joint and of the shoulders as shares of standing height (Drillis & Contini 1966), to
# find the feet of a person the photo cuts off at the waist.
_HIP_SHARE, _SHOULDER_SHARE = 0.530, 0.818
_WORK_HEIGHT_PX = 480  # small people are upscaled to this before segmenting: the models expect big subjects
_LEFT_HEEL, _RIGHT_HEEL, _LEFT_TOE, _RIGHT_TOE = 29, 30, 31, 32  # MediaPipe pose topology
_TORSO_HEIGHT_M = 1.0  # a person is drawn as a flat cut-out at the depth of this point above their feet
# A facing judged by eye from a photo is good to about 15 degrees, and the catalogue's facings lie 30-40
# degrees apart: within 25 degrees of the wanted facing a cut-out faces the right way, and posture decides.
_FACING_MATCH_DEG = 25.0
_WALKING_M_S = 0.2  # slower than this a scripted person counts as standing
_MOTION_DT_S = 0.1


class ComposeError(ValueError):
    """A cut-out or a scene that cannot be composed; the message names it."""


@dataclass(frozen=True, eq=False)
class Sprite:
    """One cut-out person, in its own pixel frame.

    bgr: (h, w, 3) uint8; alpha: (h, w) float32 0..1.
    anchor_x: column of the body axis (hip midpoint); top_y: row of the head top; sole_y: row of the soles
        (below the image when the photo cuts the person off); cut_y: last row the photo shows when it cuts
        the person off, else None.
    yaw_deg: facing in the photo (0 towards the camera, +90 image right, 180 back turned).
    walking: caught mid-stride (else standing).
    """

    name: str
    bgr: np.ndarray
    alpha: np.ndarray
    anchor_x: float
    top_y: float
    sole_y: float
    cut_y: float | None
    yaw_deg: float
    walking: bool

    def mirrored(self) -> Sprite:
        """The same person flipped left-right: they face the other way."""
        w = self.bgr.shape[1]
        return replace(self, name=self.name + " (mirrored)", bgr=self.bgr[:, ::-1].copy(),
                       alpha=self.alpha[:, ::-1].copy(), anchor_x=w - 1 - self.anchor_x,
                       yaw_deg=wrap_deg(-self.yaw_deg))


@dataclass(frozen=True)
class CutoutSpec:
    """One catalogue entry (``scenes/composed/cutouts.toml``): where the person is and how they stand."""

    name: str
    source: str
    box_px: tuple[int, int, int, int]
    yaw_deg: float
    full_body: bool
    walking: bool
    frame: int | None = None

    @classmethod
    def from_toml(cls, entry: dict) -> CutoutSpec:
        try:
            return cls(name=str(entry["name"]), source=str(entry["source"]),
                       box_px=tuple(int(v) for v in entry["box_px"]), yaw_deg=float(entry["yaw_deg"]),  # type: ignore[arg-type]
                       full_body=bool(entry["full_body"]), walking={"standing": False, "walking": True}[entry["posture"]],
                       frame=None if "frame" not in entry else int(entry["frame"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ComposeError(f"cut-out entry {entry!r} lacks or misstates {exc} (posture: standing or walking)") from exc


def _read_source(spec: CutoutSpec, data_dir: Path) -> np.ndarray:
    if spec.source in ("astronaut", "camera"):  # scikit-image's sample photos of people
        from skimage import data

        photo = getattr(data, spec.source)()
        code = cv2.COLOR_GRAY2BGR if photo.ndim == 2 else cv2.COLOR_RGB2BGR
        return np.ascontiguousarray(cv2.cvtColor(photo, code))
    path = data_dir / spec.source
    image = None
    if spec.frame is not None:  # read up to the frame: seeking is unreliable in old AVI files
        capture = cv2.VideoCapture(str(path))
        for _ in range(spec.frame + 1):
            ok, image = capture.read()
            if not ok:
                image = None
                break
        capture.release()
    elif not path.is_file() and path.with_name(path.name + ".gz").is_file():  # some releases gzip them
        image = cv2.imdecode(np.frombuffer(gzip.decompress(path.with_name(path.name + ".gz").read_bytes()),
                                           np.uint8), cv2.IMREAD_COLOR)
    else:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ComposeError(f"cannot read {path} for cut-out {spec.name!r} (install Debian's opencv-doc)")
    return image


def _landmarks(image: np.ndarray, box_px: tuple[int, int, int, int], scale: float) -> np.ndarray | None:
    """Pose keypoints (33, 3) of the person in the box, in the upscaled crop's pixels, or None.

    The detector finds a person on the crop, or failing that (a head in profile at the crop's edge) on
    the whole photo, where the person whose torso lies in the box is taken.
    """
    from kiosk.vision.pose import PoseEstimator, PoseOptions

    x0, y0, x1, y1 = box_px
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else crop
    with PoseEstimator(PoseOptions(video=False, full_frame=True)) as estimator:
        people = estimator.update(0.0, crop)
        if people:
            best = max(people, key=lambda o: (o.bbox[2] - o.bbox[0]) * (o.bbox[3] - o.bbox[1]))
            return best.keypoints * [crop.shape[1], crop.shape[0], 1.0]
        h, w = image.shape[:2]
        for person in estimator.update(0.0, np.ascontiguousarray(image)):
            kp = person.keypoints * [w, h, 1.0]
            torso = kp[[LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP], :2]
            if np.all((torso >= (x0, y0)) & (torso < (x1, y1))):
                return (kp - [x0, y0, 0.0]) * [scale, scale, 1.0]
    return None


def cut_out(image: np.ndarray, spec: CutoutSpec) -> Sprite:
    """Cut the person in ``spec.box_px`` (x0, y0, x1, y1) out of a BGR photo.

    Raises:
        ComposeError: no person found in the box.
    """
    import mediapipe as mp

    name, box_px = spec.name, spec.box_px
    x0, y0, x1, y1 = box_px
    crop = image[y0:y1, x0:x1]
    if crop.size == 0:
        raise ComposeError(f"cut-out {name!r}: box {box_px} lies outside the {image.shape[1]}x{image.shape[0]} image")
    scale = max(1.0, _WORK_HEIGHT_PX / crop.shape[0])
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else crop.copy()
    rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
    h, w = crop.shape[:2]
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        selfie = seg.process(rgb).segmentation_mask
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True) as pose:
        legs = pose.process(rgb).segmentation_mask  # None when the legacy graph finds nobody
    kp = _landmarks(image, box_px, scale)
    if kp is None:
        raise ComposeError(f"cut-out {name!r}: no person found in box {box_px}")
    hips_seen = kp[[LEFT_HIP, RIGHT_HIP], 2].min() >= 0.5
    axis = kp[[LEFT_HIP, RIGHT_HIP]] if hips_seen else kp[[LEFT_SHOULDER, RIGHT_SHOULDER]]
    axis_x, axis_y = float(axis[:, 0].mean()), float(axis[:, 1].mean())
    body = selfie
    if legs is not None:  # below the hips the pose model's mask covers the legs, the selfie model's does not
        below = np.arange(h)[:, None] > kp[[LEFT_HIP, RIGHT_HIP], 1].mean()
        body = np.where(below, np.maximum(selfie, legs), selfie)
    # Keep the one blob that holds the person's torso; other people and clutter in the box go.
    count, labels = cv2.connectedComponents((body > 0.5).astype(np.uint8))
    torso = kp[[LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP], :2].round().astype(int).clip(0, [w - 1, h - 1])
    votes = np.bincount(labels[torso[:, 1], torso[:, 0]], minlength=count)[1:]
    if votes.size == 0 or votes.max() == 0:
        raise ComposeError(f"cut-out {name!r}: the mask does not cover the person's torso in box {box_px}")
    keep = labels == 1 + int(np.argmax(votes))
    keep = cv2.dilate(keep.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    alpha = (np.clip((body - 0.3) / 0.4, 0.0, 1.0) * keep).astype(np.float32)
    rows, cols = np.nonzero(alpha > 0.5)
    top, bottom = float(rows.min()), float(rows.max())
    if spec.full_body:
        # The floor under the body's centre lies midway between the two feet: a walker photographed from
        # above has the far foot higher in the picture, and its lowest pixel would sink them into the floor.
        feet = [max(kp[heel, 1], kp[toe, 1]) for heel, toe in ((_LEFT_HEEL, _LEFT_TOE), (_RIGHT_HEEL, _RIGHT_TOE))]
        sole, cut = min(bottom, float(np.mean(feet))), None
    else:  # the photo stops above the feet: where they would be, from the body's proportions
        share = _HIP_SHARE if hips_seen else _SHOULDER_SHARE
        sole = top + (axis_y - top) / (1.0 - share)
        # Cut at the hips at the latest: a counter hides a standing person's legs, rarely more, so a
        # cut-out reaching down to the knees would hardly ever fit behind one.
        cut = min(bottom, top + (1.0 - _HIP_SHARE) * (sole - top))
        alpha[int(cut) + 1:] = 0.0
        bottom = cut
    r0, r1 = int(top), int(bottom) + 1
    c0, c1 = max(0, int(cols.min()) - 2), min(w, int(cols.max()) + 3)
    return Sprite(name=name, bgr=crop[r0:r1, c0:c1].copy(), alpha=alpha[r0:r1, c0:c1].copy(),
                  anchor_x=axis_x - c0, top_y=top - r0, sole_y=sole - r0,
                  cut_y=None if cut is None else cut - r0, yaw_deg=spec.yaw_deg, walking=spec.walking)


def load_sprites(catalogue: Path = CATALOGUE, data_dir: Path = OPENCV_DATA) -> list[Sprite]:
    """Every cut-out of the catalogue and its mirror image.

    Raises:
        ComposeError: a source image is missing (Debian's opencv-doc not installed) or holds no person.
    """
    entries = read_toml(catalogue, "cut-out catalogue", ComposeError).get("cutout")
    if not entries:
        raise ComposeError(f"cut-out catalogue {catalogue} has no [[cutout]] tables")
    sprites = []
    for spec in (CutoutSpec.from_toml(e) for e in entries):
        sprite = cut_out(_read_source(spec, data_dir), spec)
        sprites += [sprite, sprite.mirrored()]
    return sprites


class CounterSet:
    """The static background: a room, a tiled floor and the counter box, seen by the scene's true camera.

    The counter's front edge and length are the service zone's near edge and extent; it is ``depth_m`` deep
    towards the staff and as high as the scene's counter. ``image`` (h, w, 3) uint8 and ``depth`` (h, w)
    (distance along the optical axis, metres) are computed once.
    """

    def __init__(self, scene: Scene, camera: CameraModel, depth_m: float = 0.85) -> None:
        zones = {z.name: np.asarray(z.polygon_m, float) for z in scene.zones}
        try:
            lo, hi = counter_box(scene.model_copy(update={"counter": scene.counter.model_copy(update={"depth_m": depth_m})}))
        except SceneError as exc:
            raise ComposeError(str(exc)) from None
        self.counter = (lo, hi)
        staff = zones["staff"]
        everything = np.vstack(list(zones.values()))
        c = camera.center_m
        self.room = (np.array([min(everything[:, 0].min(), c[0]) - 1.0, staff[:, 1].min() - 0.4, 0.0]),
                     np.array([everything[:, 0].max() + 1.5, max(everything[:, 1].max(), c[1]) + 1.5, 3.0]))
        self.image, self.depth = self._render(camera)

    def _render(self, camera: CameraModel) -> tuple[np.ndarray, np.ndarray]:
        w, h = camera.width_px, camera.height_px
        u, v = np.meshgrid(np.arange(w, dtype=float), np.arange(h, dtype=float))
        # Ray directions in the world, scaled so that the distance along the optical axis is the ray parameter.
        rays = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(camera.K).T @ camera.R
        c = camera.center_m
        with np.errstate(divide="ignore", invalid="ignore"):
            lo, hi = self.room
            exits = np.where(rays > 0, (hi - c) / rays, (lo - c) / rays)
            exits[~np.isfinite(exits) | (exits <= 0)] = np.inf
            depth = exits.min(-1)
            wall_axis = exits.argmin(-1)
            lo, hi = self.counter
            t1, t2 = (lo - c) / rays, (hi - c) / rays
            near, far = np.nan_to_num(np.minimum(t1, t2), nan=-np.inf), np.nan_to_num(np.maximum(t1, t2), nan=np.inf)
        enter = near.max(-1)
        hit = (enter <= far.min(-1)) & (enter > 0) & (enter < depth)
        point = c + rays * depth[..., None]
        image = np.empty((h, w, 3), np.float32)
        # Room surfaces, BGR, each lit a little differently so that edges show.
        image[wall_axis == 0] = (178, 196, 208)
        image[wall_axis == 1] = (160, 182, 196)
        ceiling = (wall_axis == 2) & (point[..., 2] > 1.0)
        floor = (wall_axis == 2) & ~ceiling
        image[ceiling] = (222, 226, 228)
        tiles = ((np.floor(point[..., 0] / 0.5) + np.floor(point[..., 1] / 0.5)) % 2)[floor]
        image[floor] = np.where(tiles[:, None] > 0, (132, 136, 140), (146, 150, 154))
        face = near.argmax(-1)
        image[hit & (face == 2)] = (92, 132, 170)  # the counter's top: wood
        image[hit & (face != 2)] = (70, 84, 96) + 20 * (face[..., None] == 1)[hit & (face != 2)]
        depth = np.where(hit, enter, depth)
        return image.clip(0, 255).astype(np.uint8), depth


class Composer:
    """``frame(t) -> BGR image`` of a scene, with everyone present at ``t`` drawn as a real cut-out.

    Args:
        scene: a scene (the same file `kiosk simulate` reads); its true camera draws everything.
        sprites: from :func:`load_sprites`.
        counter_depth_m: how deep the counter is, from the service zone's edge towards the staff (default: the
            scene's ``counter.depth_m``).
        noise_px: sensor noise added to every frame (grey levels, standard deviation).
    """

    def __init__(self, scene: Scene, sprites: list[Sprite], counter_depth_m: float | None = None,
                 noise_px: float = 2.0) -> None:
        if not sprites:
            raise ComposeError("no cut-outs to compose with")
        self.scene, self.sprites, self.noise_px = scene, sprites, noise_px
        self.camera = true_camera(scene)
        self.set = CounterSet(scene, self.camera, scene.counter.depth_m if counter_depth_m is None else counter_depth_m)
        self._heights = {p.name: p.height_m for p in scene.person}
        self._unseen = {p.name: p.unseen for p in scene.person}
        self._cast = {p.name: _cast(p.name, p.cutouts, sprites) for p in scene.person}
        self._rng = np.random.default_rng(scene.seed + 104729)
        self.used: dict[str, Counter[str]] = {}  # person -> frames drawn as each cut-out (for reports)

    def frame(self, t: float) -> np.ndarray:
        image = self.set.image.astype(np.float32)
        people = []
        later = states_at(self.scene, t + _MOTION_DT_S)
        for name, state in states_at(self.scene, t).items():
            if any(a <= t < b for a, b in self._unseen[name]):
                continue  # the scene says the camera misses them now
            x, y = state.position
            top_feet_torso = np.array([[x, y, self._heights[name]], [x, y, 0.0], [x, y, _TORSO_HEIGHT_M]])
            uv, z = self.camera.project(top_feet_torso)
            if np.any(z <= 0.1):
                continue
            yaw = yaw_from_heading(self.camera, state.position, state.head_heading)
            step = later[name].position if name in later else state.position
            walking = math.dist(step, state.position) / _MOTION_DT_S > _WALKING_M_S
            people.append((float(z[2]), name, uv[0], uv[1], yaw, walking))
        for depth, name, head_uv, feet_uv, yaw, walking in sorted(people, key=lambda p: -p[0]):  # far to near
            ranked = sorted(self._cast[name], key=lambda s: _preference(s, yaw, walking))
            for sprite in ranked:
                placed = self._place(sprite, head_uv, feet_uv, depth)
                if placed is not None:
                    self.used.setdefault(name, Counter())[sprite.name] += 1
                    _blend(image, *placed)
                    break
        if self.noise_px > 0:
            image += self._rng.normal(0.0, self.noise_px, image.shape).astype(np.float32)
        return image.clip(0, 255).astype(np.uint8)

    def _place(self, sprite: Sprite, head_uv: np.ndarray, feet_uv: np.ndarray, depth: float):
        """The sprite scaled and sheared so its head top and soles land on ``head_uv`` and ``feet_uv``, with
        the set's occlusion; None when it is a cut-off photo whose cut would show."""
        s = (feet_uv[1] - head_uv[1]) / (sprite.sole_y - sprite.top_y)
        if s <= 0:
            return None
        size = (max(1, round(sprite.bgr.shape[1] * s)), max(1, round(sprite.bgr.shape[0] * s)))
        bgr = cv2.resize(sprite.bgr, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        alpha = cv2.resize(sprite.alpha, size, interpolation=cv2.INTER_AREA)
        # Vertical lines lean in a tilted camera: shear so the body axis runs from the feet to the head top.
        k = (head_uv[0] - feet_uv[0]) / (head_uv[1] - feet_uv[1])
        ax, sy = sprite.anchor_x * s, sprite.sole_y * s
        M = np.array([[1.0, k, feet_uv[0] - ax - k * sy], [0.0, 1.0, feet_uv[1] - sy]])
        hgt, wid = alpha.shape
        corners = np.array([[0, 0, 1], [wid, 0, 1], [0, hgt, 1], [wid, hgt, 1]], float) @ M.T
        W, H = self.camera.width_px, self.camera.height_px
        x0, y0 = np.floor(corners.min(0)).astype(int).clip(0, [W, H])
        x1, y1 = np.ceil(corners.max(0)).astype(int).clip(0, [W, H])
        if x1 <= x0 or y1 <= y0:
            return None
        M[:, 2] -= (x0, y0)
        out = (int(x1 - x0), int(y1 - y0))
        bgr_w = cv2.warpAffine(bgr, M, out, flags=cv2.INTER_LINEAR)
        warped = cv2.warpAffine(alpha, M, out, flags=cv2.INTER_LINEAR, borderValue=(0.0,))
        alpha_w = np.where(depth < self.set.depth[y0:y1, x0:x1], warped, 0.0).astype(np.float32)
        if sprite.cut_y is not None:
            # The cut edge: the sprite's last rows, wherever they fall in the frame, must all be hidden.
            cut = np.zeros((hgt, wid), np.float32)
            row = min(hgt - 1, round(sprite.cut_y * s))
            cut[max(0, row - 2):row + 1] = alpha[max(0, row - 2):row + 1]
            cut_w = cv2.warpAffine(cut, M, out, flags=cv2.INTER_NEAREST, borderValue=(0.0,))
            if np.any((cut_w > 0.5) & (alpha_w > 0.5)):
                return None
        return (slice(y0, y1), slice(x0, x1)), bgr_w, alpha_w


def _cast(person: str, names: list[str], sprites: list[Sprite]) -> list[Sprite]:
    """The sprites a scripted person may be drawn as: the named cut-outs and their mirror images, or all."""
    if not names:
        return sprites
    chosen = [s for s in sprites if s.name.removesuffix(" (mirrored)") in names]
    missing = set(names) - {s.name.removesuffix(" (mirrored)") for s in chosen}
    if missing:
        raise ComposeError(f"person {person!r} asks for cut-outs {sorted(missing)} that the catalogue does not have")
    return chosen


def _preference(sprite: Sprite, yaw_deg: float, walking: bool) -> tuple[bool, bool, float]:
    """Sort key: facing the right way (within what a by-eye facing is good for) first, then the same posture
    (standing or mid-stride), then the nearest facing."""
    off = abs(wrap_deg(sprite.yaw_deg - yaw_deg))
    return off > _FACING_MATCH_DEG, sprite.walking != walking, off


def _blend(image: np.ndarray, where: tuple[slice, slice], bgr: np.ndarray, alpha: np.ndarray) -> None:
    a = alpha[..., None]
    image[where] = image[where] * (1.0 - a) + bgr * a


@dataclass(frozen=True)
class Rendering:
    """A written video: its path, frame count, and per person how many frames showed each cut-out."""

    path: Path
    frames: int
    cutouts_used: dict[str, dict[str, int]]


def render_video(scene: Scene, path: Path, sprites: list[Sprite], **composer_options: float) -> Rendering:
    """Write the composed scene as an MPEG-4 video at the scene's frame rate.

    Raises:
        ComposeError: OpenCV cannot write ``path``.
    """
    composer = Composer(scene, sprites, **composer_options)
    size = (composer.camera.width_px, composer.camera.height_px)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), scene.fps, size)
    if not writer.isOpened():
        raise ComposeError(f"OpenCV cannot write an MPEG-4 video to {path}")
    n = math.floor(scene.duration_s * scene.fps) + 1  # the instants run_scene computes the truth at
    try:
        for i in range(n):
            writer.write(composer.frame(i / scene.fps))
    finally:
        writer.release()
    return Rendering(Path(path), n, {k: dict(v) for k, v in composer.used.items()})
