"""One state machine per customer track: arrive -> wait -> greeted -> served -> left (DESIGN §2, §4).

``EpisodeTracker.update(frame)`` takes the tracked people of one frame and returns the interactions that
ended in it; ``finish()`` closes what is still open when the video ends. Time comes only from frame
timestamps, so a recorded scene replays identically.

How the definitions meet noisy frames:
- a customer who steps out of the zones for less than ``evidence_gap_s`` before arriving keeps their arrival
  clock (zone edges flicker);
- a frame that does not show a staff-customer pair (dropout, no face) neither breaks nor extends an
  engagement window, up to ``evidence_gap_s``; a frame that shows them not facing breaks it;
- staff engage only the nearest person inside their facing cone: two staff chatting with a customer behind
  one of them is a chat, not a greeting (rubric G6);
- a customer track that vanishes and a new one that appears within ``relink_distance_m`` before the exit
  grace runs out are the same visit: the tracker lost them, the customer did not leave.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kiosk.settings.tree import ServiceSettings
from kiosk.core.facing import angle_off, distance, faces
from kiosk.core.scene import SceneFrame, TrackedPerson
from kiosk.core.interaction import Interaction
from kiosk.core.measures import Sample, distance_stats, elapsed, eye_contact_ratio

WAIT_ZONES = ("queue", "service")


class TimelineError(ValueError):
    """Frames arrived out of order or twice; the message names both timestamps."""


@dataclass
class _Window:
    start: float
    last_support: float


@dataclass(frozen=True)
class _View:
    """One frame of a customer as seen from each located staff member: (staff id, mutual facing, distance)."""

    t: float
    by_staff: tuple[tuple[int, bool | None, float], ...]

    def sample(self, server_id: int | None) -> Sample:
        """The frame's sample about the serving staff member, or the nearest one when they are not in view."""
        if not self.by_staff:
            return Sample(self.t, None, None)
        chosen = next((v for v in self.by_staff if v[0] == server_id), None)
        if chosen is None:
            chosen = min(self.by_staff, key=lambda v: v[2])
        return Sample(self.t, chosen[1], chosen[2])


@dataclass
class _Episode:
    track_id: int
    entered_at: float
    last_seen_at: float
    last_in_zone_at: float
    last_position: tuple[float, float] | None = None
    arrived: bool = False
    service_since: float | None = None
    last_in_service_at: float | None = None
    greeted_at: float | None = None
    service_started_at: float | None = None
    server_id: int | None = None  # the staff track that greeted them: the one eye contact and distance are about
    windows: dict[int, _Window] = field(default_factory=dict)
    views: list[_View] = field(default_factory=list)


