"""Checking and storing the installer's calibration: tape marks, zones and the camera height.

A calibration is the ``[camera]`` table of the settings (see ``CameraSettings``). ``check_calibration`` says,
in words a technician can act on, whether it gives a usable camera: the tape marks must agree with one camera
pose, that pose must hang where the tape measure says, and every zone must lie in the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tomli_w
from pydantic import ValidationError

from kiosk.settings.toml_file import read_toml
from kiosk.settings.tree import CameraSettings, ConfigError
from kiosk.core.geometry import camera_from_floor_points, intrinsics_from_hfov, points_in_polygon
from kiosk.core.tracking import ZoneMap, camera_from_settings

MAX_REPROJECTION_PX = 4.0  # clicks are good to a pixel or two; more means a mark was mistyped or misplaced
MAX_HEIGHT_GAP_M = 0.25


@dataclass
class CalibrationReport:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.ok = False
        self.lines.append(f"FAIL  {message}")

    def good(self, message: str) -> None:
        self.lines.append(f"ok    {message}")

    def text(self) -> str:
        return "\n".join(self.lines + ["calibration " + ("usable" if self.ok else "NOT usable: fix the lines marked FAIL")])


def load_calibration(path: Path) -> CameraSettings:
    """Read the ``[camera]`` table of a TOML file. Raises ConfigError naming the key and the problem."""
    data = read_toml(path, "calibration file", ConfigError)
    if "camera" not in data:
        raise ConfigError(f"calibration file {path} has no [camera] table")
    try:
        return CameraSettings.model_validate(data["camera"])
    except ValidationError as exc:
        lines = [f"camera.{'.'.join(map(str, e['loc']))} = {e.get('input')!r}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"calibration file {path} is invalid:\n  " + "\n  ".join(lines)) from None


def check_calibration(camera: CameraSettings) -> CalibrationReport:
    report = CalibrationReport()
    if len(camera.floor_points) < 4:
        report.fail(f"{len(camera.floor_points)} tape marks; mark at least 4 floor points spread over the counter area")
        return report
    try:
        model = camera_from_settings(camera)
    except ValueError as exc:
        report.fail(str(exc))
        return report
    img = np.array([p.image_px for p in camera.floor_points], float)
    flo = np.c_[np.array([p.floor_m for p in camera.floor_points], float), np.zeros(len(img))]
    uv, _ = model.project(flo)
    err = np.linalg.norm(uv - img, axis=1)
    worst = int(np.argmax(err))
    if err[worst] > MAX_REPROJECTION_PX:
        report.fail(f"tape mark #{worst + 1} at {camera.floor_points[worst].floor_m} m is {err[worst]:.1f} px from where "
                    f"the other marks put it; re-measure it or re-click it")
    else:
        report.good(f"tape marks agree within {err.max():.1f} px")
    # The height the marks alone give (before the tape-measured height refines the pose).
    K = intrinsics_from_hfov(camera.width_px, camera.height_px, camera.hfov_deg)
    height = float(camera_from_floor_points(img, flo[:, :2], K, camera.width_px, camera.height_px).center_m[2])
    if abs(height - camera.height_m) > MAX_HEIGHT_GAP_M:
        report.fail(f"the marks put the camera {height:.2f} m high but height_m says {camera.height_m:.2f} m; "
                    "re-measure the camera height or the marks")
    else:
        report.good(f"camera {height:.2f} m above the floor (tape: {camera.height_m:.2f} m)")
    names = {z.name for z in camera.zones}
    for needed in ("staff", "service"):
        if needed not in names:
            report.fail(f"no '{needed}' zone; draw it around where {'staff stand' if needed == 'staff' else 'the served customer stands'}")
    for z in camera.zones:
        pts = np.asarray(z.polygon_px)
        outside = (pts[:, 0] < 0) | (pts[:, 0] > camera.width_px) | (pts[:, 1] < 0) | (pts[:, 1] > camera.height_px)
        if outside.any():
            report.fail(f"zone '{z.name}' has {int(outside.sum())} corner(s) outside the {camera.width_px}x{camera.height_px} picture")
    if report.ok:
        report.good(f"zones: {', '.join(sorted(names))}")
    _check_counter(camera, model, report)
    return report


def _check_counter(camera: CameraSettings, model, report: CalibrationReport) -> None:
    """The counter must stand in view, below the camera, and not where people are meant to stand."""
    counter = camera.counter
    if counter is None:
        report.good("no counter measured: body points it hides are found by proportions alone "
                    "(measure its corners and height for better placement of staff behind it)")
        return
    if counter.height_m >= camera.height_m:
        report.fail(f"the counter ({counter.height_m:.2f} m) is not below the camera ({camera.height_m:.2f} m); "
                    "re-measure one of them")
        return
    foot = np.asarray(counter.footprint_m, float)
    uv, z = model.project(np.c_[foot, np.full(len(foot), counter.height_m)])
    seen = (z > 0) & (uv[:, 0] >= 0) & (uv[:, 0] <= camera.width_px) & (uv[:, 1] >= 0) & (uv[:, 1] <= camera.height_px)
    if not seen.any():
        report.fail("no corner of the counter's top is in the picture; check its floor coordinates (same frame as the tape marks)")
        return
    zones = ZoneMap.from_camera_settings(model, camera)
    for name in ("staff", "service"):
        for poly in zones.polygons_named(name):
            if points_in_polygon(poly.mean(axis=0)[None, :], foot)[0]:
                report.fail(f"the middle of the '{name}' zone lies on the counter; the counter's corners or the zone are wrong")
                return
    report.good(f"counter {counter.height_m:.2f} m high, {int(seen.sum())} of {len(foot)} top corners in the picture")


def apply_calibration(settings_path: Path, camera: CameraSettings) -> None:
    """Write ``camera`` as the ``[camera]`` table of the settings file, keeping its other tables."""
    path = Path(settings_path)
    data = read_toml(path, "settings file", ConfigError) if path.exists() else {}
    data["camera"] = camera.model_dump(mode="json")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(path)  # the old file stays whole until the new one is complete
