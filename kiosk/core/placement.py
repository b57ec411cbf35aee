"""The priors a fixed camera has about where people stand: the counter hides, the staff zone holds staff.

One camera knows a person's direction to a few centimetres and their range only to decimetres (it rests on
body proportions, and a counter hides the legs that would fix it). Two facts of the installation narrow it:

- **the counter** (measured by the installer): for a person behind it, whatever the picture shows below its
  top edge is hidden by definition, however confident the pose model is (:func:`hidden_by_counter`);
- **the staff zone**: a person whose legs are hidden and whose uncertain placement reaches into the staff zone
  most likely stands in it; when the measurement agrees within its uncertainty, the placement is drawn into
  the zone (:func:`zone_posterior`), and the uncertainty that remains keeps flowing to the facing tests;
- **nobody stands on the counter**: a placement on its footprint belongs to one side of it or the other.

Pure numpy on plain values: no pixels, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kiosk.core.geometry import CameraModel, points_in_polygon

_SAMPLES = 48  # points tested along each line of sight for the counter


def hidden_by_counter(camera: CameraModel, pixels: np.ndarray, person_xy: tuple[float, float],
                      footprint_m: np.ndarray, height_m: float) -> np.ndarray:
    """Which image points (n, 2 pixels) of a person standing at ``person_xy`` lie behind the counter.

    A point is hidden when the line of sight through it passes through the counter (its footprint raised to
    its height) before it reaches the person: such a point is the model's guess, not something seen.

    Returns:
        (n,) bool.
    """
    px = np.asarray(pixels, float).reshape(-1, 2)
    if len(px) == 0:
        return np.zeros(0, bool)
    c = camera.center_m
    rays = np.c_[px, np.ones(len(px))] @ camera.K_inv.T @ camera.R  # world directions (n, 3)
    horiz = np.hypot(rays[:, 0], rays[:, 1])
    reach = math.hypot(person_xy[0] - c[0], person_xy[1] - c[1])
    with np.errstate(divide="ignore"):
        s_end = np.where(horiz > 1e-9, reach / horiz, 0.0)
    s = np.linspace(0.0, 1.0, _SAMPLES + 1)[1:-1][None, :] * s_end[:, None]  # (n, k) along each ray
    pts = c[None, None, :] + s[..., None] * rays[:, None, :]
    inside = points_in_polygon(pts[..., :2].reshape(-1, 2), footprint_m).reshape(s.shape)
    below_top = (pts[..., 2] < height_m) & (pts[..., 2] > 0.0)
    return (inside & below_top).any(axis=1)


def polygon_area(polygon: np.ndarray) -> float:
    """Shoelace area (m²) of a floor polygon (m, 2)."""
    x, y = np.asarray(polygon, float).T
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


@dataclass(frozen=True)
class FloorEstimate:
    """Where one camera puts a person: a floor position (m) and its uncertainty, ``range_sd_m`` along the line
    of sight (``axis_rad``, from the camera) and ``lateral_sd_m`` across it; ``in_zone`` is how sure the zone
    prior was (0..1) when it moved the estimate."""

    position_m: tuple[float, float]
    axis_rad: float
    range_sd_m: float
    lateral_sd_m: float
    in_zone: float = 0.0


_GRID = np.linspace(-3.0, 3.0, 31)  # standard deviations sampled each way


def zone_posterior(measured: FloorEstimate, zones: list[np.ndarray], prior: float,
                   free_area_m2: float = 30.0, nobody_stands: np.ndarray | None = None) -> FloorEstimate:
    """The estimate once the zone prior has had its say.

    The person stands in one of ``zones`` with probability ``prior`` (uniformly over their area) or anywhere
    on ``free_area_m2`` of floor otherwise. With the measurement a Gaussian (long along the line of sight,
    narrow across it), the posterior is a mixture. When the zone wins it and the
    measurement lies outside the zone, the estimate moves to the most likely place inside (the densest patch
    of the measurement there), with the spread that remains; a measurement inside the zone, or a zone that
    loses, leaves the estimate where it was (moving an estimate that is already plausible would only bias it).
    ``nobody_stands`` (a polygon: the counter's footprint) holds no one, so the measurement's share there
    goes to where people can be.

    Example:
        >>> est = FloorEstimate((1.2, 0.9), axis_rad=-0.4, range_sd_m=0.4, lateral_sd_m=0.1)
        >>> zone_posterior(est, [staff_polygon], prior=0.5).position_m   # drawn into the staff zone
    """
    if not zones or prior <= 0 or measured.range_sd_m <= 0:
        return measured
    along = np.array([math.cos(measured.axis_rad), math.sin(measured.axis_rad)])
    across = np.array([-along[1], along[0]])
    r, q = np.meshgrid(_GRID * measured.range_sd_m, _GRID * max(measured.lateral_sd_m, 1e-3), indexing="ij")
    pts = np.asarray(measured.position_m) + r.reshape(-1, 1) * along + q.reshape(-1, 1) * across
    w = np.exp(-0.5 * (np.square(_GRID)[:, None] + np.square(_GRID)[None, :])).ravel()
    if nobody_stands is not None:
        w = np.where(points_in_polygon(pts, nobody_stands), 0.0, w)
        if w.sum() <= 0:
            return measured
    w /= w.sum()
    best = None
    for poly in zones:
        inside = points_in_polygon(pts, poly)
        mass = float(w[inside].sum())
        if mass > 0 and (best is None or mass > best[0]):
            best = (mass, inside, poly)
    if best is None:
        return measured
    mass, inside, best_poly = best
    area = polygon_area(best_poly)
    like_in, like_out = mass / max(area, 1e-6), 1.0 / free_area_m2
    p_in = prior * like_in / (prior * like_in + (1.0 - prior) * like_out)
    if p_in <= 0.5:
        return FloorEstimate(measured.position_m, measured.axis_rad, measured.range_sd_m, measured.lateral_sd_m, p_in)
    here = np.asarray(measured.position_m)[None, :]
    if nobody_stands is None or not points_in_polygon(here, nobody_stands)[0]:
        if points_in_polygon(here, best_poly)[0]:  # already where the prior says: the measurement stands
            return FloorEstimate(measured.position_m, measured.axis_rad, measured.range_sd_m, measured.lateral_sd_m, p_in)
    # The most likely place in the zone: the measurement's densest patch there (its edge nearest the
    # measurement, and a little inside, so that the zone test does not flicker on the boundary).
    wz = np.where(inside, w, 0.0)
    patch = wz >= 0.5 * wz.max()
    wi = wz[patch] / wz[patch].sum()
    mean = wi @ pts[patch]
    offsets = pts[inside] - mean
    wall = w[inside] / mass
    range_sd = float(math.sqrt(max(wall @ np.square(offsets @ along), 0.0)))
    lateral_sd = float(math.sqrt(max(wall @ np.square(offsets @ across), 0.0)))
    return FloorEstimate((float(mean[0]), float(mean[1])), measured.axis_rad, range_sd, lateral_sd, p_in)
