"""The calibration walk, filmed: run the real perception over the video and judge it (:mod:`kiosk.device.walk_check`).

The frames pass through :class:`kiosk.device.pipeline.Pipeline` exactly as in the store, one at a time; only the
tracked floor positions are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from kiosk.settings.tree import Settings
from kiosk.device.walk_check import (
    DWELL_MIN_S, Sighting, WalkError, WalkReport, assign_dwells, find_blind_spells, find_dwells, judge_walk, looks_along,
    sightings, walk_marks,
)


def watch_walk(path: Path, settings: Settings, progress: Callable[[int, int | None], None] | None = None
               ) -> list[Sighting]:
    """Everyone's floor position in every analysed frame of the video.

    Raises:
        kiosk.vision.source.SourceError: missing, unreadable or corrupt video.
        ValueError: the camera is not calibrated.
    """
    from kiosk.device.pipeline import Pipeline
    from kiosk.vision.source import VideoFileSource

    seen: list[Sighting] = []
    with VideoFileSource(path, max_fps=settings.vision.max_fps,
                         size=(settings.camera.width_px, settings.camera.height_px)) as source:
        fps = min(settings.vision.max_fps, source.nominal_fps or settings.vision.max_fps)
        total = None if source.frame_count is None or source.nominal_fps is None \
            else int(source.frame_count * fps / source.nominal_fps)
        pipeline = Pipeline(settings, fps)
        try:
            for n, (t, frame) in enumerate(source, start=1):
                pipeline.update(t, frame)
                del frame
                assert pipeline.last_frame is not None
                seen += sightings(pipeline.last_frame)
                if progress:
                    progress(n, total)
        finally:
            pipeline.close()
    return seen


def check_walk(path: Path, settings: Settings, progress: Callable[[int, int | None], None] | None = None
               ) -> WalkReport:
    """Where the pipeline placed the person standing on each tape mark of ``settings.camera``, and the verdict.

    Raises:
        kiosk.vision.source.SourceError: missing, unreadable or corrupt video.
        WalkError: nobody stood still long enough to be judged.
    """
    from kiosk.core.tracking import ZoneMap, camera_from_settings

    seen = watch_walk(path, settings, progress)
    dwells = find_dwells(seen)
    if not dwells:
        tracks = len({s.track_id for s in seen})
        raise WalkError(f"nobody stood still for {DWELL_MIN_S:.0f} s in {path} ({len(seen)} placements of "
                        f"{tracks} tracked people): film the walk again, standing still 3 s on each tape mark, "
                        "with the whole person in the picture")
    camera = camera_from_settings(settings.camera)
    zones = ZoneMap.from_camera_settings(camera, settings.camera)
    counter = settings.camera.counter
    marks = walk_marks([p.floor_m for p in settings.camera.floor_points], zones,
                       None if counter is None else counter.footprint_m)
    centre = tuple(float(v) for v in camera.center_m[:2])
    matching = assign_dwells(dwells, marks, centre, settings.tracking.depth_uncertainty_ratio)  # type: ignore[arg-type]
    polys = dict(zones.polygons)
    along = True
    if "staff" in polys and "service" in polys:
        along = looks_along(tuple(camera.R[2, :2]), tuple(polys["staff"].mean(axis=0)),  # type: ignore[arg-type]
                            tuple(polys["service"].mean(axis=0)))
    return judge_walk(matching, looks_along_counter=along, blind=find_blind_spells(seen))
