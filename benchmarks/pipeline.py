"""Throughput and memory of the whole pipeline on one-, two- and three-person counter scenes, as figures.

Each scene is composed of real people (kiosk.vision.compose: cut-outs of opencv-doc's and scikit-image's photos
over a ray-cast counter) and rendered into a temporary directory at the camera's 15 fps. Then, on the same
decoded frames, interleaved frame by frame in one process:

- the reference: one legacy ``mp.solutions.pose.Pose`` pass (one person, tracking mode) on the full frame or the
  zone crop where it follows a person best (on the full frame a small person is not found, and a pass that
  finds nobody is only a detector run), judged on the first two seconds;
- the product: ``Pipeline.update`` as ``kiosk analyze`` and ``kiosk run`` call it, with its stage times.

Printed per scene: decode ms, the product's ms per stage, end-to-end fps (decode + product), people the pose
stage found per frame against people present, the ratio product / reference (a ratio holds on a noisy shared
machine; an absolute time does not), and the peak RSS of a separate ``kiosk analyze`` process on the video.

Run: `.venv/bin/python benchmarks/pipeline.py [--backend tracker|auto|tasks|legacy] [--seconds 8] [--run-s 30]
[--keep DIR]` (``--run-s`` also measures the peak RSS of `kiosk run --source VIDEO`, the app with its live
pipeline, under Xvfb, and how much of it is the code of Mesa's software renderer, which Xvfb needs and a Pi's GPU
does not).
``--backend auto`` (or ``tasks``) is the four-region design (full frame + three zone crops, a landmarker each).
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GLOG_minloglevel", "2")

from kiosk.device.calibration import apply_calibration  # noqa: E402
from kiosk.settings.tree import Settings  # noqa: E402
from kiosk.sim.simulate import Keyframe, Scene, ScenePerson, calibrate, load_scene, states_at  # noqa: E402

BASE_SCENE = ROOT / "scenes" / "composed" / "prompt_service.toml"
FPS = 15.0  # the camera's rate


def counter_scene(people: int, seconds: float) -> Scene:
    """Staff behind the counter, then a customer at the service spot, then one queueing behind; everyone in
    view the whole time and moving a little (a turn, a step), so that tracking has work to do."""
    base = load_scene(BASE_SCENE)
    end = seconds
    staff = ScenePerson(name="staff", role="staff", height_m=1.75, keyframes=[
        Keyframe(t=0.0, at=(0.5, 0.4), heading_deg=180.0),
        Keyframe(t=end / 3, at=(0.6, 0.4), face="first" if people > 1 else None,
                 heading_deg=None if people > 1 else 90.0),
        Keyframe(t=end, at=(0.6, 0.4), face="first" if people > 1 else None,
                 heading_deg=None if people > 1 else 90.0)])
    first = ScenePerson(name="first", role="customer", height_m=1.70, keyframes=[
        Keyframe(t=0.0, at=(0.9, 1.7), face="staff"),
        Keyframe(t=end / 2, at=(0.6, 1.6), face="staff"),
        Keyframe(t=end, at=(0.6, 1.6), face="staff")])
    second = ScenePerson(name="second", role="customer", height_m=1.64, keyframes=[
        Keyframe(t=0.0, at=(0.7, 2.9), heading_deg=-90.0),
        Keyframe(t=end / 2, at=(1.0, 3.0), heading_deg=-100.0),
        Keyframe(t=end, at=(0.8, 2.8), heading_deg=-90.0)])
    cast = [staff, first, second][:people]
    return base.model_copy(update={"name": f"{people} in view", "person": cast, "duration_s": seconds, "fps": FPS})


@dataclass
class Figures:
    frames: int
    decode_ms: float
    reference_ms: float
    reference_cpu_ms: float
    reference_region: tuple[int, int, int, int]
    reference_tracked: float
    stages_ms: dict[str, float]
    product_ms: float
    product_cpu_ms: float
    found: list[int]
    present: list[int]


def _frames(video: Path, size: tuple[int, int]) -> Iterator[tuple[float, np.ndarray, float]]:
    """(t, frame, seconds spent decoding it)."""
    from kiosk.vision.source import VideoFileSource

    with VideoFileSource(video, size=size) as source:
        stream = iter(source)
        while True:
            start = time.perf_counter()
            item = next(stream, None)
            spent = time.perf_counter() - start
            if item is None:
                return
            yield item[0], item[1], spent


def _legacy_pose() -> Any:
    import mediapipe as mp

    return mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, enable_segmentation=False)


def reference_region(video: Path, size: tuple[int, int], regions: list[tuple[int, int, int, int]]) -> tuple[int, ...]:
    """The region where a legacy pass follows a person best: at these sizes the full frame's detector often
    finds nobody, and a legacy pass that finds nobody runs only the detector, which is no single-person pass.
    Judged on two seconds of frames: on fewer, regions can tie at nobody found and the first (the full frame) wins."""
    import cv2

    first = [cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for _, frame, _ in itertools.islice(_frames(video, size), 30)]
    scores = []
    for x0, y0, x1, y1 in regions:
        with _legacy_pose() as pose:
            scores.append(sum(pose.process(np.ascontiguousarray(rgb[y0:y1, x0:x1])).pose_landmarks is not None
                              for rgb in first))
    return regions[int(np.argmax(scores))]


def measure(scene: Scene, video: Path, settings: Settings) -> Figures:
    """The reference and the product on the same frames, interleaved; wall and CPU time of each (CPU time of
    the whole process, all threads: on a machine shared with other work it varies less than wall time)."""
    import cv2

    from kiosk.device.pipeline import Pipeline

    size = (settings.camera.width_px, settings.camera.height_px)
    pipeline = Pipeline(settings, FPS)
    x0, y0, x1, y1 = region = reference_region(video, size, [(0, 0, *size), *pipeline.crops])
    reference = _legacy_pose()
    decode = ref = ref_cpu = product = product_cpu = 0.0
    tracked = 0
    found: list[int] = []
    present: list[int] = []
    try:
        for t, frame, spent in _frames(video, size):
            decode += spent
            start, cpu = time.perf_counter(), time.process_time()
            rgb = np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)[y0:y1, x0:x1])
            tracked += reference.process(rgb).pose_landmarks is not None
            ref += time.perf_counter() - start
            ref_cpu += time.process_time() - cpu
            start, cpu = time.perf_counter(), time.process_time()
            pipeline.update(t, frame)
            product += time.perf_counter() - start
            product_cpu += time.process_time() - cpu
            found.append(len(pipeline.last_observations))
            present.append(len(states_at(scene, t)))
        pipeline.finish()
    finally:
        pipeline.close()
        reference.close()
    n = max(len(found), 1)
    return Figures(len(found), 1e3 * decode / n, 1e3 * ref / n, 1e3 * ref_cpu / n, region, tracked / n,
                   dict(pipeline.times.per_frame()), 1e3 * product / n, 1e3 * product_cpu / n, found, present)


def _peak_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # it has just exited
        return None
    return None


def analyze_peak_rss_mb(video: Path, config: Path, backend: str) -> float:
    """Peak RSS (VmHWM) of a separate `kiosk analyze` process on the video, read from /proc while it runs.

    Not the child's rusage: Linux carries the forking parent's (this benchmark's) high-water mark across exec.
    """
    env = {**os.environ, "KIOSK_VISION__BACKEND": backend, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--config", str(config), "analyze", str(video),
                                  "--quiet", "--out", os.devnull], env=env, stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0.0
        while child.poll() is None:
            peak = max(peak, _peak_rss_mb(child.pid) or 0.0)
            time.sleep(0.05)
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"kiosk analyze failed ({child.returncode}): {errors.read().decode()[-2000:]}")
    return peak


def software_gl_rss_mb(pid: int) -> float:
    """Resident code of Mesa's software renderer (llvmpipe: libLLVM, swrast_dri) in the process: under Xvfb the
    app's GL runs on the CPU, which a Pi's GPU driver does not do; its buffers and textures, also the CPU's here,
    are anonymous memory and not counted."""
    total_kb, software = 0, False
    try:
        with open(f"/proc/{pid}/smaps", encoding="ascii", errors="replace") as smaps:
            for line in smaps:
                head = line.split(maxsplit=6)
                if head and not head[0].endswith(":"):  # a mapping's first line: address perms offset dev inode path
                    name = head[5] if len(head) > 5 else ""
                    software = "libLLVM" in name or "swrast_dri" in name
                elif software and head[0] == "Rss:":
                    total_kb += int(head[1])
    except OSError:
        return 0.0
    return total_kb / 1024.0


def run_peak_rss_mb(video: Path, config: Path, backend: str, seconds: float, workdir: Path) -> tuple[float, float]:
    """Peak RSS of `kiosk run --source VIDEO` (the counter app with its live pipeline) over ``seconds``, under
    a private Xvfb display that is stopped afterwards, and how much of the RSS at the end was the software GL's
    code (:func:`software_gl_rss_mb`)."""
    display = f":{90 + os.getpid() % 500}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**os.environ, "KIOSK_VISION__BACKEND": backend, "PYTHONPATH": str(ROOT), "DISPLAY": display,
           "KIOSK_STORE__DATA_DIR": str(workdir / "var"), "KIVY_NO_ARGS": "1", "KIVY_LOG_MODE": "PYTHON"}
    try:
        time.sleep(1.0)  # the display must be up before the app opens its window
        with tempfile.TemporaryFile() as errors:
            app = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--config", str(config), "run", "--source",
                                    str(video)], env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=errors)
            peak, end = 0.0, time.monotonic() + seconds
            try:
                while time.monotonic() < end and app.poll() is None:
                    peak = max(peak, _peak_rss_mb(app.pid) or 0.0)
                    time.sleep(0.1)
                software_gl = software_gl_rss_mb(app.pid)
            finally:
                if app.poll() is None:
                    app.terminate()
                    try:
                        app.wait(10)
                    except subprocess.TimeoutExpired:
                        app.kill()
                        app.wait()
            if app.returncode not in (0, -15) and time.monotonic() < end:
                errors.seek(0)
                raise RuntimeError(f"kiosk run stopped ({app.returncode}): {errors.read().decode()[-2000:]}")
    finally:
        xvfb.terminate()
        xvfb.wait()
    return peak, software_gl


def report(label: str, fig: Figures, rss_mb: float, run_rss_mb: tuple[float, float] | None) -> None:
    found, present = np.asarray(fig.found), np.asarray(fig.present)
    e2e_ms = fig.decode_ms + fig.product_ms
    print(f"\n{label}: {fig.frames} frames at {FPS:g} fps")
    print(f"  {'decode':<28}{fig.decode_ms:8.1f} ms/frame")
    for name, ms in fig.stages_ms.items():
        print(f"  {name:<28}{ms:8.1f} ms/frame")
    print(f"  {'product (Pipeline.update)':<28}{fig.product_ms:8.1f} ms/frame ({fig.product_cpu_ms:.1f} ms CPU)")
    print(f"  {'reference (1 legacy pass)':<28}{fig.reference_ms:8.1f} ms/frame ({fig.reference_cpu_ms:.1f} ms CPU) "
          f"on {fig.reference_region}, a person followed in {fig.reference_tracked:.0%} of frames")
    print(f"  {'product / reference':<28}{fig.product_ms / fig.reference_ms:8.2f} single-person passes "
          f"({fig.product_cpu_ms / fig.reference_cpu_ms:.2f} by CPU time)")
    print(f"  {'end-to-end':<28}{1e3 / e2e_ms:8.1f} fps")
    print(f"  {'people found / present':<28}{found.mean():8.2f} / {present.mean():.2f} per frame "
          f"(all found in {np.mean(found >= present):.0%} of frames)")
    print(f"  {'peak RSS, kiosk analyze':<28}{rss_mb:8.0f} MB", flush=True)
    if run_rss_mb is not None:
        peak, software_gl = run_rss_mb
        print(f"  {'peak RSS, kiosk run':<28}{peak:8.0f} MB (of it {software_gl:.0f} MB Xvfb's software GL code)",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="tracker",
                        help="vision.backend for the product (default: tracker; auto is the per-region design)")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each scene")
    parser.add_argument("--people", default="1,2,3", help="scenes to run, by people in view")
    parser.add_argument("--run-s", type=float, default=0.0,
                        help="also measure `kiosk run --source VIDEO` under Xvfb for this many seconds (0: skip)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the rendered videos in this directory")
    args = parser.parse_args(argv)
    from kiosk.vision.compose import load_sprites, render_video

    sprites = load_sprites()
    from kiosk.vision.tracker import model_parallelism

    vision = Settings().vision
    workers, threads = model_parallelism(vision.landmark_workers, vision.inference_threads)
    print(f"backend {args.backend}, {os.cpu_count()} CPUs, {workers} landmark worker(s) of {threads} inference "
          f"thread(s), load average {os.getloadavg()[0]:.1f}; reference: one legacy Pose pass following one person")
    with tempfile.TemporaryDirectory(prefix="kiosk-pipeline-") as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for people in (int(p) for p in args.people.split(",")):
            scene = counter_scene(people, args.seconds)
            video = render_video(scene, out / f"people{people}.mp4", sprites).path
            camera = calibrate(scene, np.random.default_rng(scene.seed))
            config = out / f"people{people}.toml"
            apply_calibration(config, camera)
            settings = Settings(camera=camera, vision={"backend": args.backend})
            figures = measure(scene, video, settings)
            run_rss = run_peak_rss_mb(video, config, args.backend, args.run_s, out) if args.run_s > 0 else None
            report(scene.name, figures, analyze_peak_rss_mb(video, config, args.backend), run_rss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
