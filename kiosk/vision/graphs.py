"""The two halves of BlazePose as separate MediaPipe graphs, so that one detector and one landmark model serve
every person in view.

MediaPipe's single-person ``mp.solutions.pose`` graph is a detector (run only when tracking is lost) feeding a
landmark model that runs on a region of interest (ROI) derived from the previous frame's landmarks. Its parts are
subgraphs registered in the wheel (``PoseDetectionCpu``, ``PoseDetectionToRoi``, ``PoseLandmarkByRoiCpu``,
``PoseLandmarksToRoi``); here they are wired into two small graphs of our own:

- :class:`PoseDetector`: image -> one ROI per person the detector finds (the detector's own NMS applied);
- :class:`PoseLandmarker`: image + ROI -> 33 landmarks, world landmarks, and the ROI for the next frame.

Both are stateless between calls (the ROI is the only state, and the caller keeps it per person), so one
landmark graph serves any number of people: memory does not grow with the people in view. Models come from the
wheel like the legacy graph's (DESIGN §7); nothing is downloaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from types import SimpleNamespace, TracebackType
from typing import Any, Self

import numpy as np

from kiosk.vision.models import ModelError

_SHOULDERS = 2  # the detector's keypoints: hip centre, full-body scale point, shoulder centre, upper-body scale point

_DETECTOR_GRAPH = """
input_stream: "image"
output_stream: "detections"
output_stream: "rois"
node { calculator: "ImagePropertiesCalculator" input_stream: "IMAGE_CPU:image" output_stream: "SIZE:size" }
node { calculator: "PoseDetectionCpu" input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }
node {
  calculator: "BeginLoopDetectionCalculator"
  input_stream: "ITERABLE:detections" input_stream: "CLONE:size"
  output_stream: "ITEM:detection" output_stream: "CLONE:item_size" output_stream: "BATCH_END:batch_end"
}
node {
  calculator: "PoseDetectionToRoi"
  input_stream: "DETECTION:detection" input_stream: "IMAGE_SIZE:item_size" output_stream: "ROI:roi"
}
node {
  calculator: "EndLoopNormalizedRectCalculator"
  input_stream: "ITEM:roi" input_stream: "BATCH_END:batch_end" output_stream: "ITERABLE:rois"
}
"""

_LANDMARK_GRAPH = """
input_stream: "image"
input_stream: "roi"
input_side_packet: "model_complexity"
output_stream: "landmarks"
output_stream: "aux"
output_stream: "world"
node {
  calculator: "PoseLandmarkByRoiCpu"
  input_side_packet: "MODEL_COMPLEXITY:model_complexity"
  input_stream: "IMAGE:image" input_stream: "ROI:roi"
  output_stream: "LANDMARKS:landmarks" output_stream: "AUXILIARY_LANDMARKS:aux" output_stream: "WORLD_LANDMARKS:world"
}
"""

# The rest of the single-person graph's tracking loop, per person: its landmark smoothing (a velocity filter on
# the landmarks, the two ROI points and the world landmarks) and the next frame's ROI from the smoothed points.
_FILTER_GRAPH = """
input_stream: "image"
input_stream: "landmarks"
input_stream: "aux"
input_stream: "world"
input_side_packet: "enable"
output_stream: "filtered"
output_stream: "filtered_world"
output_stream: "next_roi"
node { calculator: "ImagePropertiesCalculator" input_stream: "IMAGE_CPU:image" output_stream: "SIZE:size" }
node {
  calculator: "PoseLandmarkFiltering"
  input_side_packet: "ENABLE:enable"
  input_stream: "IMAGE_SIZE:size" input_stream: "NORM_LANDMARKS:landmarks"
  input_stream: "AUX_NORM_LANDMARKS:aux" input_stream: "WORLD_LANDMARKS:world"
  output_stream: "FILTERED_NORM_LANDMARKS:filtered" output_stream: "FILTERED_AUX_NORM_LANDMARKS:filtered_aux"
  output_stream: "FILTERED_WORLD_LANDMARKS:filtered_world"
}
node { calculator: "PoseLandmarksToRoi" input_stream: "LANDMARKS:filtered_aux" input_stream: "IMAGE_SIZE:size" output_stream: "ROI:next_roi" }
"""


@dataclass(frozen=True)
class Roi:
    """A rotated square-ish region holding one person, normalised to the image it was found in.

    cx, cy: centre (0..1 of width, height); width, height: 0..1 of width, height (they may exceed 1 near the
    edges: MediaPipe pads); rotation: radians, the body's tilt (hips to shoulders against the vertical).
    """

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0

    def __post_init__(self) -> None:
        for name in ("cx", "cy", "width", "height", "rotation"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"Roi.{name} must be finite, got {getattr(self, name)!r}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"Roi width and height must be positive, got {self.width!r} x {self.height!r}")

    def in_frame(self, rect: tuple[int, int, int, int], width: int, height: int) -> Roi:
        """This ROI, found in the pixel rectangle ``rect`` (x0, y0, x1, y1) of a ``width`` x ``height`` frame,
        normalised to the whole frame. Pixel sizes and the rotation are unchanged."""
        x0, y0, x1, y1 = rect
        w, h = x1 - x0, y1 - y0
        return Roi((x0 + self.cx * w) / width, (y0 + self.cy * h) / height, self.width * w / width,
                   self.height * h / height, self.rotation)

    def side_px(self, width: int, height: int) -> float:
        """The longer side in pixels."""
        return max(self.width * width, self.height * height)


@dataclass(frozen=True)
class Landmarks:
    """One person's landmarks from :class:`PoseLandmarker`: keypoints (33, 3) x, y normalised to the image plus
    visibility 0..1; world (33, 3) metres about the hips; ``next_roi`` where to look in the next frame (None
    until :class:`LandmarkFilter` has smoothed them); ``raw`` the graph's own messages, for that filter;
    ``presence`` the model's score that a person fills the ROI."""

    keypoints: np.ndarray
    world: np.ndarray
    next_roi: Roi | None
    raw: tuple[Any, Any, Any] | None = None
    presence: float = 1.0  # the model's presence score, 0..1

    def unseen_below(self, y: float) -> Landmarks:
        """These landmarks with every point at or below image height ``y`` (0..1) marked unseen (visibility 0):
        where the image was blanked the model could only guess."""
        from mediapipe.framework.formats import landmark_pb2

        keypoints = self.keypoints.copy()
        keypoints[keypoints[:, 1] >= y, 2] = 0.0
        raw = self.raw
        if raw is not None:
            points = landmark_pb2.NormalizedLandmarkList()
            points.CopyFrom(raw[0])
            for lm in points.landmark:
                if lm.y >= y:
                    lm.visibility = 0.0
            raw = (points, raw[1], raw[2])
        return replace(self, keypoints=keypoints, raw=raw)


