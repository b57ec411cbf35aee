"""Camera model, floor homography and floor positions of people (DESIGN §1). Pure numpy, no pixels.

Frames: the floor is z = 0 with z up, metres. Camera coordinates follow OpenCV: x right, y down, z forward.
``CameraModel`` maps world points to pixels: ``p = K (R X + t)``.

A person is placed on the floor from whichever body points are visible, using where each point sits on a
standing body as a share of the person's height (anthropometric tables, Drillis & Contini 1966) and a prior on
that height. Two points at different heights fix both the distance and the height, so the counter hiding the
legs costs precision, not the position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from kiosk.core.angles import wrap_rad
from kiosk.core.observation import (
    LEFT_ANKLE, LEFT_EAR, LEFT_HIP, LEFT_KNEE, LEFT_SHOULDER, NOSE,
    RIGHT_ANKLE, RIGHT_EAR, RIGHT_HIP, RIGHT_KNEE, RIGHT_SHOULDER,
)

# The standard body: where landmarks sit on an adult standing upright, as (forward, left, up) shares of the
# standing height (anthropometric tables, Drillis & Contini 1966). Real people differ by a few per cent;
# the height prior and the number of points absorb that.
STANDARD_BODY: dict[int, tuple[float, float, float]] = {
    NOSE: (0.059, 0.0, 0.926),
    LEFT_EAR: (0.0, 0.044, 0.929), RIGHT_EAR: (0.0, -0.044, 0.929),
    LEFT_SHOULDER: (0.0, 0.112, 0.818), RIGHT_SHOULDER: (0.0, -0.112, 0.818),
    LEFT_HIP: (0.0, 0.059, 0.530), RIGHT_HIP: (0.0, -0.059, 0.530),
    LEFT_KNEE: (0.012, 0.059, 0.285), RIGHT_KNEE: (0.012, -0.059, 0.285),
    LEFT_ANKLE: (0.0, 0.059, 0.039), RIGHT_ANKLE: (0.0, -0.059, 0.039),
}
_HEAD_POINTS = (NOSE, LEFT_EAR, RIGHT_EAR)
_PAIRS = ((LEFT_EAR, RIGHT_EAR), (LEFT_SHOULDER, RIGHT_SHOULDER), (LEFT_HIP, RIGHT_HIP),
          (LEFT_KNEE, RIGHT_KNEE), (LEFT_ANKLE, RIGHT_ANKLE))


class GeometryError(ValueError):
    """Calibration that cannot give a camera pose; the message says what to re-measure."""


def intrinsics_from_hfov(width_px: int, height_px: int, hfov_deg: float) -> np.ndarray:
    """Pinhole intrinsics (3, 3) with square pixels and the principal point at the image centre."""
    fx = (width_px / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return np.array([[fx, 0.0, width_px / 2.0], [0.0, fx, height_px / 2.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True, eq=False)
class CameraModel:
    """Intrinsics ``K`` (3, 3), rotation ``R`` (3, 3) world->camera, translation ``t`` (3,), image size in pixels."""

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width_px: int
    height_px: int

    @classmethod
    def look_at(cls, position_m, target_m, K: np.ndarray, width_px: int, height_px: int) -> "CameraModel":
        """A camera at ``position_m`` (x, y, z) looking at ``target_m``, its image x axis kept level."""
        pos = np.asarray(position_m, dtype=float)
        fwd = np.asarray(target_m, dtype=float) - pos
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 0.0, 1.0])
        if np.linalg.norm(right) < 1e-6:
            raise GeometryError("camera looks straight down or up; tilt it so the counter is seen from the side")
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        R = np.stack([right, down, fwd])
        return cls(K=np.asarray(K, float), R=R, t=-R @ pos, width_px=width_px, height_px=height_px)

    @cached_property
    def center_m(self) -> np.ndarray:
        """Camera position in the world (3,), read-only (computed once: placement asks for it per person)."""
        return _read_only(-self.R.T @ self.t)

    @cached_property
    def K_inv(self) -> np.ndarray:
        """The inverse intrinsics (3, 3), read-only: pixels to rays."""
        return _read_only(np.linalg.inv(self.K))

    def project(self, points_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (n, 3) -> pixels (n, 2) and depth along the optical axis (n,)."""
        pc = np.asarray(points_m, float) @ self.R.T + self.t
        z = pc[:, 2]
        uv = (pc @ self.K.T)[:, :2] / z[:, None]
        return uv, z

    def to_camera_angle(self, floor_xy: tuple[float, float]) -> float:
        """Floor direction (radians) from a floor point towards the camera."""
        c = self.center_m
        return math.atan2(c[1] - floor_xy[1], c[0] - floor_xy[0])


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Direct linear transform with Hartley normalisation: the (3, 3) H with dst ~ H src, from 4+ point pairs (n, 2)."""
    src = np.asarray(src, float)
    dst = np.asarray(dst, float)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 4:
        raise GeometryError(f"a homography needs 4 or more matching point pairs, got {src.shape} and {dst.shape}")

    def normaliser(p: np.ndarray) -> np.ndarray:
        c = p.mean(axis=0)
        s = math.sqrt(2) / max(np.mean(np.linalg.norm(p - c, axis=1)), 1e-12)
        return np.array([[s, 0, -s * c[0]], [0, s, -s * c[1]], [0, 0, 1]])

    Ts, Td = normaliser(src), normaliser(dst)
    hs = np.c_[src, np.ones(len(src))] @ Ts.T
    hd = np.c_[dst, np.ones(len(dst))] @ Td.T
    rows = []
    for (x, y, _), (u, v, _) in zip(hs, hd):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, sv, vt = np.linalg.svd(np.asarray(rows))
    if sv[-2] < 1e-9:
        raise GeometryError("the calibration points are collinear or repeated; mark four corners of a rectangle")
    H = np.linalg.inv(Td) @ vt[-1].reshape(3, 3) @ Ts
    return H / H[2, 2]


def apply_homography(H: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points (n, 2) through H."""
    p = np.c_[np.asarray(points, float), np.ones(len(points))] @ H.T
    return p[:, :2] / p[:, 2:3]


