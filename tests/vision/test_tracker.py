"""The pose tracker: people detected rarely, followed by their own landmarks, each landmarked once a frame."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

import kiosk.vision.tracker as tracker_module
from kiosk.vision.graphs import Detection, PoseDetector, PoseLandmarker, Roi
from kiosk.vision.pose import PoseEstimator, PoseOptions
from kiosk.vision.tracker import PoseTracker, TrackerOptions, plausible_step, same_roi, upright
from tests.vision.test_pose import _opencv_media

FPS = 15.0
TWO_ZONES = [(0, 0, 320, 480), (320, 0, 800, 480)]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    from skimage import data

    media = tmp_path_factory.mktemp("media")
    images = {name: cv2.imread(str(_opencv_media(name, media))) for name in ("basketball1.png", "basketball2.png")}
    images["astronaut"] = np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    # The basketball player beside the astronaut: the detector on the whole frame sees only the astronaut.
    astronaut = cv2.resize(images["astronaut"], (480, 480), interpolation=cv2.INTER_AREA)
    images["two"] = np.ascontiguousarray(np.hstack([images["basketball1.png"][:, :320], astronaut]))
    return images


class Counted:
    """Counts the detector's and the landmark model's runs of the trackers built while it is active."""

    def __init__(self, patch: pytest.MonkeyPatch) -> None:
        self.detections = self.landmarks = self.landmarkers = 0
        detect, landmarks, init = PoseDetector.detect, PoseLandmarker.landmarks, PoseLandmarker.__init__

        def counted_detect(this: PoseDetector, rgb: np.ndarray) -> list:
            self.detections += 1
            return detect(this, rgb)

        def counted_landmarks(this: PoseLandmarker, rgb: np.ndarray, roi: Roi, region: object = None,
                              blank_from_row: int | None = None) -> object:
            self.landmarks += 1
            return landmarks(this, rgb, roi, region, blank_from_row)

        def counted_init(this: PoseLandmarker, *args: object) -> None:
            self.landmarkers += 1
            init(this, *args)

        patch.setattr(PoseDetector, "detect", counted_detect)
        patch.setattr(PoseLandmarker, "landmarks", counted_landmarks)
        patch.setattr(PoseLandmarker, "__init__", counted_init)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counted:
    return Counted(monkeypatch)


def _run(tracker: PoseTracker, image: np.ndarray, frames: int, crops: list | None = None, t0: float = 0.0) -> list:
    return [tracker.update(t0 + i / FPS, image, crops) for i in range(frames)]


@pytest.fixture
def tracker() -> Iterator[PoseTracker]:
    with PoseTracker() as t:
        yield t


# --- finding and following -------------------------------------------------------------------------------------


def test_everyone_in_view_is_found_on_the_first_frame(tracker: PoseTracker, photos: dict) -> None:
    (first,) = _run(tracker, photos["basketball2.png"], 1)
    assert len(first) == 2


def test_people_followed_need_the_detector_once_a_second_each(photos: dict, counted: Counted) -> None:
    with PoseTracker(TrackerOptions(redetect_s=1.0)) as tracker:
        found = _run(tracker, photos["basketball2.png"], 30)  # 2 s at 15 fps
    assert all(len(people) == 2 for people in found)
    # Sweeps of the only region (the whole frame) at t = 0 and 1 s, and one check of each person's ROI after 1 s.
    assert counted.detections == 2 + 2
    assert counted.landmarks == 2 * 30  # and each person is landmarked once a frame


def test_a_person_found_in_two_regions_is_landmarked_once(photos: dict, counted: Counted) -> None:
    with PoseTracker() as tracker:
        # The whole frame and two halves that overlap in the middle: three detector regions, swept one a frame.
        found = _run(tracker, photos["basketball2.png"], 4, crops=[(0, 0, 340, 480), (300, 0, 640, 480)])
    assert [len(people) for people in found] == [2, 2, 2, 2]
    assert counted.detections == 3
    assert counted.landmarks == 2 + 3 * 2  # the first frame starts both tracks; then one pass each a frame


def test_zone_crops_find_a_person_the_full_frame_misses(tracker: PoseTracker, photos: dict) -> None:
    found = _run(tracker, photos["two"], 3, crops=TWO_ZONES)  # one sweep: the frame, then each zone
    assert len(found[0]) == 1
    people = sorted(found[-1], key=lambda o: o.bbox[0])
    assert len(people) == 2
    assert people[0].bbox[2] <= 0.4 <= people[1].bbox[0]


class Presence:
    """Overrides the landmark model's presence score: ``scores`` are used one per landmark pass, in order, then
    ``then``; None keeps the model's own."""

    def __init__(self, patch: pytest.MonkeyPatch, scores: list[float | None], then: float | None = None) -> None:
        from dataclasses import replace

        self.scores, self.then = list(scores), then
        landmarks = PoseLandmarker.landmarks

        def forced(this: PoseLandmarker, rgb: np.ndarray, roi: Roi, region: object = None,
                   blank_from_row: int | None = None) -> object:
            found = landmarks(this, rgb, roi, region, blank_from_row)
            score = self.scores.pop(0) if self.scores else self.then
            return found if found is None or score is None else replace(found, presence=score)

        patch.setattr(PoseLandmarker, "landmarks", forced)


