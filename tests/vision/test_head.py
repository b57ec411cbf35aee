"""Head yaw from pose keypoints and torso yaw from world landmarks: synthetic heads with known angles, then
real photographs (opencv-doc, scikit-image)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from kiosk.core.observation import LEFT_SHOULDER, NOSE, RIGHT_SHOULDER
from kiosk.vision.head import head_pose_from_keypoints, torso_yaw_from_world

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")

# A test head built independently of the estimator's model: centimetres, columns lateral (+ = the person's
# left), up, forward, origin between the ears; nose, eyes (inner, centre, outer) left then right, ears, mouth.
TEST_HEAD_CM = np.array(
    [
        [0.0, -3.6, 10.5],
        [1.5, 0.2, 8.2],
        [3.0, 0.3, 8.4],
        [4.6, 0.1, 6.9],
        [-1.5, 0.2, 8.2],
        [-3.0, 0.3, 8.4],
        [-4.6, 0.1, 6.9],
        [7.6, -1.4, -0.5],
        [-7.6, -1.4, -0.5],
        [2.4, -6.6, 8.9],
        [-2.4, -6.6, 8.9],
    ]
)
LEFT_SIDE = [1, 2, 3, 7, 9]
RIGHT_SIDE = [4, 5, 6, 8, 10]
WIDTH, HEIGHT = 640, 480


def _camera_points(yaw_deg: float, pitch_deg: float, roll_deg: float, head: np.ndarray) -> np.ndarray:
    """Head points in camera coordinates (x right, y down, z away), the head 2.5 m in front of the camera."""
    lat, up, fwd = head.T
    r, p, y = (math.radians(a) for a in (roll_deg, pitch_deg, yaw_deg))
    lat, up = lat * math.cos(r) - up * math.sin(r), lat * math.sin(r) + up * math.cos(r)
    up, fwd = up * math.cos(p) + fwd * math.sin(p), fwd * math.cos(p) - up * math.sin(p)
    x = lat * math.cos(y) + fwd * math.sin(y)
    z = lat * math.sin(y) - fwd * math.cos(y)
    return np.stack([x, -up, z + 250.0], axis=1)


def synthetic_keypoints(
    yaw_deg: float,
    pitch_deg: float = -15.0,
    roll_deg: float = 0.0,
    seed: int = 0,
    collapse_far_side: bool = False,
) -> np.ndarray:
    """Pose keypoints (33, 3) of a head rotated by known angles, projected by a 640x480 pinhole camera
    (focal 500 px: a face about 30 px wide) with 1 px noise and all face points reported visible, as MediaPipe
    does. ``collapse_far_side`` puts the hidden side's points onto the visible side's, as MediaPipe guesses
    them in profile."""
    rng = np.random.default_rng(seed)
    head = TEST_HEAD_CM * rng.uniform(0.9, 1.1, size=(1, 3))
    cam = _camera_points(yaw_deg, pitch_deg, roll_deg, head)
    u = 500.0 * cam[:, 0] / cam[:, 2] + WIDTH / 2 + rng.normal(0, 1.0, len(cam))
    v = 500.0 * cam[:, 1] / cam[:, 2] + HEIGHT / 2 + rng.normal(0, 1.0, len(cam))
    kp = np.zeros((33, 3))
    kp[:11, 0], kp[:11, 1], kp[:11, 2] = u / WIDTH, v / HEIGHT, 0.99
    if collapse_far_side:
        near, far = (RIGHT_SIDE, LEFT_SIDE) if yaw_deg > 0 else (LEFT_SIDE, RIGHT_SIDE)
        kp[far, :2] = kp[near, :2] + rng.normal(0, 0.5, (5, 2)) / [WIDTH, HEIGHT]
    return kp


def _angle_error(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


YAWS = list(range(-150, 151, 10))


@pytest.mark.parametrize("yaw", YAWS)
def test_yaw_within_15_degrees_of_a_rotated_head(yaw: int) -> None:
    errors = []
    for seed, (pitch, roll) in enumerate([(-15.0, 0.0), (-30.0, 8.0), (5.0, -8.0)]):
        pose = head_pose_from_keypoints(synthetic_keypoints(yaw, pitch, roll, seed), 0.5, WIDTH / HEIGHT)
        assert pose is not None
        errors.append(_angle_error(pose.yaw_deg, yaw))
    assert max(errors) <= 15.0, f"yaw {yaw}: errors {errors}"


@pytest.mark.parametrize("yaw", [y for y in YAWS if abs(y) >= 20])
def test_yaw_sign_says_which_side_of_the_image_the_head_faces(yaw: int) -> None:
    pose = head_pose_from_keypoints(synthetic_keypoints(yaw, seed=7), 0.5, WIDTH / HEIGHT)
    assert pose is not None and np.sign(pose.yaw_deg) == np.sign(yaw)


@pytest.mark.parametrize("yaw", [-120, -105, -90, -75, 75, 90, 105, 120])
def test_profile_with_guessed_far_side_keeps_side_and_stays_near(yaw: int) -> None:
    pose = head_pose_from_keypoints(synthetic_keypoints(yaw, collapse_far_side=True), 0.5, WIDTH / HEIGHT)
    assert pose is not None
    assert np.sign(pose.yaw_deg) == np.sign(yaw)
    assert _angle_error(pose.yaw_deg, yaw) <= 25.0


def test_mirrored_keypoints_negate_yaw() -> None:
    kp = synthetic_keypoints(40.0, seed=3)
    mirrored = kp.copy()
    mirrored[:, 0] = 1.0 - kp[:, 0]
    mirrored[LEFT_SIDE + RIGHT_SIDE] = mirrored[RIGHT_SIDE + LEFT_SIDE]  # a mirror swaps left and right
    a = head_pose_from_keypoints(kp, 0.5, WIDTH / HEIGHT)
    b = head_pose_from_keypoints(mirrored, 0.5, WIDTH / HEIGHT)
    assert a is not None and b is not None
    assert abs(a.yaw_deg + b.yaw_deg) <= 2.0


def test_ignoring_aspect_ratio_distorts_a_turned_head() -> None:
    kp = synthetic_keypoints(45.0, seed=4)
    right = head_pose_from_keypoints(kp, 0.5, WIDTH / HEIGHT)
    squeezed = head_pose_from_keypoints(kp, 0.5, 1.0)
    assert right is not None and squeezed is not None
    assert _angle_error(right.yaw_deg, 45.0) < _angle_error(squeezed.yaw_deg, 45.0)


def test_hidden_nose_gives_no_head_pose() -> None:
    kp = synthetic_keypoints(0.0)
    kp[NOSE, 2] = 0.1
    assert head_pose_from_keypoints(kp, 0.5, WIDTH / HEIGHT) is None


def test_too_few_visible_face_points_give_no_head_pose() -> None:
    kp = synthetic_keypoints(0.0)
    kp[1:11, 2] = 0.2
    kp[[7, 8, 9], 2] = 0.9  # nose + 3 points: fewer than the fit needs
    assert head_pose_from_keypoints(kp, 0.5, WIDTH / HEIGHT) is None


def test_clean_fit_reports_high_confidence() -> None:
    pose = head_pose_from_keypoints(synthetic_keypoints(20.0), 0.5, WIDTH / HEIGHT)
    assert pose is not None and pose.confidence > 0.6


def test_keypoints_of_wrong_shape_are_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        head_pose_from_keypoints(np.zeros((17, 3)))


# --- torso yaw from world landmarks ------------------------------------------------------------------------


def synthetic_world(yaw_deg: float, nose_forward_m: float = 0.12) -> np.ndarray:
    """World landmarks (33, 3) of shoulders 0.36 m apart and a nose in front of them, turned by yaw."""
    y = math.radians(yaw_deg)
    left = np.array([math.cos(y), math.sin(y)])  # the person's left, floor plane (x, z)
    forward = np.array([math.sin(y), -math.cos(y)])
    world = np.zeros((33, 3))
    world[LEFT_SHOULDER, [0, 2]] = 0.18 * left
    world[RIGHT_SHOULDER, [0, 2]] = -0.18 * left
    world[NOSE, [0, 2]] = nose_forward_m * forward
    world[[LEFT_SHOULDER, RIGHT_SHOULDER], 1] = -0.45
    world[NOSE, 1] = -0.65
    return world


@pytest.mark.parametrize("yaw", [-180, -135, -90, -45, 0, 30, 90, 150, 180])
def test_torso_yaw_recovers_the_shoulder_turn(yaw: int) -> None:
    got = torso_yaw_from_world(synthetic_world(yaw))
    assert got is not None and _angle_error(got, yaw) < 1.0


def test_nose_behind_the_shoulders_turns_torso_yaw_around() -> None:
    got = torso_yaw_from_world(synthetic_world(30.0, nose_forward_m=-0.12))
    assert got is not None and _angle_error(got, 210.0) < 1.0


def test_shoulders_edge_on_to_the_floor_plane_give_no_torso_yaw() -> None:
    world = synthetic_world(0.0)
    world[[LEFT_SHOULDER, RIGHT_SHOULDER], 0] = 0.01 * np.array([1, -1])
    assert torso_yaw_from_world(world) is None


def test_unseen_shoulder_gives_no_torso_yaw() -> None:
    visibility = np.ones(33)
    visibility[RIGHT_SHOULDER] = 0.2
    assert torso_yaw_from_world(synthetic_world(0.0), visibility, 0.5) is None


# --- real photographs ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def estimator(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from kiosk.vision.models import build_pose_bundle
    from kiosk.vision.pose import PoseEstimator, PoseOptions

    bundle = build_pose_bundle(tmp_path_factory.mktemp("models") / "pose.task", verify=False)
    with PoseEstimator(PoseOptions(backend="tasks", bundle_path=bundle, video=False)) as est:
        yield est


def _photo(name: str) -> np.ndarray:
    import cv2

    if name == "astronaut":
        from skimage import data

        return np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    path = OPENCV_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} missing: install the Debian package opencv-doc (scripts/system-packages.txt)")
    image = cv2.imread(str(path))
    assert image is not None
    return image


def _people_left_to_right(estimator, image: np.ndarray):  # type: ignore[no-untyped-def]
    return sorted(estimator.update(0.0, image), key=lambda o: o.bbox[0])


def test_frontal_astronaut_faces_the_camera(estimator) -> None:  # type: ignore[no-untyped-def]
    (person,) = _people_left_to_right(estimator, _photo("astronaut"))
    assert person.head is not None and abs(person.head.yaw_deg) < 25.0


def test_basketball_players_turn_towards_each_other(estimator) -> None:  # type: ignore[no-untyped-def]
    left, right = _people_left_to_right(estimator, _photo("basketball2.png"))
    assert left.head is not None and right.head is not None
    assert left.head.yaw_deg > 10.0  # the left player looks towards image right
    assert right.head.yaw_deg < -60.0  # the right player, in profile, towards image left


@pytest.mark.parametrize("name", ["basketball1.png", "messi5.jpg"])
def test_head_yaw_changes_sign_on_a_mirrored_photo(estimator, name: str) -> None:  # type: ignore[no-untyped-def]
    image = _photo(name)
    (a,) = _people_left_to_right(estimator, image)
    (b,) = _people_left_to_right(estimator, np.ascontiguousarray(image[:, ::-1]))
    assert a.head is not None and b.head is not None
    assert a.head.yaw_deg * b.head.yaw_deg < 0
    assert abs(a.head.yaw_deg + b.head.yaw_deg) < 20.0


def test_torso_yaw_changes_sign_on_a_mirrored_photo(estimator) -> None:  # type: ignore[no-untyped-def]
    image = _photo("basketball1.png")
    (a,) = _people_left_to_right(estimator, image)
    (b,) = _people_left_to_right(estimator, np.ascontiguousarray(image[:, ::-1]))
    assert a.torso_yaw_deg is not None and b.torso_yaw_deg is not None
    assert a.torso_yaw_deg > 15.0 and b.torso_yaw_deg < -15.0
