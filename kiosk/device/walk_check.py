"""The calibration walk, judged: where the pipeline placed someone standing on each tape mark, against the mark.

After marking the floor, the installer films someone standing still for a few seconds on each tape mark, behind
the counter and in front of it (``kiosk calibrate CAL.toml --walk VIDEO``). This module is the pure part:

1. :func:`find_dwells`: in the tracked positions, the stretches where one track stays within ``radius_m`` for
   ``min_s`` or longer (a stand); stands of split tracks at one spot are merged.
2. :func:`assign_dwells`: each stand goes to a tape mark *as one camera sees*: the direction from the camera is
   known to centimetres, the range only to decimetres, so a stand can be on a mark in its direction even metres
   off in range, and a range error costs ``range_ratio`` times less than the same error across the view. The
   order of the walk (the marks' order in the calibration) tells apart marks one behind the other. A staff
   member placed 1.5 m too far (the failure of issue 11) is still matched to the mark they stood on, and the
   report shows the 1.5 m.
3. :func:`judge_walk`: per mark the error, per side of the counter the median and worst error, a verdict in
   plain words and what to change when it fails.

The video-reading part is :mod:`kiosk.device.walk_video`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from kiosk.core.angles import wrap_rad
from kiosk.core.geometry import point_in_polygon
from kiosk.core.scene import SceneFrame
from kiosk.core.tracking import ZoneMap
from kiosk.vocabulary import ZoneName

# What "measures greetings and distances well enough" means (issue 11's targets for the staff member's floor
# error, applied to both sides): a greeting is judged on a 2 m distance and a facing line, a distance band edge
# is 0.45 m wide.
GOOD_MEDIAN_M = 0.25
GOOD_WORST_M = 0.5
DWELL_RADIUS_M = 0.3
DWELL_MIN_S = 2.0
# A stand was not on a mark when it is farther than this across the camera's view from it (one camera knows
# direction to centimetres), or farther than this in range (which it knows only to decimetres; issue 11 saw a
# staff member placed 1.3-2.3 m too far, and such a stand must still show up on its mark with that error).
MATCH_ACROSS_M = 0.6
MATCH_RANGE_M = 3.0
UNDER_COUNTER_M = 0.1  # a mark this far inside the counter's footprint is under it (nearer: at its edge, where people stand)
STRAY_NEAR_M = 1.5  # a stand on no mark this near a mark never matched was probably meant for it
# Two stands at one spot with a gap shorter than this are one stand (the track was lost and found again).
MERGE_GAP_S = 1.5
# A mark "stands out" when its error is this many times its side's median and above the worst allowed.
OUTLIER_FACTOR = 2.0
_SMOOTH_S = 0.5  # half-window of the running median that removes single-frame jumps before a stand is looked for

EXIT_WALK_NOT_GOOD = 5  # distinct from a bad input (3): the walk ran, and says the camera does not measure well


class WalkError(ValueError):
    """A walk video that cannot be judged (nobody stood still in it); the message says what to do."""


@dataclass(frozen=True)
class Sighting:
    """One tracked person's floor position in one frame (seconds, metres)."""

    t: float
    track_id: int
    position_m: tuple[float, float]
    zone: ZoneName | None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.t) and all(math.isfinite(v) for v in self.position_m)):
            raise ValueError(f"Sighting needs finite t and position_m, got t={self.t!r}, position_m={self.position_m!r}")


def sightings(frame: SceneFrame) -> list[Sighting]:
    """Everyone the frame placed on the floor."""
    return [Sighting(frame.t, p.track_id, p.position_m, p.zone) for p in frame.people if p.position_m is not None]


@dataclass(frozen=True)
class Dwell:
    """Someone standing still: from ``start_s`` to ``end_s`` at ``position_m`` (median), mostly in ``zone``."""

    start_s: float
    end_s: float
    position_m: tuple[float, float]
    zone: ZoneName | None
    frames: int

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


def _smoothed(points: np.ndarray, times: np.ndarray) -> np.ndarray:
    return np.array([np.median(points[np.abs(times - t) <= _SMOOTH_S], axis=0) for t in times])