def camera_from_floor_points(image_px: np.ndarray, floor_m: np.ndarray, K: np.ndarray,
                             width_px: int, height_px: int) -> CameraModel:
    """The camera pose from tape marks on the floor (image pixels (n, 2) <-> floor metres (n, 2)) and intrinsics.

    The floor-to-image homography is ``K [r1 r2 t]`` up to scale (Zhang 2000); r3 completes the rotation.
    """
    Hfi = homography(np.asarray(floor_m, float), np.asarray(image_px, float))
    M = np.linalg.inv(K) @ Hfi
    lam = 1.0 / np.linalg.norm(M[:, 0])
    r1, r2, t = M[:, 0] * lam, M[:, 1] * lam, M[:, 2] * lam
    if t[2] < 0:  # the floor must lie in front of the camera
        r1, r2, t = -r1, -r2, -t
    R = np.stack([r1, r2, np.cross(r1, r2)], axis=1)
    u, _, vt = np.linalg.svd(R)
    R = u @ vt
    if np.linalg.det(R) < 0:
        raise GeometryError("the tape marks give a mirrored floor; check that their floor coordinates match the image order")
    cam = CameraModel(K=np.asarray(K, float), R=R, t=t, width_px=width_px, height_px=height_px)
    if cam.center_m[2] <= 0:
        raise GeometryError("the tape marks put the camera below the floor; check their floor coordinates")
    return cam


@dataclass(frozen=True)
class FloorFix:
    """Where a person stands: floor position (m), estimated standing height (m), number of landmarks used, and
    the standard deviation of the position along the camera's line of sight (m), which is where a single camera
    is unsure (it grows when the counter hides the legs and the height prior has to decide)."""

    position_m: tuple[float, float]
    height_m: float
    levels_used: int
    range_sd_m: float = 0.0


_BODY_INDEX = np.array(list(STANDARD_BODY))
_BODY_OFFSET = np.array(list(STANDARD_BODY.values()))  # (n, 3) forward, left, up
_BODY_IS_HEAD = np.isin(_BODY_INDEX, _HEAD_POINTS)
_PAIR_INDEX = np.array(_PAIRS)
_PAIR_UP = np.array([STANDARD_BODY[a][2] for a, _ in _PAIRS])


