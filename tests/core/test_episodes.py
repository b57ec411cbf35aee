"""The episode state machine and the four measures, specified on plain tracked frames (DESIGN §4)."""

from __future__ import annotations

import math

import pytest

from kiosk.settings.tree import ServiceSettings
from kiosk.core.episodes import EpisodeTracker, TimelineError
from kiosk.core.scene import SceneFrame, TrackedPerson
from tests.scenebuilder import (
    AWAY, QUEUE_AT, SERVICE_AT, TOWARD_CUSTOMERS, customer, frames, staff,
)

SETTINGS = ServiceSettings()


def run(frame_list, settings=SETTINGS):
    tracker = EpisodeTracker(settings)
    out = []
    for f in frame_list:
        out += tracker.update(f)
    return out + tracker.finish()


def served_scene(t: float):
    """Customer arrives at 2 s at the service spot; staff turns to them at 5 s; customer leaves at 20 s."""
    people = [staff(1, heading=TOWARD_CUSTOMERS if t >= 5 else AWAY)]
    if 2 <= t < 20:
        people.append(customer(10, "service", SERVICE_AT))
    return people


def test_served_customer_gets_all_four_measures():
    [x] = run(frames(30, served_scene))
    assert x.arrived_at == pytest.approx(2.0)
    assert x.greeting_s == pytest.approx(3.0)
    assert x.wait_s == pytest.approx(3.0)
    assert x.left_at == pytest.approx(19.9)
    assert x.eye_contact_ratio == pytest.approx(1.0)
    assert x.distance_m_median == pytest.approx(1.2)
    assert x.greeted and not x.abandoned


def test_greeting_moment_is_the_start_of_the_facing_window():
    [x] = run(frames(30, served_scene))
    assert x.greeted_at == pytest.approx(5.0)


def test_facing_shorter_than_the_hold_time_is_no_greeting():
    def scene(t):
        glance = 5 <= t < 5.5
        people = [staff(1, heading=TOWARD_CUSTOMERS if glance else AWAY)]
        if 2 <= t < 20:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    [x] = run(frames(30, scene))
    assert not x.greeted and x.abandoned


def test_staff_beyond_engage_distance_does_not_greet():
    def scene(t):
        people = [staff(1, at=(0.0, -1.0))]  # 2.6 m from the service spot
        if 2 <= t < 20:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    [x] = run(frames(30, scene))
    assert x.greeted is False


def test_customer_who_leaves_unserved_is_abandoned_and_not_greeted():
    def scene(t):
        people = [staff(1, heading=AWAY)]
        if 2 <= t < 12:
            people.append(customer(10, "queue", QUEUE_AT))
        return people

    [x] = run(frames(20, scene))
    assert x.abandoned and not x.greeted
    assert x.greeting_s is None and x.wait_s is None and x.eye_contact_ratio is None
    assert x.left_at == pytest.approx(11.9)


def test_greeted_in_queue_but_never_served_is_abandoned_with_a_greeting():
    def scene(t):
        people = [staff(1, at=(0.0, 1.0), heading=TOWARD_CUSTOMERS if 4 <= t < 7 else AWAY)]
        if 2 <= t < 15:
            people.append(customer(10, "queue", QUEUE_AT))
        return people

    [x] = run(frames(25, scene))
    assert x.greeted and x.abandoned
    assert x.greeting_s == pytest.approx(2.0)
    assert x.service_started_at is None and x.wait_s is None


def test_greeted_in_queue_service_starts_on_reaching_the_service_spot():
    def scene(t):
        people = [staff(1, at=(0.0, 1.0))]
        if 2 <= t < 6:
            people.append(customer(10, "queue", QUEUE_AT))
        elif 6 <= t < 20:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    [x] = run(frames(30, scene))
    assert x.greeted_at == pytest.approx(2.0)
    assert x.service_started_at == pytest.approx(6.0)
    assert x.wait_s == pytest.approx(4.0)


def test_passer_by_shorter_than_the_arrival_debounce_is_not_an_interaction():
    def scene(t):
        people = [staff(1)]
        if 2 <= t < 2.6:
            people.append(customer(10, "queue", QUEUE_AT))
        return people

    assert run(frames(10, scene)) == []


def test_several_customers_in_the_queue_each_get_their_own_wait():
    def scene(t):
        people = [staff(1, heading=AWAY)]
        # c10 served first from 4 s to 12 s; c11 queues from 3 s, steps up at 12 s, served till 20 s
        if 2 <= t < 12:
            people.append(customer(10, "service", SERVICE_AT))
        if 3 <= t < 12:
            people.append(customer(11, "queue", QUEUE_AT))
        if 12 <= t < 20:
            people.append(customer(11, "service", SERVICE_AT))
        if 4 <= t < 12 or 13 <= t < 20:
            people[0] = staff(1)
        return people

    xs = sorted(run(frames(30, scene)), key=lambda x: x.arrived_at)
    assert [round(x.wait_s, 1) for x in xs] == [2.0, 10.0]
    assert not any(x.abandoned for x in xs)