class EpisodeTracker:
    """Turns a stream of :class:`SceneFrame` into :class:`Interaction` values.

    Example:
        >>> tracker = EpisodeTracker(ServiceSettings())
        >>> for frame in frames:
        ...     done.extend(tracker.update(frame))
        >>> done.extend(tracker.finish())
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self._s = settings
        self._open: dict[int, _Episode] = {}
        self._last_t: float | None = None

    @property
    def open_count(self) -> int:
        """Customers currently in an episode (arrived or arriving)."""
        return len(self._open)

    def update(self, frame: SceneFrame) -> list[Interaction]:
        """Advance to ``frame``; returns interactions that ended with it.

        Raises:
            TimelineError: when ``frame.t`` is not later than the previous frame's.
        """
        t = frame.t
        if self._last_t is not None and t <= self._last_t:
            what = "repeats" if t == self._last_t else "is earlier than"
            raise TimelineError(
                f"frame at t={t:.3f} s {what} the previous frame at t={self._last_t:.3f} s; "
                "timestamps must strictly increase (check the video's clock or the source's frame order)"
            )
        self._last_t = t
        staff = [p for p in frame.people if p.role == "staff"]
        located = [p for p in frame.people if p.position_m is not None]
        for person in frame.people:
            if person.role == "customer":
                self._observe_customer(t, person, staff, located)
        return self._sweep(t)

    def finish(self) -> list[Interaction]:
        """Close every open episode at the end of the stream; unfinished visits keep ``left_at`` None."""
        done = [self._close(ep, left_at=None, abandoned=False) for ep in self._open.values() if ep.arrived]
        self._open.clear()
        return done

    # --- per frame ---------------------------------------------------------------------------------------

    def _observe_customer(self, t: float, c: TrackedPerson, staff: list[TrackedPerson],
                          located: list[TrackedPerson]) -> None:
        s = self._s
        in_zone = c.zone in WAIT_ZONES
        ep = self._open.get(c.track_id)
        if ep is None:
            if not in_zone:
                return
            ep = self._relink(t, c) or _Episode(c.track_id, entered_at=t, last_seen_at=t, last_in_zone_at=t)
            self._open[c.track_id] = ep
        if not ep.arrived and not in_zone and t - ep.last_in_zone_at > s.evidence_gap_s:
            del self._open[c.track_id]  # passed through without staying: not an arrival
            return
        ep.last_seen_at = t
        if c.position_m is not None:
            ep.last_position = c.position_m
        if in_zone:
            ep.last_in_zone_at = t
        if not ep.arrived and in_zone and t - ep.entered_at >= s.arrival_debounce_s:
            ep.arrived = True
        if c.zone == "service":
            if ep.service_since is None or (ep.last_in_service_at is not None
                                            and t - ep.last_in_service_at > s.evidence_gap_s
                                            and ep.service_started_at is None):
                ep.service_since = t
            ep.last_in_service_at = t
        if ep.greeted_at is None:
            self._update_engagement(t, ep, c, staff, located)
        if (ep.arrived and ep.service_started_at is None and ep.greeted_at is not None
                and c.zone == "service" and ep.service_since is not None):
            ep.service_started_at = max(ep.greeted_at, ep.service_since)
        ep.views.append(self._view(t, c, staff))

    def _update_engagement(self, t: float, ep: _Episode, c: TrackedPerson, staff: list[TrackedPerson],
                           located: list[TrackedPerson]) -> None:
        s = self._s
        if c.position_m is None:
            return
        for st in staff:
            if st.position_m is None or st.heading_rad is None:
                continue  # no evidence either way this frame
            engaged = (distance(st.position_m, c.position_m) <= s.engage_distance_m
                       and faces(st.position_m, st.heading_rad, c.position_m, self._tolerance(s.engage_angle_deg, st))
                       and self._nearest_in_cone(st, located) == c.track_id)
            w = ep.windows.get(st.track_id)
            if not engaged:
                ep.windows.pop(st.track_id, None)
                continue
            if w is None or t - w.last_support > s.evidence_gap_s:
                w = ep.windows[st.track_id] = _Window(start=t, last_support=t)
            w.last_support = t
            if w.last_support - w.start >= s.engage_hold_s:
                ep.greeted_at = max(w.start, ep.entered_at)
                ep.server_id = st.track_id
                ep.windows.clear()
                return

    def _nearest_in_cone(self, st: TrackedPerson, located: list[TrackedPerson]) -> int | None:
        assert st.position_m is not None and st.heading_rad is not None
        best, best_d = None, math.inf
        for p in located:
            if p.track_id == st.track_id:
                continue
            assert p.position_m is not None
            if angle_off(st.heading_rad, st.position_m, p.position_m) <= math.radians(
                    self._tolerance(self._s.engage_angle_deg, st)):
                d = distance(st.position_m, p.position_m)
                if d < best_d:
                    best, best_d = p.track_id, d
        return best

    def _view(self, t: float, c: TrackedPerson, staff: list[TrackedPerson]) -> _View:
        if c.position_m is None:
            return _View(t, ())
        tol = self._s.mutual_facing_angle_deg
        out = []
        for st in staff:
            if st.position_m is None:
                continue
            mutual: bool | None = None
            if st.head_heading_rad is not None and c.head_heading_rad is not None:
                # Judged where the two could stand given the camera's range uncertainty: a few decimetres along
                # the line of sight turn the line between them by more than the tolerance (DESIGN §4 note).
                tol_s, tol_c = self._tolerance(tol, st), self._tolerance(tol, c)
                mutual = any(faces(ps, st.head_heading_rad, pc, tol_s) and faces(pc, c.head_heading_rad, ps, tol_c)
                             for ps in st.plausible_positions() for pc in c.plausible_positions())
            out.append((st.track_id, mutual, distance(st.position_m, c.position_m)))
        return _View(t, tuple(out))

    def _tolerance(self, angle_deg: float, person: TrackedPerson) -> float:
        """A facing tolerance widened by how unsure this person's heading is (a three-quarter view is not a
        profile), within the allowance."""
        return angle_deg + min(math.degrees(person.heading_sd_rad), self._s.yaw_uncertainty_allowance_deg)

    def _relink(self, t: float, c: TrackedPerson) -> _Episode | None:
        """An open episode whose track vanished nearby, within the exit grace, continues under the new track."""
        if c.position_m is None:
            return None
        for tid, ep in list(self._open.items()):
            if (tid != c.track_id and ep.last_seen_at < t and t - ep.last_seen_at <= self._s.service_exit_grace_s
                    and ep.last_position is not None
                    and distance(ep.last_position, c.position_m) <= self._s.relink_distance_m):
                del self._open[tid]
                ep.track_id = c.track_id
                return ep
        return None

    # --- endings -----------------------------------------------------------------------------------------

    def _sweep(self, t: float) -> list[Interaction]:
        grace = self._s.service_exit_grace_s
        done: list[Interaction] = []
        for tid, ep in list(self._open.items()):
            if ep.service_started_at is not None:
                assert ep.last_in_service_at is not None
                if t - ep.last_in_service_at > grace:
                    done.append(self._close(ep, left_at=ep.last_in_service_at, abandoned=False))
                    del self._open[tid]
            elif t - ep.last_in_zone_at > grace:
                if ep.arrived:
                    done.append(self._close(ep, left_at=ep.last_in_zone_at, abandoned=True))
                del self._open[tid]
        return done

    def _close(self, ep: _Episode, left_at: float | None, abandoned: bool) -> Interaction:
        ratio, d_med, d_min = None, None, None
        if ep.service_started_at is not None:
            samples = [v.sample(ep.server_id) for v in ep.views]
            ratio = eye_contact_ratio(samples, ep.service_started_at, left_at)
            d_med, d_min = distance_stats(samples, ep.service_started_at, left_at)
        greeted_at = ep.greeted_at if ep.greeted_at is None or left_at is None or ep.greeted_at <= left_at else None
        return Interaction(
            arrived_at=ep.entered_at,
            greeted_at=greeted_at,
            service_started_at=ep.service_started_at,
            left_at=left_at,
            greeting_s=elapsed(ep.entered_at, greeted_at),
            wait_s=elapsed(ep.entered_at, ep.service_started_at),
            service_s=elapsed(ep.service_started_at, left_at),
            eye_contact_ratio=ratio,
            distance_m_median=d_med,
            distance_m_min=d_min,
            greeted=greeted_at is not None,
            abandoned=abandoned,
        )