def _track_dwells(track: list[Sighting], radius_m: float, min_s: float) -> list[tuple[int, int, list[Sighting]]]:
    """Greedy stands of one track: the longest runs whose points all lie within ``radius_m`` of their median."""
    times = np.array([s.t for s in track])
    pts = _smoothed(np.array([s.position_m for s in track], float), times)
    out, i, n = [], 0, len(track)
    while i < n:
        j = i
        while j + 1 < n:
            window = pts[i:j + 2]
            if np.linalg.norm(window - np.median(window, axis=0), axis=1).max() > radius_m:
                break
            j += 1
        if times[j] - times[i] >= min_s:
            out.append((i, j, track[i:j + 1]))
            i = j + 1
        else:
            i += 1
    return out


def _dwell(run: list[Sighting]) -> Dwell:
    zone = Counter(s.zone for s in run).most_common(1)[0][0]
    xy = np.median(np.array([s.position_m for s in run]), axis=0)
    return Dwell(run[0].t, run[-1].t, (float(xy[0]), float(xy[1])), zone, len(run))


def find_dwells(seen: Iterable[Sighting], radius_m: float = DWELL_RADIUS_M, min_s: float = DWELL_MIN_S) -> list[Dwell]:
    """Stands in time order: a track that stays within ``radius_m`` of one spot for ``min_s`` or longer.

    Stands at one spot (within ``radius_m``) less than ``MERGE_GAP_S`` apart are one stand, whatever their
    track ids: a lost and re-found track does not make a second visit. Positions are smoothed by a 1 s running
    median first, so a single-frame jump does not cut a stand in two.
    """
    tracks: dict[int, list[Sighting]] = {}
    for s in sorted(seen, key=lambda s: s.t):
        tracks.setdefault(s.track_id, []).append(s)
    runs = sorted((run for track in tracks.values() for _, _, run in _track_dwells(track, radius_m, min_s)),
                  key=lambda r: r[0].t)
    merged: list[list[Sighting]] = []
    for run in runs:
        if merged:
            last = _dwell(merged[-1])
            here = _dwell(run)
            if run[0].t - last.end_s <= MERGE_GAP_S and math.dist(last.position_m, here.position_m) <= radius_m:
                merged[-1] = merged[-1] + run
                continue
        merged.append(run)
    return [_dwell(run) for run in merged]


@dataclass(frozen=True)
class BlindSpell:
    """A stretch of the walk in which nobody was placed at all, between two sightings (seconds, metres)."""

    start_s: float
    end_s: float
    last_m: tuple[float, float]
    next_m: tuple[float, float]

    @property
    def seconds(self) -> float:
        return self.end_s - self.start_s


def find_blind_spells(seen: Iterable[Sighting], min_s: float = DWELL_MIN_S) -> list[BlindSpell]:
    """The gaps of ``min_s`` or longer between one sighting of anybody and the next: the walker stays in view,
    so in such a gap they stood (or walked) where the camera does not place them."""
    ordered = sorted(seen, key=lambda s: s.t)
    return [BlindSpell(a.t, b.t, a.position_m, b.position_m) for a, b in zip(ordered, ordered[1:])
            if b.t - a.t >= min_s]


@dataclass(frozen=True)
class Mark:
    """A tape mark: its number in the calibration (1-based), where it is, its side of the counter and zone."""

    number: int
    floor_m: tuple[float, float]
    behind_counter: bool
    zone: ZoneName | None
    under_counter: bool = False  # nobody can stand on it: it is left out of the walk


def miss(camera_xy: tuple[float, float], mark_xy: tuple[float, float], seen_xy: tuple[float, float]
         ) -> tuple[float, float]:
    """How a placement misses a mark, in metres: across the view (at the mark's range, unsigned) and in range
    (+ = farther from the camera than the mark)."""
    r_mark = math.dist(camera_xy, mark_xy)
    bearing = math.atan2(seen_xy[1] - camera_xy[1], seen_xy[0] - camera_xy[0]) \
        - math.atan2(mark_xy[1] - camera_xy[1], mark_xy[0] - camera_xy[0])
    return abs(r_mark * wrap_rad(bearing)), math.dist(camera_xy, seen_xy) - r_mark


def mark_cost(camera_xy: tuple[float, float], mark_xy: tuple[float, float], seen_xy: tuple[float, float],
              range_ratio: float) -> float:
    """How far (metres) a placement is from a mark as one camera judges it: the miss across the view, and the
    miss in range divided by ``range_ratio``."""
    across, along = miss(camera_xy, mark_xy, seen_xy)
    return math.hypot(across, along / range_ratio)