def test_track_lost_briefly_keeps_one_interaction():
    def scene(t):
        people = [staff(1)]
        if 2 <= t < 20 and not 9 <= t < 10.5:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    xs = run(frames(30, scene))
    assert len(xs) == 1 and xs[0].left_at == pytest.approx(19.9)


def test_track_lost_and_found_under_a_new_id_nearby_continues_the_visit():
    def scene(t):
        people = [staff(1)]
        if 2 <= t < 9:
            people.append(customer(10, "service", SERVICE_AT))
        elif 10 <= t < 20:
            people.append(customer(11, "service", (SERVICE_AT[0] + 0.1, SERVICE_AT[1])))
        return people

    xs = run(frames(30, scene))
    assert len(xs) == 1
    assert xs[0].arrived_at == pytest.approx(2.0) and xs[0].left_at == pytest.approx(19.9)


def test_leaving_for_longer_than_the_grace_ends_the_interaction():
    def scene(t):
        people = [staff(1)]
        if 2 <= t < 8 or 12 <= t < 20:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    xs = run(frames(30, scene))
    assert len(xs) == 2
    assert xs[0].left_at == pytest.approx(7.9)


def test_either_of_two_staff_members_can_greet():
    def scene(t):
        people = [staff(1, at=(-3.0, 0.4), heading=AWAY), staff(2, at=(0.5, 0.4),
                  heading=math.atan2(1.2, -0.5) if t >= 4 else AWAY)]
        if 2 <= t < 15:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    [x] = run(frames(20, scene))
    assert x.greeted_at == pytest.approx(4.0)


def test_staff_chatting_with_each_other_is_not_an_engagement():
    # Staff 1 faces staff 2, who stands between it and the waiting customer on the same line.
    def scene(t):
        people = [staff(1, at=(0.0, -0.4)), staff(2, at=(0.0, 0.4), heading=-math.pi / 2)]
        if 2 <= t < 15:
            people.append(customer(10, "service", SERVICE_AT, heading=AWAY))
        return people

    [x] = run(frames(20, scene))
    assert not x.greeted


def test_eye_contact_counts_only_frames_where_both_heads_are_seen():
    def scene(t):
        people = [staff(1)]
        if 2 <= t < 20:
            # the customer's face is unread every other second, and looks away half of the rest
            head_seen = int(t) % 2 == 0
            looks = AWAY if int(t * 2) % 2 == 0 else -math.pi / 2
            people.append(customer(10, "service", SERVICE_AT, heading=looks, head=head_seen))
        return people

    [x] = run(frames(30, scene))
    assert x.eye_contact_ratio == pytest.approx(0.5, abs=0.05)


def test_frames_without_positions_are_skipped_not_fatal():
    def scene(t):
        people = [staff(1)]
        if 2 <= t < 20:
            pos = None if 6 <= t < 8 else SERVICE_AT
            people.append(TrackedPerson(10, "customer", "service", pos, -math.pi / 2, None))
        return people

    [x] = run(frames(30, scene))
    assert x.greeted and x.distance_m_median == pytest.approx(1.2)


def test_distance_median_and_minimum_cover_the_service_phase():
    def scene(t):
        people = [staff(1)]
        if 2 <= t < 20:
            y = 1.0 if 10 <= t < 11 else 1.6
            people.append(customer(10, "service", (0.0, y)))
        return people

    [x] = run(frames(30, scene))
    assert x.distance_m_median == pytest.approx(1.2)
    assert x.distance_m_min == pytest.approx(0.6)


def test_video_ending_mid_service_leaves_the_interaction_open():
    def scene(t):
        people = [staff(1)]
        if t >= 2:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    [x] = run(frames(10, scene))
    assert x.left_at is None and x.service_s is None and not x.abandoned


@pytest.mark.parametrize("case, times, message", [
    ("duplicate timestamp", [1.0, 1.0], "repeats"),
    ("out of order", [1.0, 0.5], "is earlier than"),
])
def test_timestamps_must_strictly_increase(case, times, message):
    tracker = EpisodeTracker(SETTINGS)
    tracker.update(SceneFrame(t=times[0]))
    with pytest.raises(TimelineError, match=message):
        tracker.update(SceneFrame(t=times[1]))