def _body_points(keypoints: np.ndarray, min_visibility: float, body_heading: float | None,
                 head_heading: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) normalised (n, 2) and offsets (n, 3) as shares of height, one row per usable landmark.

    With a heading, every visible landmark is used at its place on the body. Without one, left/right pairs
    give their midpoint (their sideways offsets cancel), or the one visible side.
    """
    vis = keypoints[:, 2] >= min_visibility
    if body_heading is None:
        seen = vis[_PAIR_INDEX]  # (pairs, 2)
        count = seen.sum(axis=1)
        keep = count > 0  # a lone side point is off the axis by a few cm: good enough for a first fix
        uv = (keypoints[_PAIR_INDEX, :2] * seen[..., None]).sum(axis=1)[keep] / count[keep, None]
        off = np.zeros((int(keep.sum()), 3))
        off[:, 2] = _PAIR_UP[keep]
        return uv, off
    h = np.full(len(_BODY_INDEX), body_heading)
    if head_heading is not None:
        h[_BODY_IS_HEAD] = head_heading
    used = vis[_BODY_INDEX]
    h = h[used]
    fwd, left, up = _BODY_OFFSET[used].T
    off = np.column_stack((fwd * np.cos(h) - left * np.sin(h), fwd * np.sin(h) + left * np.cos(h), up))
    return keypoints[_BODY_INDEX[used], :2], off


def locate_person(camera: CameraModel, keypoints: np.ndarray, *, mean_height_m: float, height_sd_m: float,
                  min_visibility: float, body_heading_rad: float | None = None,
                  head_heading_rad: float | None = None, keypoint_sigma_px: float = 3.0) -> FloorFix | None:
    """Floor position and height of a standing person from normalised keypoints (33, 3).

    Solves for (x, y, height) so that each visible landmark, placed on the standard body scaled to that
    height (turned to ``body_heading_rad`` when known), projects onto its keypoint; the height prior keeps
    the solution stable when only the head and shoulders show above the counter. Linear in the unknowns (the
    projection is cross-multiplied), reweighted once by depth so residuals are in pixels.

    Returns None when no usable landmark is visible.
    """
    kp = np.asarray(keypoints, float)
    uv, off = _body_points(kp, min_visibility, body_heading_rad, head_heading_rad)
    if len(uv) == 0:
        return None
    K, R, t = camera.K, camera.R, camera.t
    uv = uv * (camera.width_px, camera.height_px)
    # (pixel - c) * (R2 . X + t2) - f * (R_row . X + t_row) = 0 with X = (x, y, 0) + height * off
    rows, rhs = [], []
    for axis in (0, 1):
        coef = uv[:, axis] - K[axis, 2]
        g = coef[:, None] * R[2] - K[axis, axis] * R[axis]
        rows.append(np.column_stack((g[:, 0], g[:, 1], np.einsum("ij,ij->i", g, off))))
        rhs.append(-(coef * t[2] - K[axis, axis] * t[axis]))
    A0, b0 = np.vstack(rows), np.concatenate(rhs)
    prior_w = keypoint_sigma_px / height_sd_m
    weights = np.ones(len(uv))
    sol = None
    prior = np.diag([0.0, 0.0, prior_w**2])
    for _ in range(2):
        w = np.tile(weights, 2)
        Aw, bw = A0 * w[:, None], b0 * w
        # Normal equations of the 3-unknown least squares (the height prior adds to the last diagonal term).
        normal = Aw.T @ Aw + prior
        sol = np.linalg.solve(normal, Aw.T @ bw + np.array([0.0, 0.0, prior_w**2 * mean_height_m]))
        depths = (sol[2] * off) @ R[2] + (sol[0] * R[2, 0] + sol[1] * R[2, 1] + t[2])
        if np.any(depths <= 0):
            return None
        weights = 1.0 / depths
    assert sol is not None
    # Residuals are in pixels after the depth weighting, so sigma^2 (N^T N)^-1 is the solution's covariance.
    cov = keypoint_sigma_px**2 * np.linalg.inv(normal)[:2, :2]
    ray = np.array([sol[0], sol[1]]) - camera.center_m[:2]
    ray /= max(float(np.linalg.norm(ray)), 1e-9)
    range_sd = float(np.sqrt(max(ray @ cov @ ray, 0.0)))
    return FloorFix(position_m=(float(sol[0]), float(sol[1])), height_m=float(sol[2]), levels_used=len(uv),
                    range_sd_m=range_sd)


def heading_from_yaw(camera: CameraModel, floor_xy: tuple[float, float], yaw_deg: float) -> float:
    """Floor heading (radians, CCW from +x) of a person whose head or torso yaw relative to the camera is ``yaw_deg``.

    Yaw 0 faces the camera; +90 faces the image's right, which on the floor is a quarter turn
    counter-clockwise from the direction towards the camera (the camera's x axis is forward x up).
    """
    return wrap_rad(camera.to_camera_angle(floor_xy) + math.radians(yaw_deg))


def yaw_from_heading(camera: CameraModel, floor_xy: tuple[float, float], heading_rad: float) -> float:
    """Inverse of :func:`heading_from_yaw`, in degrees within -180..180."""
    return math.degrees(wrap_rad(heading_rad - camera.to_camera_angle(floor_xy)))


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule for many points at once: (n, 2) points, (m, 2) polygon -> (n,) bool."""
    pts = np.asarray(points, float).reshape(-1, 2)
    poly = np.asarray(polygon, float)
    out = np.zeros(len(pts), bool)
    # Only points within the polygon's bounding box can be inside: most of the counter test's samples along
    # a line of sight are not, and the edge test costs points x edges.
    low, high = poly.min(axis=0), poly.max(axis=0)
    near = np.flatnonzero(((pts >= low) & (pts <= high)).all(axis=1))
    if len(near) == 0:
        return out
    x, y = pts[near, 0:1], pts[near, 1:2]
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)  # each vertex's successor
    with np.errstate(divide="ignore", invalid="ignore"):  # a level edge never crosses: its quotient is unused
        crosses = ((y1 > y) != (y2 > y)) & (x < x1 + (y - y1) * (x2 - x1) / (y2 - y1))
    out[near] = (crosses.sum(axis=1) % 2) == 1
    return out