def could_be_on(camera_xy: tuple[float, float], mark_xy: tuple[float, float], seen_xy: tuple[float, float]) -> bool:
    """Whether a stand placed at ``seen_xy`` can have been on the mark: in its direction (``MATCH_ACROSS_M``) and
    within ``MATCH_RANGE_M`` of its range."""
    across, along = miss(camera_xy, mark_xy, seen_xy)
    return across <= MATCH_ACROSS_M and abs(along) <= MATCH_RANGE_M


@dataclass(frozen=True)
class MarkResult:
    """One mark of the walk: the stands matched to it (none = never seen standing there) and the error."""

    mark: Mark
    dwells: tuple[Dwell, ...]
    measured_m: tuple[float, float] | None = None
    error_m: float | None = None
    range_error_m: float | None = None  # + = placed farther from the camera than the mark
    zone_seen: ZoneName | None = None

    @property
    def seconds(self) -> float:
        return sum(d.seconds for d in self.dwells)


def _result(mark: Mark, dwells: list[Dwell], camera_xy: tuple[float, float]) -> MarkResult:
    if not dwells:
        return MarkResult(mark, ())
    w = np.array([d.seconds for d in dwells]) + 1e-9
    xy = tuple(float(v) for v in np.average(np.array([d.position_m for d in dwells]), axis=0, weights=w))
    zone = max(dwells, key=lambda d: d.seconds).zone
    return MarkResult(mark, tuple(dwells), xy, math.dist(xy, mark.floor_m),  # type: ignore[arg-type]
                      math.dist(camera_xy, xy) - math.dist(camera_xy, mark.floor_m), zone)


@dataclass(frozen=True)
class Matching:
    """Stands matched to marks: a result per mark (in mark order), the stands on no mark, and whether the walk
    followed the marks' order (else each stand went to the mark nearest in direction)."""

    results: tuple[MarkResult, ...]
    stray: tuple[Dwell, ...]
    in_walk_order: bool


