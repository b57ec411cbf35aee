"""People on real media (opencv-doc photos and video, scikit-image's astronaut), both back ends, the bundle
built from the wheel, region crops and merging."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.core.observation import (
    LEFT_HIP,
    LEFT_SHOULDER,
    NOSE,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    Observation,
)
from kiosk.vision.models import ModelError, build_pose_bundle
from kiosk.vision.pose import PoseEstimator, PoseOptions, merge_duplicates
from kiosk.vision.source import VideoFileSource

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
PHOTOS = ["basketball1.png", "basketball2.png", "messi5.jpg", "astronaut"]
PEOPLE_IN = {"basketball1.png": 1, "basketball2.png": 2, "messi5.jpg": 1, "astronaut": 1}


def _opencv_media(name: str, tmp: Path) -> Path:
    """A file of opencv-doc's examples, decompressed into ``tmp`` when the package ships it gzipped."""
    plain, packed = OPENCV_DATA / name, OPENCV_DATA / f"{name}.gz"
    if plain.is_file():
        return plain
    if packed.is_file():
        with gzip.open(packed, "rb") as src, (tmp / name).open("wb") as dst:
            shutil.copyfileobj(src, dst)
        return tmp / name
    pytest.skip(f"{name} missing: install the Debian package opencv-doc (scripts/system-packages.txt)")


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def photos(media_dir: Path) -> dict[str, np.ndarray]:
    from skimage import data

    images = {"astronaut": np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))}
    for name in PHOTOS[:3]:
        image = cv2.imread(str(_opencv_media(name, media_dir)))
        assert image is not None, name
        images[name] = image
    return images


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_pose_bundle(tmp_path_factory.mktemp("models") / "pose.task", verify=False)


@pytest.fixture(scope="module")
def tasks(bundle: Path) -> Iterator[PoseEstimator]:
    with PoseEstimator(PoseOptions(backend="tasks", bundle_path=bundle, video=False)) as est:
        yield est


@pytest.fixture(scope="module")
def legacy() -> Iterator[PoseEstimator]:
    with PoseEstimator(PoseOptions(backend="legacy", video=False)) as est:
        yield est


@pytest.fixture(scope="module")
def found(tasks: PoseEstimator, photos: dict[str, np.ndarray]) -> dict[str, list[Observation]]:
    return {name: tasks.update(0.0, image) for name, image in photos.items()}


# --- the bundle ----------------------------------------------------------------------------------------------


def test_bundle_build_is_deterministic_and_leaves_an_up_to_date_file_alone(bundle: Path) -> None:
    before = (bundle.read_bytes(), bundle.stat().st_mtime_ns)
    again = build_pose_bundle(bundle, verify=False)
    assert again == bundle
    assert (bundle.read_bytes(), bundle.stat().st_mtime_ns) == before


def test_bundle_gives_the_landmarks_of_the_legacy_graph(
    tasks: PoseEstimator, legacy: PoseEstimator, photos: dict[str, np.ndarray]
) -> None:
    (a,) = tasks.update(0.0, photos["astronaut"])
    (b,) = legacy.update(0.0, photos["astronaut"])
    # Same networks, same normalisation: a wrong input range would move keypoints by far more than 1%.
    assert np.abs(a.keypoints[:25, :2] - b.keypoints[:25, :2]).max() < 0.01


def test_tasks_backend_without_a_bundle_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        PoseEstimator(PoseOptions(backend="tasks", bundle_path=tmp_path / "none.task"))


def test_auto_backend_without_a_bundle_falls_back_to_legacy(tmp_path: Path) -> None:
    with PoseEstimator(PoseOptions(backend="auto", bundle_path=tmp_path / "none.task", video=False)) as est:
        assert est.backend == "legacy"


def test_corrupt_bundle_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.task"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match="cannot load"):
        PoseEstimator(PoseOptions(backend="tasks", bundle_path=broken))


# --- people on photographs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PHOTOS)
def test_everyone_in_the_photo_is_found(found: dict[str, list[Observation]], name: str) -> None:
    assert len(found[name]) == PEOPLE_IN[name]


@pytest.mark.parametrize("name", PHOTOS)
def test_skeletons_stand_upright(found: dict[str, list[Observation]], name: str) -> None:
    for person in found[name]:
        y = person.keypoints[:, 1]
        shoulders = (y[LEFT_SHOULDER] + y[RIGHT_SHOULDER]) / 2
        assert y[NOSE] < shoulders < (y[LEFT_HIP] + y[RIGHT_HIP]) / 2


@pytest.mark.parametrize("name", PHOTOS)
def test_bbox_lies_in_the_image_and_holds_the_torso(found: dict[str, list[Observation]], name: str) -> None:
    for person in found[name]:
        x0, y0, x1, y1 = person.bbox
        assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
        for i in (NOSE, LEFT_SHOULDER, RIGHT_SHOULDER):
            x, y = person.keypoints[i, :2]
            assert x0 <= x <= x1 and y0 <= y <= y1


def test_observations_carry_time_score_and_facing(tasks: PoseEstimator, photos: dict[str, np.ndarray]) -> None:
    (person,) = tasks.update(12.5, photos["basketball1.png"])
    assert person.t == 12.5
    assert 0.5 < person.score <= 1.0
    assert person.head is not None and person.torso_yaw_deg is not None