@pytest.mark.parametrize("case, kwargs, message", [
    ("unknown role", dict(track_id=1, role="manager", zone=None, position_m=None), "role"),
    ("unknown zone", dict(track_id=1, role="staff", zone="backroom", position_m=None), "zone"),
    ("nan position", dict(track_id=1, role="staff", zone=None, position_m=(float("nan"), 0.0)), "position_m"),
])
def test_tracked_person_rejects_bad_values(case, kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrackedPerson(**kwargs)


def test_frame_listing_a_track_twice_is_rejected():
    with pytest.raises(ValueError, match="twice"):
        SceneFrame(t=0.0, people=(staff(1), staff(1)))


def test_thresholds_come_from_settings():
    strict = ServiceSettings(engage_hold_s=3.0)
    [x] = run(frames(30, served_scene), strict)
    assert x.greeted_at == pytest.approx(5.0)  # still the window's start
    [y] = run(frames(30, served_scene), ServiceSettings(engage_distance_m=1.0))
    assert not y.greeted


def test_eye_contact_and_distance_follow_the_staff_member_who_served():
    # Staff 2 greets and serves from 1.2 m; staff 1 stands nearer the customer but faces a shelf all along.
    def scene(t):
        people = [staff(1, at=(0.9, 1.2), heading=AWAY),
                  staff(2, at=(0.0, 0.4), heading=TOWARD_CUSTOMERS if t >= 4 else AWAY)]
        if 2 <= t < 15:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    [x] = run(frames(20, scene))
    assert x.eye_contact_ratio == pytest.approx(1.0)
    assert x.distance_m_median == pytest.approx(1.2)


def _uncertain_staff(tid: int, at, heading, sd: float) -> TrackedPerson:
    # The camera looks along +x, so a staff member's range error runs along x.
    return TrackedPerson(tid, "staff", "staff", at, heading, heading, range_sd_m=sd, range_axis_rad=0.0)


def test_mutual_facing_allows_for_the_range_the_camera_cannot_pin_down():
    # Staff truly at x=0 facing the customer; placed 0.5 m off along the camera's line of sight, +-0.5 m sure.
    def scene(t):
        people = [_uncertain_staff(1, (0.5, 0.4), TOWARD_CUSTOMERS, sd=0.5)]
        if 2 <= t < 15:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    [x] = run(frames(20, scene))
    assert x.eye_contact_ratio == pytest.approx(1.0)


def test_range_uncertainty_does_not_make_heads_turned_away_face_each_other():
    def scene(t):
        people = [_uncertain_staff(1, (0.5, 0.4), TOWARD_CUSTOMERS if t < 4 else AWAY, sd=0.5)]
        if 2 <= t < 15:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    [x] = run(frames(20, scene))
    assert x.eye_contact_ratio == pytest.approx(20 / 130, abs=0.01)  # only the 2 s before the staff turned away


def test_a_certain_position_off_the_line_is_not_mutual_facing():
    def scene(t):
        people = [_uncertain_staff(1, (0.5, 0.4), TOWARD_CUSTOMERS, sd=0.0)]
        if 2 <= t < 15:
            people.append(customer(10, "service", SERVICE_AT))
        return people

    [x] = run(frames(20, scene))
    assert x.eye_contact_ratio == pytest.approx(0.0)


# ---- the published per-frame view (what the debug overlay draws) ----------------------------------------------

def engagements_at(people: list[TrackedPerson]):
    tracker = EpisodeTracker(SETTINGS)
    tracker.update(SceneFrame(t=0.0, people=tuple(people)))
    return {(e.staff_id, e.customer_id): e for e in tracker.engagements}


def test_published_engagement_is_the_nearest_in_the_cone_only():
    pairs = engagements_at([staff(1), customer(10, "service", SERVICE_AT), customer(11, "queue", QUEUE_AT)])
    assert pairs[(1, 10)].engaged is True and pairs[(1, 11)].engaged is False
    assert pairs[(1, 11)].distance_m == pytest.approx(2.4)


def test_published_engagement_is_unknown_without_a_staff_heading():
    pairs = engagements_at([staff(1, heading=None), customer(10, "service", SERVICE_AT)])
    assert pairs[(1, 10)].engaged is None and pairs[(1, 10)].mutual is None


def test_published_mutual_facing_allows_for_the_range_uncertainty():
    # The customer's head is 25 degrees off the line to staff at the point estimate (tolerance 20); 0.3 m along
    # the camera's line of sight (here the x axis) both heads face each other within it.
    off = math.radians(25)
    c = TrackedPerson(10, "customer", "service", SERVICE_AT, -math.pi / 2 + off, -math.pi / 2 + off)
    sure = engagements_at([staff(1), c])[(1, 10)].mutual
    unsure = TrackedPerson(10, "customer", "service", SERVICE_AT, c.head_heading_rad, c.body_heading_rad,
                           range_sd_m=0.3, range_axis_rad=0.0)
    assert sure is False and engagements_at([staff(1), unsure])[(1, 10)].mutual is True