def point_in_polygon(point: tuple[float, float], polygon: np.ndarray) -> bool:
    """Even-odd rule for one point; ``polygon`` is (n, 2)."""
    return bool(points_in_polygon(np.asarray([point], float), polygon)[0])


def _rodrigues(v: np.ndarray) -> np.ndarray:
    theta = float(np.linalg.norm(v))
    if theta < 1e-12:
        return np.eye(3)
    k = v / theta
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(theta) * Kx + (1 - math.cos(theta)) * Kx @ Kx


def refine_with_height(camera: CameraModel, image_px: np.ndarray, floor_m: np.ndarray, height_m: float,
                       sigma_px: float = 1.0, sigma_height_m: float = 0.01, iterations: int = 20) -> CameraModel:
    """Refine a floor-calibrated pose with the camera height the installer measured with a tape.

    The camera hangs barely above head height, so a few centimetres of height error move a person's
    estimated distance by decimetres; the tape measure is more precise than clicks on distant marks.
    Levenberg-Marquardt over (rotation vector, camera centre), residuals in pixels plus the height in sigmas.
    """
    img = np.asarray(image_px, float)
    pts = np.c_[np.asarray(floor_m, float), np.zeros(len(floor_m))]

    def unpack(p: np.ndarray) -> CameraModel:
        R = _rodrigues(p[:3]) @ camera.R
        return CameraModel(K=camera.K, R=R, t=-R @ p[3:], width_px=camera.width_px, height_px=camera.height_px)

    def residuals(p: np.ndarray) -> np.ndarray:
        uv, _ = unpack(p).project(pts)
        return np.r_[((uv - img) / sigma_px).ravel(), (p[5] - height_m) / sigma_height_m]

    p = np.r_[np.zeros(3), camera.center_m]
    lam = 1e-3
    r = residuals(p)
    for _ in range(iterations):
        J = np.empty((len(r), 6))
        for j in range(6):
            d = np.zeros(6)
            d[j] = 1e-6
            J[:, j] = (residuals(p + d) - r) / 1e-6
        step = np.linalg.solve(J.T @ J + lam * np.eye(6), -J.T @ r)
        r_new = residuals(p + step)
        if r_new @ r_new < r @ r:
            p, r, lam = p + step, r_new, lam * 0.3
        else:
            lam *= 10
    return unpack(p)