def test_keypoints_from_a_crop_map_back_to_the_full_frame(tasks: PoseEstimator, photos: dict[str, np.ndarray]) -> None:
    image = photos["basketball1.png"]
    (whole,) = tasks.update(0.0, image)
    only_crop = PoseOptions(backend="tasks", bundle_path=tasks.options.bundle_path, video=False, full_frame=False)
    with PoseEstimator(only_crop) as crop_only:
        (cropped,) = crop_only.update(0.0, image, crops=[(0, 60, 260, 480)])
    gap_px = np.abs(whole.keypoints[:25, :2] - cropped.keypoints[:25, :2]) * [image.shape[1], image.shape[0]]
    assert np.median(gap_px) < 4.0


def test_person_in_full_frame_and_crop_is_reported_once(tasks: PoseEstimator, photos: dict[str, np.ndarray]) -> None:
    people = tasks.update(0.0, photos["basketball2.png"], crops=[(0, 0, 320, 480), (300, 0, 640, 480)])
    assert len(people) == 2


@pytest.fixture(scope="module")
def two_photos(photos: dict[str, np.ndarray]) -> np.ndarray:
    """800x480: the basketball player (left 320 px of basketball1) beside the astronaut scaled to 480x480.
    On the full frame the detector sees only the astronaut; a crop per person finds both."""
    astronaut = cv2.resize(photos["astronaut"], (480, 480), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(np.hstack([photos["basketball1.png"][:, :320], astronaut]))


TWO_ZONES = [(0, 0, 320, 480), (320, 0, 800, 480)]


@pytest.mark.parametrize("backend", ["tasks", "legacy"])
def test_zone_crops_find_a_person_the_full_frame_misses(
    backend: str, tasks: PoseEstimator, legacy: PoseEstimator, two_photos: np.ndarray
) -> None:
    estimator = tasks if backend == "tasks" else legacy
    assert len(estimator.update(0.0, two_photos)) == 1
    people = sorted(estimator.update(0.0, two_photos, crops=TWO_ZONES), key=lambda o: o.bbox[0])
    assert len(people) == 2  # the astronaut, found in the full frame and her crop, counts once
    assert people[0].bbox[2] <= 0.4 <= people[1].bbox[0]


def test_crops_too_small_to_hold_a_person_are_skipped(tasks: PoseEstimator, photos: dict[str, np.ndarray]) -> None:
    people = tasks.update(0.0, photos["messi5.jpg"], crops=[(10, 10, 30, 30), (-50, -50, 0, 0)])
    assert len(people) == 1


# --- merging -------------------------------------------------------------------------------------------------


def _observation(dx: float, score: float) -> Observation:
    keypoints = np.zeros((33, 3))
    keypoints[:, 0] = 0.5 + dx + np.linspace(-0.03, 0.03, 33)
    keypoints[:, 1] = np.linspace(0.2, 0.8, 33)
    keypoints[:, 2] = 0.9
    return Observation(0.0, keypoints, (0.47 + dx, 0.2, 0.53 + dx, 0.8), score)


def test_same_person_twice_is_merged_keeping_the_higher_score() -> None:
    kept = merge_duplicates([_observation(0.0, 0.7), _observation(0.005, 0.9)], PoseOptions())
    assert [o.score for o in kept] == [0.9]


def test_two_people_side_by_side_with_overlapping_boxes_are_kept_apart() -> None:
    # Boxes overlap by two thirds, keypoints sit a shoulder width apart: two people walking together.
    kept = merge_duplicates([_observation(0.0, 0.8), _observation(0.02 * 3 / 2 * 1.4, 0.8)], PoseOptions())
    assert len(kept) == 2


# --- video ---------------------------------------------------------------------------------------------------


def test_video_frames_flow_through_source_and_pose(bundle: Path, media_dir: Path) -> None:
    video = _opencv_media("vtest.avi", media_dir)
    zones = [(0, 100, 320, 420), (160, 100, 480, 420), (320, 100, 640, 420)]  # the walkway, in thirds
    per_frame: list[list[Observation]] = []
    options = PoseOptions(backend="tasks", bundle_path=bundle, video=True)
    with PoseEstimator(options) as est, VideoFileSource(video, size=(640, 480)) as source:
        for t, frame in source:
            per_frame.append(est.update(t, frame, crops=zones))
            if len(per_frame) == 30:
                break
    assert len(per_frame) == 30
    assert sum(len(people) for people in per_frame) >= 30  # three walkers in view most of the time
    times = [people[0].t for people in per_frame if people]
    assert times == sorted(times) and all(o.keypoints.shape == (33, 3) for p in per_frame for o in p)


def test_video_mode_refuses_time_going_backwards(bundle: Path) -> None:
    frame = np.zeros((240, 320, 3), np.uint8)
    with PoseEstimator(PoseOptions(backend="tasks", bundle_path=bundle, video=True)) as est:
        est.update(1.0, frame)
        with pytest.raises(ValueError, match="backwards"):
            est.update(0.5, frame)


@pytest.mark.parametrize(
    "field, value",
    [("backend", "gpu"), ("max_poses_per_region", 0), ("min_detection_confidence", 1.5), ("duplicate_overlap", -0.1)],
)
def test_options_out_of_range_are_rejected_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        PoseOptions(**{field: value})  # type: ignore[arg-type]


def test_frame_of_wrong_type_is_rejected(tasks: PoseEstimator) -> None:
    with pytest.raises(ValueError, match="uint8"):
        tasks.update(0.0, np.zeros((240, 320, 3), np.float32))