def test_a_person_the_model_barely_sees_is_not_started(photos: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    Presence(monkeypatch, [], then=0.4)  # under min_presence (0.5), over min_tracking_presence (0.3)
    with PoseTracker() as tracker:
        assert _run(tracker, photos["basketball1.png"], 3) == [[], [], []]


def test_a_followed_person_the_model_barely_sees_stays_followed(photos: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    Presence(monkeypatch, [None, None], then=0.4)  # found well, then barely, in every ROI the tracker tries
    with PoseTracker() as tracker:
        found = _run(tracker, photos["basketball1.png"], 6)
    assert [len(people) for people in found] == [1] * 6


def test_a_person_lost_in_their_own_roi_is_found_again_in_the_detectors_the_same_frame(
    photos: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Frame 0 starts the track (one pass); frame 1 loses them in their landmarks' ROI (presence 0), and the
    # detector's ROI around them, landmarked the same frame, finds them again.
    Presence(monkeypatch, [None, 0.0])
    with PoseTracker(TrackerOptions(redetect_s=10.0)) as tracker:
        found = _run(tracker, photos["basketball1.png"], 4)
        pinned = [track.pinned for track in tracker._tracks]
    assert [len(people) for people in found] == [1] * 4
    assert pinned == [True]  # from then on the ROI is the detector's, moved with their shoulders


def test_a_detection_the_model_refuses_gets_a_second_look_with_the_picture_below_the_hips_blank(
    photos: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    seen: list[tuple[np.ndarray, Roi]] = []  # what the model was shown, and the ROI it was asked about
    landmarks, process = PoseLandmarker.landmarks, PoseLandmarker.process

    def shown(this: PoseLandmarker, inputs: dict) -> object:
        seen[-1] = (inputs["image"], seen[-1][1])
        return process(this, inputs)

    def refuse_the_whole_picture(this: PoseLandmarker, rgb: np.ndarray, roi: Roi, region: object = None,
                                 blank_from_row: int | None = None) -> object:
        seen.append((rgb, roi))
        found = landmarks(this, rgb, roi, region, blank_from_row)
        blanked = bool((seen[-1][0][round(roi.cy * rgb.shape[0]):] == 0).all())
        return found if found is None or blanked else replace(found, presence=0.1)

    monkeypatch.setattr(PoseLandmarker, "landmarks", refuse_the_whole_picture)
    monkeypatch.setattr(PoseLandmarker, "process", shown)
    with PoseTracker() as tracker:
        [people] = _run(tracker, photos["basketball1.png"], 1)
        [track] = tracker._tracks
    assert len(people) == 1 and track.below_hips and track.pinned
    first, second = seen[0][0], seen[1][0]
    assert first.any(axis=2)[-1].any() and not second[round(seen[1][1].cy * second.shape[0]):].any()
    # What the blank hides (and the hips on its edge) is the model's guess: unseen.
    assert (people[0].keypoints[[23, 24, 25, 26, 27, 28], 2] == 0).all()
    assert (people[0].keypoints[[0, 11, 12], 2] > 0.5).all()


def test_a_person_who_leaves_is_dropped_and_searched_for_at_once(photos: dict, counted: Counted) -> None:
    empty = np.full_like(photos["basketball1.png"], 128)
    with PoseTracker(TrackerOptions(redetect_s=10.0)) as tracker:
        assert len(_run(tracker, photos["basketball1.png"], 3)[-1]) == 1
        searched = counted.detections
        assert _run(tracker, empty, 1, t0=1.0) == [[]]
        _run(tracker, empty, 1, t0=2.0)
    # The frame that loses them looks around where they were; the next sweeps the frame, long before redetect_s.
    assert counted.detections == searched + 2


def test_one_landmark_model_serves_every_person(photos: dict, counted: Counted) -> None:
    with PoseTracker(TrackerOptions(landmark_workers=1)) as tracker:
        assert len(_run(tracker, photos["basketball2.png"], 2)[-1]) == 2
    assert counted.landmarkers == 1


def test_parallel_workers_find_the_same_people(photos: dict) -> None:
    runs = []
    for workers in (1, 2):
        with PoseTracker(TrackerOptions(landmark_workers=workers)) as tracker:
            runs.append(sorted(_run(tracker, photos["basketball2.png"], 3)[-1], key=lambda o: o.bbox[0]))
    assert len(runs[0]) == len(runs[1]) == 2
    for a, b in zip(*runs):
        assert np.allclose(a.keypoints, b.keypoints, atol=1e-6)


# --- the Observation contract ----------------------------------------------------------------------------------


def test_with_the_usual_detector_threshold_landmarks_are_those_of_the_single_person_graph(photos: dict) -> None:
    # The legacy graph's threshold: its weighted NMS then averages the same detections into the same ROI.
    with PoseTracker(TrackerOptions(min_detection_confidence=0.5)) as tracker:
        (mine,) = tracker.update(0.0, photos["astronaut"])
    with PoseEstimator(PoseOptions(backend="legacy", video=False)) as legacy:
        (theirs,) = legacy.update(0.0, photos["astronaut"])
    assert np.abs(mine.keypoints - theirs.keypoints).max() < 1e-4


def test_observations_carry_time_bbox_score_head_and_torso(tracker: PoseTracker, photos: dict) -> None:
    (person,) = _run(tracker, photos["basketball1.png"], 2)[-1]
    assert person.t == pytest.approx(1 / FPS)
    assert person.keypoints.shape == (33, 3)
    x0, y0, x1, y1 = person.bbox
    assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
    assert 0.5 < person.score <= 1.0
    assert person.head is not None and person.torso_yaw_deg is not None


def test_two_frames_with_one_time_stamp_are_both_followed(tracker: PoseTracker, photos: dict) -> None:
    # A camera's clock can repeat a stamp; MediaPipe refuses a packet that is not later than the last.
    first = tracker.update(1.0, photos["astronaut"])
    again = tracker.update(1.0, photos["astronaut"])
    assert len(first) == len(again) == 1
    assert np.abs(first[0].keypoints[:, :2] - again[0].keypoints[:, :2]).max() < 0.01


def test_a_closed_model_refuses_to_run_with_a_message(photos: dict) -> None:
    landmarker = PoseLandmarker()
    landmarker.close()
    with pytest.raises(ValueError, match="closed"):
        landmarker.landmarks(photos["astronaut"], Roi(0.5, 0.5, 0.8, 0.8))


def test_time_going_backwards_is_refused(tracker: PoseTracker) -> None:
    frame = np.zeros((240, 320, 3), np.uint8)
    tracker.update(1.0, frame)
    with pytest.raises(ValueError, match="backwards"):
        tracker.update(0.5, frame)


def test_frame_of_wrong_type_is_refused(tracker: PoseTracker) -> None:
    with pytest.raises(ValueError, match="uint8"):
        tracker.update(0.0, np.zeros((240, 320, 3), np.float32))


@pytest.mark.parametrize("field, value", [("redetect_s", -1.0), ("max_people", 0), ("landmark_workers", 9),
                                          ("inference_threads", 1.5), ("min_detection_confidence", 2.0)])
def test_options_out_of_range_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        TrackerOptions(**{field: value})  # type: ignore[arg-type]


# --- regions of interest ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cores, workers", [(1, 1), (2, 2), (4, 2), (8, 2)])
def test_two_people_are_landmarked_at_once_wherever_there_are_two_cores(cores: int, workers: int) -> None:
    assert tracker_module.default_landmark_workers(cores) == workers


@pytest.mark.parametrize("cores, workers, threads", [(1, 1, 1), (2, 1, 1), (2, 2, 1), (4, 1, 2), (4, 2, 1),
                                                     (6, 2, 2), (8, 2, 2)])
def test_models_run_on_two_threads_only_where_two_more_cores_remain(cores: int, workers: int, threads: int) -> None:
    assert tracker_module.default_inference_threads(cores, workers) == threads


def test_zero_workers_and_threads_mean_the_machines_defaults() -> None:
    with PoseTracker(TrackerOptions(landmark_workers=0, inference_threads=0)) as tracker:
        assert tracker.landmark_workers == tracker_module.default_landmark_workers()
        assert tracker.inference_threads == tracker_module.default_inference_threads(workers=tracker.landmark_workers)


def test_workers_and_threads_set_explicitly_are_kept() -> None:
    with PoseTracker(TrackerOptions(landmark_workers=1, inference_threads=3)) as tracker:
        assert (tracker.landmark_workers, tracker.inference_threads) == (1, 3)


def test_a_roi_found_in_a_crop_maps_to_the_same_pixels_of_the_frame() -> None:
    roi = Roi(0.5, 0.5, 0.5, 0.25, rotation=0.3).in_frame((100, 40, 300, 440), 640, 480)
    assert (roi.cx * 640, roi.cy * 480) == pytest.approx((200.0, 240.0))
    assert (roi.width * 640, roi.height * 480) == pytest.approx((100.0, 100.0))
    assert roi.rotation == 0.3


def test_one_person_seen_twice_has_coinciding_rois_and_two_neighbours_do_not() -> None:
    a = Roi(0.5, 0.5, 0.3, 0.4)  # 192 x 192 px in 640 x 480
    assert same_roi(a, Roi(0.52, 0.51, 0.32, 0.42), 640, 480)
    assert not same_roi(a, Roi(0.5 + 0.25, 0.5, 0.3, 0.4), 640, 480)  # a shoulder width and more apart
    assert not same_roi(a, Roi(0.5, 0.5, 0.1, 0.13), 640, 480)  # a small person far behind


@pytest.mark.parametrize("bad", [dict(width=0.0), dict(cx=float("nan")), dict(rotation=float("inf"))])
def test_a_degenerate_roi_is_refused(bad: dict) -> None:
    with pytest.raises(ValueError, match="Roi"):
        Roi(**{"cx": 0.5, "cy": 0.5, "width": 0.2, "height": 0.2, **bad})


def _fake_detections(tracker: PoseTracker, monkeypatch: pytest.MonkeyPatch, roi: Roi, shoulders: tuple) -> None:
    """The detector reports one person, at ``roi`` (normalised to the region searched) with ``shoulders``."""
    monkeypatch.setattr(tracker._detector, "detect", lambda rgb: [Detection(roi, 0.9, shoulders)])


def _shoulders_in(region: tuple[int, int, int, int], person: object, size: tuple[int, int]) -> tuple[float, float]:
    x0, y0, x1, y1 = region
    sx, sy = person.keypoints[[11, 12], :2].mean(axis=0) * size  # type: ignore[attr-defined]
    return (sx - x0) / (x1 - x0), (sy - y0) / (y1 - y0)


def test_a_whole_detection_that_disagrees_puts_a_crept_roi_back(photos: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    image = photos["basketball1.png"]
    with PoseTracker(TrackerOptions(redetect_s=0.0)) as tracker:
        (person,) = tracker.update(0.0, image)
        anchor = Roi(0.3, 0.55, 0.5, 0.7)  # inside the frame, smaller than the track's own ROI
        assert not same_roi(anchor, tracker._tracks[0].roi, 640, 480)
        _fake_detections(tracker, monkeypatch, anchor, _shoulders_in((0, 0, 640, 480), person, (640, 480)))
        tracker.update(1 / FPS, image)
        assert tracker._tracks[0].roi == anchor


def test_a_detection_cut_by_a_crop_edge_leaves_the_roi_alone(photos: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    image, crop = photos["basketball1.png"], (0, 100, 400, 300)  # cuts the player at the chest and the knees
    with PoseTracker(TrackerOptions(redetect_s=0.0, full_frame=False)) as tracker:
        (person,) = _run(tracker, image, 2, crops=[(0, 0, 640, 480)])[-1]
        before = tracker._tracks[0].roi
        _fake_detections(tracker, monkeypatch, Roi(0.4, 0.6, 0.5, 1.2), _shoulders_in(crop, person, (640, 480)))
        tracker.update(2 / FPS, image, [crop])
        assert same_roi(tracker._tracks[0].roi, before, 640, 480)  # its landmarks' ROI, not the cut one


def test_a_roi_may_move_and_turn_a_little_in_one_frame_but_not_jump_swell_or_tip() -> None:
    before = Roi(0.5, 0.5, 0.3, 0.4, rotation=0.0)  # 192 px a side
    assert plausible_step(before, Roi(0.53, 0.51, 0.32, 0.42, rotation=0.1), 640, 480)
    assert not plausible_step(before, Roi(0.65, 0.5, 0.3, 0.4), 640, 480)  # 96 px: half a body in 1/15 s
    assert not plausible_step(before, Roi(0.5, 0.5, 0.45, 0.6), 640, 480)  # half as large again
    assert not plausible_step(before, Roi(0.5, 0.5, 0.3, 0.4, rotation=0.8), 640, 480)  # tipped 45 degrees


def test_a_person_at_a_counter_stands_upright() -> None:
    assert upright(Roi(0.5, 0.5, 0.3, 0.4, rotation=-0.3))
    assert not upright(Roi(0.5, 0.5, 0.3, 0.4, rotation=0.8))