@dataclass(frozen=True)
class Detection:
    """One person found by :class:`PoseDetector`: their ROI, the detector's score, and the centre between their
    shoulders (x, y normalised like the ROI), which the detector predicts whether or not the hips show."""

    roi: Roi
    score: float
    shoulders: tuple[float, float]

    def in_frame(self, rect: tuple[int, int, int, int], width: int, height: int) -> Detection:
        """This detection, made in the pixel rectangle ``rect`` of a ``width`` x ``height`` frame, normalised to
        the whole frame."""
        x0, y0, x1, y1 = rect
        sx, sy = self.shoulders
        return Detection(self.roi.in_frame(rect, width, height), self.score,
                         ((x0 + sx * (x1 - x0)) / width, (y0 + sy * (y1 - y0)) / height))


def _expanded(graph: str, threads: int, min_score: float | None = None, min_presence: float | None = None) -> Any:
    """``graph`` with its subgraphs expanded and every inference node set to ``threads`` XNNPACK threads (and the
    detector's score threshold to ``min_score``, the landmark model's presence threshold to ``min_presence``, its
    presence score published as the ``presence`` stream): the subgraphs fix these, and only the expanded nodes
    can be set."""
    from mediapipe.calculators.tensor import inference_calculator_pb2, tensors_to_detections_calculator_pb2
    from mediapipe.calculators.util import thresholding_calculator_pb2
    from mediapipe.framework import calculator_pb2
    from mediapipe.python._framework_bindings import validated_graph_config

    validated = validated_graph_config.ValidatedGraphConfig()
    validated.initialize(graph_config=graph)
    config = calculator_pb2.CalculatorGraphConfig()
    config.ParseFromString(validated.binary_config)
    for node in config.node:
        if node.calculator.startswith("InferenceCalculator"):
            options = node.options.Extensions[inference_calculator_pb2.InferenceCalculatorOptions.ext]
            options.delegate.xnnpack.num_threads = threads
        elif node.calculator == "TensorsToDetectionsCalculator" and min_score is not None:
            ext = tensors_to_detections_calculator_pb2.TensorsToDetectionsCalculatorOptions.ext
            node.options.Extensions[ext].min_score_thresh = min_score
        elif node.calculator == "ThresholdingCalculator" and min_presence is not None:
            node.options.Extensions[thresholding_calculator_pb2.ThresholdingCalculatorOptions.ext].threshold = \
                min_presence
            score = node.input_stream[0].split(":", 1)[1]
            passthrough = config.node.add()
            passthrough.calculator = "PassThroughCalculator"
            passthrough.input_stream.append(score)
            passthrough.output_stream.append("presence")
            config.output_stream.append("presence")
    return config


