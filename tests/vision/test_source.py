"""Frame sources on real media (opencv-doc's vtest.avi: 768x576, 10 fps, 795 frames) and on broken files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from kiosk.vision.source import (
    CameraNotFoundError,
    CameraSource,
    PiCameraSource,
    SourceError,
    UnsupportedResolutionError,
    VideoFileError,
    VideoFileSource,
    check_negotiated,
    open_source,
)

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")


@pytest.fixture(scope="module")
def vtest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vtest.avi, decompressed into a temporary directory when the package ships it gzipped."""
    plain, packed = OPENCV_DATA / "vtest.avi", OPENCV_DATA / "vtest.avi.gz"
    if plain.is_file():
        return plain
    if packed.is_file():
        out = tmp_path_factory.mktemp("media") / "vtest.avi"
        with gzip.open(packed, "rb") as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        return out
    pytest.skip("vtest.avi missing: install the Debian package opencv-doc (scripts/system-packages.txt)")


def _take(source: VideoFileSource, n: int) -> list[tuple[float, np.ndarray]]:
    frames = []
    for item in source:
        frames.append(item)
        if len(frames) == n:
            break
    return frames


def test_video_frames_are_bgr_arrays_stamped_by_the_video_clock(vtest: Path) -> None:
    with VideoFileSource(vtest) as source:
        frames = _take(source, 5)
    assert [round(t, 3) for t, _ in frames] == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert all(f.shape == (576, 768, 3) and f.dtype == np.uint8 for _, f in frames)


def test_video_reports_its_rate_and_length(vtest: Path) -> None:
    with VideoFileSource(vtest) as source:
        assert source.nominal_fps == pytest.approx(10.0)
        assert source.frame_count == 795


def test_video_frames_are_resized_to_the_requested_size(vtest: Path) -> None:
    with VideoFileSource(vtest, size=(640, 480)) as source:
        (_, frame), = _take(source, 1)
    assert frame.shape == (480, 640, 3)


def test_fps_cap_drops_frames_to_hold_the_rate(vtest: Path) -> None:
    with VideoFileSource(vtest, max_fps=5) as source:
        times = [t for t, _ in _take(source, 6)]
    assert np.allclose(np.diff(times), 0.2)


def test_fps_cap_that_does_not_divide_the_rate_holds_the_average(vtest: Path) -> None:
    with VideoFileSource(vtest, max_fps=4) as source:
        times = [t for t, _ in source if t < 5.0]
    assert len(times) == 20  # 4 per second over 5 s, although 10 fps cannot be split evenly into 4


def test_missing_video_file_raises(tmp_path: Path) -> None:
    with pytest.raises(VideoFileError, match="does not exist"):
        VideoFileSource(tmp_path / "nothing.avi")


def test_directory_is_not_a_video_file(tmp_path: Path) -> None:
    with pytest.raises(VideoFileError, match="not a readable file"):
        VideoFileSource(tmp_path)


def test_file_of_random_bytes_raises(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoFileError, match="corrupt"):
        VideoFileSource(path)


def test_truncated_video_yields_its_frames_then_raises(vtest: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.avi"
    cut.write_bytes(vtest.read_bytes()[:2_000_000])  # about a quarter of the file
    frames = 0
    with pytest.raises(VideoFileError, match="truncated"), VideoFileSource(cut) as source:
        for _ in source:
            frames += 1
    assert 50 < frames < 795


def test_closed_source_refuses_to_iterate(vtest: Path) -> None:
    source = VideoFileSource(vtest)
    with source:
        pass
    with pytest.raises(SourceError, match="closed"):
        next(iter(source))


def test_missing_camera_raises_with_a_hint() -> None:
    hint = r"no camera at index 99: is it plugged in / enabled\? try `kiosk doctor`"
    with pytest.raises(CameraNotFoundError, match=hint):
        CameraSource(99)


def test_camera_error_belongs_to_the_source_error_family() -> None:
    with pytest.raises(SourceError):
        open_source("99")


@pytest.mark.parametrize("size", [(100, 480), (640, 50), (5000, 480), (640.5, 480)])
def test_size_out_of_range_is_unsupported(vtest: Path, size: tuple[int, int]) -> None:
    with pytest.raises(UnsupportedResolutionError, match="size"):
        VideoFileSource(vtest, size=size)


def test_camera_falling_back_to_another_size_is_unsupported() -> None:
    with pytest.raises(UnsupportedResolutionError, match="cannot deliver 1920x1080; it gave 640x480"):
        check_negotiated("camera 0", (1920, 1080), (640, 480))


def test_fps_cap_must_be_positive(vtest: Path) -> None:
    with pytest.raises(ValueError, match="max_fps"):
        VideoFileSource(vtest, max_fps=0)


def test_open_source_reads_a_path_as_a_video_file(vtest: Path) -> None:
    with open_source(str(vtest), size=(320, 240)) as source:
        assert isinstance(source, VideoFileSource)
        (_, frame), = _take(source, 1)  # type: ignore[arg-type]
    assert frame.shape == (240, 320, 3)


def test_pi_camera_without_picamera2_says_how_to_get_it() -> None:
    try:
        import picamera2  # type: ignore[import-not-found]  # noqa: F401

        pytest.skip("picamera2 is installed here: this checks the message on machines without it")
    except ImportError:
        pass
    with pytest.raises(SourceError, match="python3-picamera2"):
        PiCameraSource()


# The only modules allowed to write frames: the opt-in debug overlay (kiosk analyze --overlay) and the
# composer that renders test scenes of cut-out people into temporary files.
FRAME_WRITERS = {"overlay.py", "compose.py"}


def test_vision_code_never_writes_frames() -> None:
    # DESIGN §6: frames live in memory only. Writing them takes one of these calls.
    vision = Path(__file__).resolve().parents[2] / "kiosk" / "vision"
    code = "\n".join(p.read_text() for p in vision.glob("*.py") if p.name not in FRAME_WRITERS)
    for call in ("imwrite", "VideoWriter", "imencode", "tofile("):
        assert call not in code, call


def test_only_the_declared_modules_write_frames() -> None:
    root = Path(__file__).resolve().parents[2] / "kiosk"
    writers = {p.name for p in root.rglob("*.py") if "VideoWriter" in p.read_text() or "imwrite" in p.read_text()}
    assert writers <= FRAME_WRITERS