def _in_order(dwells: Sequence[Dwell], marks: Sequence[Mark], cost: list[list[float | None]]) -> list[int | None]:
    """Per stand the index of its mark, marks taken in increasing order (each at most once), as many stands
    matched as the order allows and, among those ways, the least total cost (dynamic programming)."""
    n, k = len(dwells), len(marks)
    best = [[(0, 0.0)] * (k + 1) for _ in range(n + 1)]  # (matched, -cost) over dwells[:i], marks[:j]
    step = [[""] * (k + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(k + 1):
            if i == 0 and j == 0:
                continue
            options = []
            if i > 0:
                options.append((best[i - 1][j], "stray"))
            if j > 0:
                options.append((best[i][j - 1], "skip"))
            c = cost[i - 1][j - 1] if i > 0 and j > 0 else None
            if c is not None:
                m, neg = best[i - 1][j - 1]
                options.append(((m + 1, neg - c), "match"))
            best[i][j], step[i][j] = max(options, key=lambda o: o[0])
    out: list[int | None] = [None] * n
    i, j = n, k
    while i > 0 and j >= 0:
        move = step[i][j]
        if move == "match":
            out[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif move == "skip":
            j -= 1
        else:
            i -= 1
    return out


def assign_dwells(dwells: Sequence[Dwell], marks: Sequence[Mark], camera_xy: tuple[float, float],
                  range_ratio: float) -> Matching:
    """Stands (in time order) to tape marks (in calibration order).

    A stand can only be on a mark in its direction (:func:`could_be_on`). When the walk followed the marks'
    order (every stand that can be on some mark matched, in increasing mark order), that order decides: it
    tells apart two marks one behind the other as seen from the camera, where a range error would make the
    farther one look nearer. Otherwise each stand goes to the mark of least :func:`mark_cost`, and several
    stands on one mark (a second visit) are pooled, weighted by their seconds.
    """
    if not marks:
        raise ValueError("assign_dwells needs at least one tape mark")
    cost = [[mark_cost(camera_xy, m.floor_m, d.position_m, range_ratio)
             if not m.under_counter and could_be_on(camera_xy, m.floor_m, d.position_m) else None for m in marks]
            for d in dwells]
    nearest = [min((c, j) for j, c in enumerate(row) if c is not None)[1] if any(c is not None for c in row)
               else None for row in cost]
    ordered = _in_order(dwells, marks, cost)
    in_order = sum(j is not None for j in ordered) == sum(j is not None for j in nearest)
    chosen = ordered if in_order else nearest
    on: dict[int, list[Dwell]] = {j: [] for j in range(len(marks))}
    for d, j in zip(dwells, chosen):
        if j is not None:
            on[j].append(d)
    stray = tuple(d for d, j in zip(dwells, chosen) if j is None)
    return Matching(tuple(_result(m, on[j], camera_xy) for j, m in enumerate(marks)), stray, in_order)


@dataclass(frozen=True)
class SideSummary:
    name: str  # "behind the counter (staff)" / "in front of the counter (customers)"
    measured: tuple[MarkResult, ...]
    median_m: float | None
    worst_m: float | None

    @property
    def good(self) -> bool:
        return self.median_m is not None and self.median_m <= GOOD_MEDIAN_M and self.worst_m <= GOOD_WORST_M  # type: ignore[operator]


@dataclass(frozen=True)
class WalkReport:
    """What the walk showed; ``text()`` is what the installer reads."""

    marks: tuple[MarkResult, ...]
    sides: tuple[SideSummary, ...]
    stray: tuple[Dwell, ...]
    problems: tuple[str, ...]  # why it is not good enough, each with what to change
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        lines = ["walk: where the person standing on each tape mark was placed",
                 f"  {'mark':>4}  {'at (m)':>13}  {'placed at (m)':>13}  {'error':>7}  {'range':>7}  "
                 f"{'seen':>5}  side"]
        for r in self.marks:
            side = "behind" if r.mark.behind_counter else "front"
            at = f"({r.mark.floor_m[0]:.2f}, {r.mark.floor_m[1]:.2f})"
            if r.measured_m is None:
                seen = "under counter" if r.mark.under_counter else "not seen"
                lines.append(f"  #{r.mark.number:<3}  {at:>13}  {seen:>13}  {'':>7}  {'':>7}  {'':>5}  {side}")
                continue
            placed = f"({r.measured_m[0]:.2f}, {r.measured_m[1]:.2f})"
            lines.append(f"  #{r.mark.number:<3}  {at:>13}  {placed:>13}  {r.error_m:>5.2f} m  "
                         f"{r.range_error_m:>+5.2f} m  {r.seconds:>4.1f}s  {side}")
        for d in self.stray:
            lines.append(f"  a stand of {d.seconds:.1f} s at ({d.position_m[0]:.2f}, {d.position_m[1]:.2f}) m "
                         "matched no tape mark")
        for s in self.sides:
            if s.median_m is None:
                lines.append(f"{s.name}: no mark measured")
            else:
                lines.append(f"{s.name}: {len(s.measured)} mark(s), median error {s.median_m:.2f} m, "
                             f"worst {s.worst_m:.2f} m ({'good' if s.good else 'NOT good'}; "
                             f"good is <= {GOOD_MEDIAN_M} m median and <= {GOOD_WORST_M} m worst)")
        lines += [f"note  {n}" for n in self.notes]
        lines += [f"FAIL  {p}" for p in self.problems]
        if self.ok:
            lines.append("verdict: this camera position measures greetings and distances well enough")
        else:
            lines.append("verdict: this camera position does NOT measure greetings and distances well enough; "
                         "change what the FAIL lines say and film the walk again")
        return "\n".join(lines)


def _summary(name: str, results: list[MarkResult]) -> SideSummary:
    measured = tuple(r for r in results if r.error_m is not None)
    errs = [r.error_m for r in measured]
    return SideSummary(name, measured, float(np.median(errs)) if errs else None, max(errs) if errs else None)  # type: ignore[type-var]


def judge_walk(matching: Matching, *, looks_along_counter: bool, blind: Sequence[BlindSpell] = ()) -> WalkReport:
    """The verdict on a walk: each side of the counter needs at least one measured mark, a median error of at
    most ``GOOD_MEDIAN_M`` and a worst of at most ``GOOD_WORST_M``, and a person on a staff-zone mark must be
    placed in the staff zone (else they would be counted as a customer and no greeting found).

    ``looks_along_counter``: whether the camera's view runs along the counter (DESIGN §1) rather than across it;
    it decides the advice for range errors. ``blind``: the spells nobody was placed (:func:`find_blind_spells`);
    one that begins and ends near a mark never seen means the walker was lost standing there.
    """
    results, stray = matching.results, matching.stray
    behind = _summary("behind the counter (staff)", [r for r in results if r.mark.behind_counter])
    front = _summary("in front of the counter (customers)", [r for r in results if not r.mark.behind_counter])
    problems: list[str] = []
    notes: list[str] = []
    for side, who in ((behind, "staff"), (front, "customers")):
        if side.median_m is None:
            problems.append(f"no tape mark {_where(side)} was seen with someone standing on it: if nobody stood "
                            f"there, film the walk again, standing still 3 s on at least two marks where {who} stand; "
                            f"if someone did, this camera position does not see {who} {_where(side)}: check that the "
                            "marks are in the picture and not hidden, then raise the camera or move it to the end of "
                            "the counter")
            continue
        outliers = [r for r in side.measured if _stands_out(side, r)]
        rest = [r for r in side.measured if r not in outliers]
        for r in outliers:
            problems.append(f"tape mark #{r.mark.number} at {r.mark.floor_m} m stands out ({r.error_m:.2f} m off, the "
                            f"other marks {_where(side)} {max(o.error_m for o in rest):.2f} m at most): "  # type: ignore[type-var]
                            "re-measure its position with the tape measure and re-click it, then film the walk again")
        kept = _summary(side.name, rest)
        if not kept.good:
            problems.append(f"{who} {_where(side)} are placed {kept.median_m:.2f} m off (median), "
                            f"{kept.worst_m:.2f} m at worst, {_fix(kept, who, looks_along_counter)}")
    for r in results:
        if r.mark.zone == "staff" and r.measured_m is not None and r.zone_seen != "staff":
            fix = (_fix(behind, "staff", looks_along_counter) if r.error_m > GOOD_WORST_M  # type: ignore[operator]
                   else "redraw the staff zone so that it takes in this mark with 0.3 m to spare")
            problems.append(f"the person on tape mark #{r.mark.number} (in the staff zone) was placed in "
                            f"{'the ' + r.zone_seen + ' zone' if r.zone_seen else 'no zone'}, so staff standing "
                            f"there would count as customers and greet no one: {fix}")
    unseen = [r.mark.number for r in results if r.measured_m is None and not r.mark.under_counter]
    if unseen:
        notes.append(f"tape marks never seen with someone standing on them: {', '.join(f'#{n}' for n in unseen)} "
                     "(not walked, hidden, or out of the picture); walk them too where people stand")
    unseen_marks = [r.mark for r in results if r.measured_m is None and not r.mark.under_counter]
    for d in stray:
        near = min(unseen_marks, key=lambda m: math.dist(m.floor_m, d.position_m), default=None)
        where = f"({d.position_m[0]:.2f}, {d.position_m[1]:.2f}) m"
        if near is not None and math.dist(near.floor_m, d.position_m) <= STRAY_NEAR_M:
            problems.append(f"a stand at {where} lay off the direction of every tape mark, "
                            f"{math.dist(near.floor_m, d.position_m):.2f} m from tape mark #{near.number}, "
                            f"which was never matched: if #{near.number} is where they stood, re-measure it and "
                            "re-click it; if every mark is off like this, the camera has moved since the still")
        else:
            notes.append(f"a stand at {where} was on no tape mark and is left out")
    for spell in blind:
        near = [m for m in unseen_marks if max(math.dist(m.floor_m, spell.last_m),
                                               math.dist(m.floor_m, spell.next_m)) <= STRAY_NEAR_M]
        where = (f"nobody was placed for {spell.seconds:.1f} s ({spell.start_s:.1f}-{spell.end_s:.1f} s of the video), "
                 f"between ({spell.last_m[0]:.2f}, {spell.last_m[1]:.2f}) m and "
                 f"({spell.next_m[0]:.2f}, {spell.next_m[1]:.2f}) m")
        if near:
            who = "staff" if any(m.behind_counter for m in near) else "customers"
            problems.append(f"{where}, near tape mark {' or '.join(f'#{m.number}' for m in near)}, never seen: if the "
                            f"walker stood there, {who} there are not measured at all; check that the mark is in "
                            "the picture and not hidden (by the counter, a screen), else raise the camera or move it "
                            "to the end of the counter")
        else:
            notes.append(f"{where}; if the walker stayed in the picture, they were lost there")
    if not matching.in_walk_order:
        notes.append("the stands did not follow the order of the marks in the calibration file, so each was matched "
                     "to the mark nearest in direction; walking the marks in that order tells apart marks that lie "
                     "one behind the other as the camera sees them")
    return WalkReport(tuple(results), (behind, front), tuple(stray), tuple(dict.fromkeys(problems)), tuple(notes))


def _stands_out(side: SideSummary, r: MarkResult) -> bool:
    """A mark much worse than the others on its side: more likely a mis-measured mark than a bad camera."""
    others = [o.error_m for o in side.measured if o is not r]
    return bool(others) and r.error_m > GOOD_WORST_M and r.error_m > OUTLIER_FACTOR * float(np.median(others))  # type: ignore[operator,arg-type]


def _where(side: SideSummary) -> str:
    return side.name.split(" (")[0]


def _fix(side: SideSummary, who: str, looks_along_counter: bool) -> str:
    """What to change when a side's placements are off: by whether the error lies in range or across the view."""
    ranged = [abs(r.range_error_m) for r in side.measured]  # type: ignore[arg-type]
    across = [math.sqrt(max(r.error_m ** 2 - r.range_error_m ** 2, 0.0)) for r in side.measured]  # type: ignore[operator]
    if np.median(ranged) < np.median(across):
        return ("mostly across the view: the camera has probably moved since the marks were clicked; re-click the "
                "tape marks in a fresh still (kiosk calibrate checks them) and film the walk again")
    far = float(np.median([r.range_error_m for r in side.measured])) > 0  # type: ignore[arg-type]
    what = f"mostly in distance from the camera ({'too far' if far else 'too near'})"
    if who == "staff" and not looks_along_counter:
        return (f"{what}: aim the camera along the counter from one end of it, so that the counter hides less "
                "of the staff, or raise it so that it sees more of them over the counter")
    if who == "staff":
        return f"{what}: raise the camera so that it sees more of the staff over the counter"
    return f"{what}: raise the camera or tilt it down so that customers' feet are in the picture"


def looks_along(camera_forward_xy: tuple[float, float], staff_centroid: tuple[float, float],
                counter_centroid: tuple[float, float]) -> bool:
    """Whether the camera's view (its optical axis on the floor) runs within 45 degrees of the counter's length
    rather than across it; the counter's length is square to the line from the staff zone to the service zone."""
    across = np.subtract(counter_centroid, staff_centroid)
    fwd = np.asarray(camera_forward_xy, float)
    if np.linalg.norm(across) == 0 or np.linalg.norm(fwd) == 0:
        return True
    cos = abs(float(np.dot(across, fwd) / (np.linalg.norm(across) * np.linalg.norm(fwd))))
    return cos < math.cos(math.radians(45))


def _edge_distance(point: tuple[float, float], polygon: np.ndarray) -> float:
    p = np.asarray(point, float)
    a, b = polygon, np.roll(polygon, -1, axis=0)
    ab = b - a
    u = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12), 0.0, 1.0)
    return float(np.linalg.norm(a + u[:, None] * ab - p, axis=1).min())


def _distance_to_polygon(point: tuple[float, float], polygon: np.ndarray) -> float:
    return 0.0 if point_in_polygon(point, polygon) else _edge_distance(point, polygon)


def walk_marks(points_m: Sequence[tuple[float, float]], zones: ZoneMap,
               counter_m: Sequence[tuple[float, float]] | None = None) -> list[Mark]:
    """The calibration's tape marks (floor x, y in calibration order) with their side of the counter: behind it
    when inside the staff zone or nearer to it than to every customer zone (service, queue), e.g. a mark
    against the back wall; else in front. ``counter_m``: the counter's footprint (floor corners), when measured;
    a mark well inside it is under the counter, where nobody stands."""
    staff = [poly for name, poly in zones.polygons if name == "staff"]
    customer = [poly for name, poly in zones.polygons if name != "staff"]
    counter = None if counter_m is None else np.asarray(counter_m, float)
    marks = []
    for i, (x, y) in enumerate(points_m, start=1):
        xy = (float(x), float(y))
        to_staff = min((_distance_to_polygon(xy, p) for p in staff), default=math.inf)
        to_customer = min((_distance_to_polygon(xy, p) for p in customer), default=math.inf)
        under = counter is not None and point_in_polygon(xy, counter) and _edge_distance(xy, counter) > UNDER_COUNTER_M
        marks.append(Mark(i, xy, to_staff == 0.0 or to_staff < to_customer, zones.zone_of(xy), under))
    return marks