class _Graph:
    """A MediaPipe graph of ours, run synchronously one packet set at a time.

    Built by MediaPipe's ``SolutionBase`` (it validates the graph, points the models at the wheel, observes the
    outputs) but run by :meth:`process` here: ``SolutionBase.process`` defines a new namedtuple class on every
    call (about 0.3 ms, and a frame makes six or more calls) and stamps a fixed 30 fps clock.
    """

    def __init__(self, config: Any, hints: dict[str, str], side_inputs: dict[str, Any] | None = None) -> None:
        from mediapipe.python.solution_base import PacketDataType, SolutionBase

        try:
            self._solution: Any = SolutionBase(graph_config=config, side_inputs=side_inputs,
                                               stream_type_hints={k: PacketDataType(v) for k, v in hints.items()})
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"MediaPipe cannot build the pose graph from the wheel's models: {exc}") from exc
        self._inputs = dict(self._solution._input_stream_type_info)
        self._outputs = dict(self._solution._output_stream_type_info)
        self._last_us = 0

    def process(self, inputs: dict[str, Any], t_us: int | None = None) -> SimpleNamespace:
        """Run the graph on one set of inputs stamped ``t_us`` (microseconds, made to increase; None: the next
        microsecond); one attribute per output stream, None where the graph sent nothing."""
        solution = self._solution
        if solution is None:
            raise ValueError("the pose graph is closed")
        self._last_us = max(self._last_us + 1, t_us if t_us is not None else 0)
        solution._graph_outputs.clear()
        for name, data in inputs.items():
            kind = self._inputs[name]
            solution._graph.add_packet_to_input_stream(
                stream=name, packet=solution._make_packet(kind, data).at(self._last_us))
        solution._graph.wait_until_idle()
        out = solution._graph_outputs
        return SimpleNamespace(**{name: solution._get_packet_content(kind, out[name]) if name in out else None
                                  for name, kind in self._outputs.items()})

    def close(self) -> None:
        if self._solution is not None:
            self._solution.close()
            self._solution = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _roi(rect: Any) -> Roi | None:
    try:
        return Roi(rect.x_center, rect.y_center, rect.width, rect.height, rect.rotation)
    except ValueError:  # a degenerate rectangle from a degenerate detection: nobody to follow there
        return None


