"""The models the vision stage runs, all taken from the MediaPipe wheel: nothing is ever downloaded (DESIGN §7).

The legacy ``mp.solutions.pose`` graph reads ``pose_landmark_full.tflite`` straight from the wheel. The Tasks
``PoseLandmarker``, which finds several people per image, wants a ``.task`` bundle instead: a zip holding
``pose_detector.tflite`` and ``pose_landmarks_detector.tflite``. The wheel ships both networks; the detector
already carries its input-normalisation metadata, the landmark network does not (its graph normalises to
0..1 in code), so :func:`build_pose_bundle` writes that metadata with MediaPipe's own metadata writer and zips
the pair. The result gives the same landmarks as the legacy graph on the same image.

Build it once at install time (the output is deterministic, and an up-to-date bundle is left alone)::

    .venv/bin/python -m kiosk.vision.models build            # to default_bundle_path()
    .venv/bin/python -m kiosk.vision.models build DEST.task  # anywhere else
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import sys
import tempfile
import zipfile
from pathlib import Path

logger = logging.getLogger(__name__)

POSE_DETECTOR = "modules/pose_detection/pose_detection.tflite"
POSE_LANDMARKS_FULL = "modules/pose_landmark/pose_landmark_full.tflite"
FACE_LANDMARK = "modules/face_landmark/face_landmark.tflite"
FACE_DETECTION_SHORT = "modules/face_detection/face_detection_short_range.tflite"

BUNDLE_NAME = "pose_landmarker_full.task"
_BUNDLE_DETECTOR = "pose_detector.tflite"
_BUNDLE_LANDMARKS = "pose_landmarks_detector.tflite"
# The landmark network takes RGB scaled to 0..1 (mediapipe/modules/pose_landmark: output_tensor_float_range
# 0..1), i.e. (pixel - 0) / 255.
_LANDMARK_NORM_MEAN, _LANDMARK_NORM_STD = 0.0, 255.0
# Zip entries get a fixed time stamp so that the same wheel always yields the same bytes (idempotence).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class ModelError(Exception):
    """A model file is missing, unreadable or cannot be turned into what the vision stage needs."""


def mediapipe_dir() -> Path:
    """The installed ``mediapipe`` package directory (found without importing its native code)."""
    import importlib.util

    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("mediapipe is not installed in this Python; run `make setup` (DESIGN §7 pins 0.10.x)")
    return Path(next(iter(spec.submodule_search_locations)))


def wheel_model(relative: str) -> Path:
    """Path of a model shipped inside the MediaPipe wheel, e.g. ``wheel_model(POSE_LANDMARKS_FULL)``.

    Raises:
        ModelError: when the file is absent, which happens with MediaPipe releases after 0.10.x (they ship no
            models and download them at run time, which this product never does).
    """
    path = mediapipe_dir() / relative
    if not path.is_file():
        raise ModelError(
            f"{relative} is not in the MediaPipe wheel at {path.parent}: install mediapipe==0.10.21 "
            "(x86_64) or 0.10.18 (aarch64), whose wheels ship their models"
        )
    return path


def default_bundle_path() -> Path:
    """Where the pose bundle lives unless told otherwise: ``<venv>/share/kiosk/pose_landmarker_full.task``.

    The bundle is derived from the wheel in this environment, so it lives and dies with the environment:
    a new venv (new MediaPipe) gets a freshly built bundle, and the data directory stays for data.
    """
    return Path(sys.prefix) / "share" / "kiosk" / BUNDLE_NAME


def _landmarks_with_metadata(model: bytes) -> bytes:
    # Imported here: the writer pulls in flatbuffers and the metadata schema, needed only at build time.
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info("pose_landmark_full", "BlazePose GHUM 3D full, from the MediaPipe wheel")
    writer.add_image_input(norm_mean=[_LANDMARK_NORM_MEAN], norm_std=[_LANDMARK_NORM_STD])
    for _ in range(5):  # landmarks, presence, segmentation, heatmap, world landmarks
        writer.add_feature_output()
    populated, _ = writer.populate()
    return bytes(populated)


def _bundle_bytes(detector: bytes, landmarks: bytes) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers.model_asset_bundle_utils import AlignZipFile

    buffer = io.BytesIO()
    # MediaPipe maps bundle members straight from the file: they must be stored, 4-byte aligned.
    with AlignZipFile(buffer, mode="w", alignment=4) as bundle:
        for name, content in ((_BUNDLE_DETECTOR, detector), (_BUNDLE_LANDMARKS, landmarks)):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_STORED
            bundle.writestr(info, content)
    return buffer.getvalue()


def build_pose_bundle(dest: Path | str | None = None, *, verify: bool = True) -> Path:
    """Build the Tasks ``PoseLandmarker`` bundle from the wheel's own pose models.

    Args:
        dest: the ``.task`` file to write (parents are created); default :func:`default_bundle_path`.
        verify: load the result in a ``PoseLandmarker`` before returning, so a broken bundle fails at
            install time rather than in the shop.

    Returns:
        The bundle's path. When ``dest`` already holds exactly these bytes it is not rewritten.

    Raises:
        ModelError: a wheel model is missing, the metadata cannot be written, or the bundle does not load.
    """
    path = Path(dest) if dest is not None else default_bundle_path()
    try:
        detector = wheel_model(POSE_DETECTOR).read_bytes()
        landmarks = _landmarks_with_metadata(wheel_model(POSE_LANDMARKS_FULL).read_bytes())
        content = _bundle_bytes(detector, landmarks)
    except ModelError:
        raise
    except Exception as exc:  # the writer raises assorted ValueError/RuntimeError from its native parts
        raise ModelError(f"cannot build the pose bundle from the wheel's models: {exc}") from exc

    if path.is_file() and hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(content).digest():
        logger.info("pose bundle %s is up to date", path)
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write beside the target and rename, so a reader never sees half a bundle.
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as tmp:
                tmp.write(content)
            os.chmod(tmp.name, 0o644)  # temporary files start private; the service may run as another user
            os.replace(tmp.name, path)
        except OSError as exc:
            raise ModelError(f"cannot write the pose bundle to {path}: {exc}") from exc
        logger.info("wrote pose bundle %s (%d bytes)", path, len(content))
    if verify:
        check_pose_bundle(path)
    return path


def check_pose_bundle(path: Path | str) -> None:
    """Load the bundle in a Tasks ``PoseLandmarker`` and release it.

    Raises:
        ModelError: the file is missing or MediaPipe rejects it.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"pose bundle {path} does not exist; build it with `python -m kiosk.vision.models build`")
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(path)), running_mode=vision.RunningMode.IMAGE
    )
    try:
        vision.PoseLandmarker.create_from_options(options).close()
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"MediaPipe cannot load the pose bundle {path}: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    """``python -m kiosk.vision.models build [DEST]`` (for scripts/setup.sh) and ``... path``."""
    parser = argparse.ArgumentParser(prog="python -m kiosk.vision.models", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the multi-person pose bundle from the MediaPipe wheel")
    build.add_argument("dest", nargs="?", type=Path, default=None, help=f"default: {default_bundle_path()}")
    build.add_argument("--no-verify", action="store_true", help="skip loading the result in MediaPipe")
    sub.add_parser("path", help="print where the bundle is looked for by default")
    args = parser.parse_args(argv)
    if args.command == "path":
        print(default_bundle_path())
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        written = build_pose_bundle(args.dest, verify=not args.no_verify)
    except ModelError as exc:
        print(f"kiosk.vision.models: {exc}", file=sys.stderr)
        return 1
    print(written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
