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
from kiosk.vocabulary import WAIT_ZONES


@dataclass(frozen=True)
class Engagement:
    """What the episode logic decided about one staff member and one customer in one frame, both located.

    Attributes:
        staff_id, customer_id: their track ids (frame-local numbers, never stored).
        distance_m: floor distance between them, metres.
        engaged: the staff member engages the customer this frame (DESIGN §4: within ``engage_distance_m``, facing
            within ``engage_angle_deg`` widened by the heading's uncertainty, and the customer is the nearest
            person in that cone, rubric G6); None when the staff member's heading is unknown (no evidence).
        mutual: both heads face each other where the pair could stand given the range uncertainty, within
            ``mutual_facing_angle_deg`` widened the same way; None when either head is not seen.
    """

    staff_id: int
    customer_id: int
    distance_m: float
    engaged: bool | None
    mutual: bool | None


class TimelineError(ValueError):
    """Frames arrived out of order or twice; the message names both timestamps."""


@dataclass
class _Window:
    start: float
    last_support: float


@dataclass(frozen=True)
class _View:
    """One frame of a customer as seen from each located staff member."""

    t: float
    by_staff: tuple[Engagement, ...]

    def sample(self, server_id: int | None) -> Sample:
        """The frame's sample about the serving staff member, or the nearest one when they are not in view."""
        if not self.by_staff:
            return Sample(self.t, None, None)
        chosen = next((v for v in self.by_staff if v.staff_id == server_id), None)
        if chosen is None:
            chosen = min(self.by_staff, key=lambda v: v.distance_m)
        return Sample(self.t, chosen.mutual, chosen.distance_m)


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

    After each ``update``, ``engagements`` holds that frame's :class:`Engagement` of every located staff-customer
    pair: what the episodes used, published so the debug overlay draws the same decisions instead of its own.

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
        self.engagements: tuple[Engagement, ...] = ()  # the last frame's, for the debug overlay to draw

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
        staff = [p for p in frame.people if p.role == "staff" and p.position_m is not None]
        located = [p for p in frame.people if p.position_m is not None]
        self.engagements = tuple(self._engagement(st, c, located) for c in located if c.role == "customer"
                                 for st in staff)
        for person in frame.people:
            if person.role == "customer":
                self._observe_customer(t, person, tuple(e for e in self.engagements if e.customer_id == person.track_id))
        return self._sweep(t)

    def finish(self) -> list[Interaction]:
        """Close every open episode at the end of the stream; unfinished visits keep ``left_at`` None."""
        done = [self._close(ep, left_at=None, abandoned=False) for ep in self._open.values() if ep.arrived]
        self._open.clear()
        return done

    # --- per frame ---------------------------------------------------------------------------------------

    def _observe_customer(self, t: float, c: TrackedPerson, pairs: tuple[Engagement, ...]) -> None:
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
            self._update_engagement(t, ep, pairs)
        if (ep.arrived and ep.service_started_at is None and ep.greeted_at is not None
                and c.zone == "service" and ep.service_since is not None):
            ep.service_started_at = max(ep.greeted_at, ep.service_since)
        ep.views.append(_View(t, pairs))

    def _update_engagement(self, t: float, ep: _Episode, pairs: tuple[Engagement, ...]) -> None:
        s = self._s
        for pair in pairs:
            if pair.engaged is None:
                continue  # no evidence either way this frame
            w = ep.windows.get(pair.staff_id)
            if not pair.engaged:
                ep.windows.pop(pair.staff_id, None)
                continue
            if w is None or t - w.last_support > s.evidence_gap_s:
                w = ep.windows[pair.staff_id] = _Window(start=t, last_support=t)
            w.last_support = t
            if w.last_support - w.start >= s.engage_hold_s:
                ep.greeted_at = max(w.start, ep.entered_at)
                ep.server_id = pair.staff_id
                ep.windows.clear()
                return

    def _engagement(self, st: TrackedPerson, c: TrackedPerson, located: list[TrackedPerson]) -> Engagement:
        """The one place that decides who engages whom and who faces whom (episodes and overlay alike)."""
        s = self._s
        assert st.position_m is not None and c.position_m is not None
        d = distance(st.position_m, c.position_m)
        engaged: bool | None = None
        if st.heading_rad is not None:
            engaged = (d <= s.engage_distance_m
                       and faces(st.position_m, st.heading_rad, c.position_m, self._tolerance(s.engage_angle_deg, st))
                       and self._nearest_in_cone(st, located) == c.track_id)
        mutual: bool | None = None
        if st.head_heading_rad is not None and c.head_heading_rad is not None:
            # Judged where the two could stand given the camera's range uncertainty: a few decimetres along
            # the line of sight turn the line between them by more than the tolerance (DESIGN §4 note).
            tol_s = self._tolerance(s.mutual_facing_angle_deg, st)
            tol_c = self._tolerance(s.mutual_facing_angle_deg, c)
            mutual = any(faces(ps, st.head_heading_rad, pc, tol_s) and faces(pc, c.head_heading_rad, ps, tol_c)
                         for ps in st.plausible_positions() for pc in c.plausible_positions())
        return Engagement(st.track_id, c.track_id, d, engaged, mutual)

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