class PoseDetector(_Graph):
    """MediaPipe's person detector (BlazePose's first stage) on one image, any number of people.

    Args:
        threads: XNNPACK threads of the inference.
        min_score: detections scored below this are dropped, 0..1.

    Raises:
        ModelError: the wheel lacks the detector or its subgraphs.
    """

    def __init__(self, threads: int = 1, min_score: float = 0.5) -> None:
        super().__init__(_expanded(_DETECTOR_GRAPH, threads, min_score),
                         {"image": "image_frame", "detections": "proto_list", "rois": "proto_list"})

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Everyone the detector finds in ``rgb``, best first, normalised to ``rgb``."""
        out = self.process({"image": rgb})
        found = []
        for detection, rect in zip(out.detections or [], out.rois or []):
            roi = _roi(rect)
            points = detection.location_data.relative_keypoints
            if roi is not None and len(points) > _SHOULDERS:
                found.append(Detection(roi, float(detection.score[0]) if detection.score else 0.0,
                                       (points[_SHOULDERS].x, points[_SHOULDERS].y)))
        return sorted(found, key=lambda d: -d.score)


class PoseLandmarker(_Graph):
    """MediaPipe's pose landmark model (BlazePose GHUM full) on one ROI of an image; stateless, so one instance
    serves every tracked person.

    Args:
        threads: XNNPACK threads of the inference.
        min_presence: landmarks whose presence score (the model's own "a person is in this ROI", 0..1) is below
            this are not returned; the caller may ask more of a person it does not follow yet.

    Raises:
        ModelError: the wheel lacks the model or its subgraphs.
    """

    def __init__(self, threads: int = 1, min_presence: float = 0.5) -> None:
        super().__init__(_expanded(_LANDMARK_GRAPH, threads, min_presence=min_presence),
                         {"image": "image_frame", "roi": "proto", "landmarks": "proto", "world": "proto",
                          "next_roi": "proto", "presence": "float"},
                         side_inputs={"model_complexity": 1})  # the wheel's model (DESIGN §7)

    def landmarks(self, rgb: np.ndarray, roi: Roi, region: tuple[int, int, int, int] | None = None,
                  blank_from_row: int | None = None) -> Landmarks | None:
        """The person in ``roi`` of ``rgb``, or None when the model sees nobody there (presence below
        ``min_presence``); unsmoothed, without a next ROI (see :class:`LandmarkFilter`).

        ``region`` (x0, y0, x1, y1 pixels): look only at these pixels of ``rgb`` (the ROI's part outside them is
        blank to the model); ``blank_from_row``: and none from this row of ``rgb`` down. ``roi`` and the
        landmarks stay normalised to the whole of ``rgb``, which is never changed.
        """
        from mediapipe.framework.formats import rect_pb2

        height, width = rgb.shape[:2]
        x0, y0, x1, y1 = region if region is not None else (0, 0, width, height)
        whole = (x0, y0, x1, y1) == (0, 0, width, height)
        image = rgb if whole and blank_from_row is None else np.array(rgb[y0:y1, x0:x1])  # a copy of its own
        if blank_from_row is not None:
            image[max(0, blank_from_row - y0):] = 0
        w, h = x1 - x0, y1 - y0
        rect = rect_pb2.NormalizedRect(x_center=(roi.cx * width - x0) / w, y_center=(roi.cy * height - y0) / h,
                                       width=roi.width * width / w, height=roi.height * height / h,
                                       rotation=roi.rotation)
        out = self.process({"image": image, "roi": rect})
        if out.landmarks is None or out.world is None or out.aux is None:
            return None
        if not whole:
            for points in (out.landmarks, out.aux):
                for lm in points.landmark:  # back to the whole image's coordinates (z is scaled like x)
                    lm.x, lm.y, lm.z = (x0 + lm.x * w) / width, (y0 + lm.y * h) / height, lm.z * w / width
        presence = float(out.presence) if out.presence is not None else 1.0
        return _landmarks(out.landmarks, out.world, None, (out.landmarks, out.aux, out.world), presence)


def _landmarks(points: Any, world: Any, next_roi: Roi | None, raw: tuple[Any, Any, Any] | None,
               presence: float = 1.0) -> Landmarks | None:
    keypoints = np.array([[lm.x, lm.y, lm.visibility] for lm in points.landmark], dtype=np.float64)
    metres = np.array([[lm.x, lm.y, lm.z] for lm in world.landmark], dtype=np.float64)
    if keypoints.shape != (33, 3) or metres.shape != (33, 3) or not np.isfinite(keypoints).all():
        return None
    return Landmarks(keypoints, metres, next_roi, raw, presence if math.isfinite(presence) else 0.0)


class LandmarkFilter(_Graph):
    """One person's landmark smoothing and next ROI, as the single-person graph does them between frames.

    Stateful: one per tracked person, fed that person's landmarks frame by frame with the frames' own times.

    Raises:
        ModelError: the wheel lacks the filtering subgraphs.
    """

    def __init__(self) -> None:
        super().__init__(_FILTER_GRAPH, {"image": "image_frame", "landmarks": "proto", "aux": "proto",
                                         "world": "proto", "filtered": "proto", "filtered_world": "proto",
                                         "next_roi": "proto"}, side_inputs={"enable": True})

    def smooth(self, rgb: np.ndarray, found: Landmarks, t: float) -> Landmarks | None:
        """``found`` (from :meth:`PoseLandmarker.landmarks` on ``rgb``) smoothed, with the next frame's ROI."""
        if found.raw is None:
            return found
        points, aux, world = found.raw
        # The filter's velocities need the frames' real times.
        out = self.process({"image": rgb, "landmarks": points, "aux": aux, "world": world}, round(t * 1e6))
        if out.filtered is None or out.filtered_world is None or out.next_roi is None:
            return None
        return _landmarks(out.filtered, out.filtered_world, _roi(out.next_roi), None, found.presence)
