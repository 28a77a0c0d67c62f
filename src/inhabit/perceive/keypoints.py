"""2D body keypoints of the most prominent person in an image.

The contract is :class:`KeypointDetector`: ``detect(images) -> Keypoints2D`` with one row per image,
keypoints named by :data:`inhabit.conventions.KEYPOINT_NAMES` (COCO-17 then the six COCO-WholeBody
foot points), ``xy`` in pixels with the origin at the top-left pixel's *corner* (the centre of pixel
column j is x = j + 0.5) and ``conf`` in [0, 1]. An image without a person is a normal result: its
row has every confidence 0.

The default, :class:`BlazePoseDetector`, runs mediapipe 0.10.21's BlazePose (the "full" landmark
model, ``model_complexity=1``, the only one bundled in the wheel) and maps its 33 landmarks onto the
inhabit names *by name* (:data:`BLAZEPOSE_TO_KEYPOINTS`). Any other detector plugs in the same way:
produce its own named points and call :func:`map_keypoints_by_name`.

:func:`accept_person` is GenZI's rule for keeping a view: at least 13 of the 17 COCO keypoints with a
score of at least 0.25 (the foot points are not counted).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from inhabit.conventions import COCO17_NAMES, KEYPOINT_NAMES
from inhabit.errors import InputError
from inhabit.structures import Keypoints2D
from inhabit.weights import WeightStatus

BLAZEPOSE_LANDMARK_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
"""BlazePose's 33 landmarks in its output order (``mp.solutions.pose.PoseLandmark``, snake case).
Left/right are the person's own sides, as in COCO."""

BLAZEPOSE_TO_KEYPOINTS: dict[str, str | tuple[str, float]] = {
    **{n: n for n in COCO17_NAMES},
    # BlazePose's foot_index is the tip of the foot (between the first and second toe): the
    # nearest thing to COCO-WholeBody's big toe (measured 1-5 px apart on anny renders).
    "left_big_toe": "left_foot_index",
    "right_big_toe": "right_foot_index",
    "left_heel": "left_heel",
    "right_heel": "right_heel",
    # BlazePose has no small toe. Its position is copied from foot_index so that drawings and
    # initialisations have a sane location, but its confidence is forced to 0: every consumer
    # (acceptance, lifting weights, drawing with min_conf > 0) ignores it.
    "left_small_toe": ("left_foot_index", 0.0),
    "right_small_toe": ("right_foot_index", 0.0),
}
"""inhabit keypoint name -> BlazePose landmark name, or (name, confidence factor)."""


@runtime_checkable
class KeypointDetector(Protocol):
    """Finds the most prominent person in each image.

    Implementations must return one row per image (in order), names = ``KEYPOINT_NAMES``, ``xy`` in
    pixels with the pixel-corner origin, ``conf`` in [0, 1], and all-zero confidences (not an
    exception) where no person is found. Bad input (not an (H, W, 3) uint8 array) is an
    :class:`~inhabit.errors.InputError`.

    Example (a detector with its own skeleton, e.g. an ONNX RTMPose run by the user)::

        class MyDetector:
            def detect(self, images):
                rows = [my_model(im) for im in images]          # each: (S, 2) pixels, (S,) scores
                xy = np.stack([r[0] for r in rows]); sc = np.stack([r[1] for r in rows])
                return map_keypoints_by_name(xy, sc, MY_NAMES, {n: n for n in KEYPOINT_NAMES})
    """

    def detect(self, images: Sequence[np.ndarray]) -> Keypoints2D:
        """images: N arrays (H, W, 3) uint8 RGB (sizes may differ) -> Keypoints2D with N rows."""
        ...


# --- pure functions --------------------------------------------------------------------------------


def normalized_to_pixels(xy_norm: np.ndarray, width: int, height: int) -> np.ndarray:
    """Convert mediapipe normalised landmark coordinates to inhabit pixels.

    mediapipe normalises x by the image width and y by the height over the *whole* image extent
    (its own drawing utilities take pixel column ``floor(x * W)``), so ``x * W`` is measured from the
    left edge of the image: exactly inhabit's pixel-corner convention, no half-pixel shift.

    Args:
        xy_norm: (..., 2) normalised (x, y); values outside [0, 1] (points beyond the border) are kept.
        width, height: image size in pixels.

    Returns:
        (..., 2) float32 pixels.
    """
    return (np.asarray(xy_norm, dtype=np.float64) * np.array([width, height], dtype=np.float64)).astype(np.float32)


def map_keypoints_by_name(
    xy: np.ndarray,
    conf: np.ndarray,
    source_names: Sequence[str],
    correspondence: Mapping[str, str | tuple[str, float]],
    target_names: Sequence[str] = KEYPOINT_NAMES,
) -> Keypoints2D:
    """Re-express a detector's own named points as ``target_names``.

    Args:
        xy: (N, S, 2) pixels of the S source points.
        conf: (N, S) scores in [0, 1] (clipped).
        source_names: S names of the source points.
        correspondence: target name -> source name, or (source name, factor) to scale the score
            (factor 0 keeps a position but marks it unusable). Targets not listed get xy 0, conf 0.
        target_names: K output names.

    Returns:
        Keypoints2D with (N, K) rows. Non-finite source coordinates get confidence 0.

    Raises:
        KeyError: a correspondence names a source point that is not in ``source_names``.
    """
    xy = np.asarray(xy, dtype=np.float32)
    conf = np.asarray(conf, dtype=np.float32)
    if xy.ndim != 3 or xy.shape[-1] != 2 or conf.shape != xy.shape[:2] or xy.shape[1] != len(source_names):
        raise ValueError(f"map_keypoints_by_name: xy {xy.shape} / conf {conf.shape} do not match "
                         f"{len(source_names)} source names")
    lookup = {n: i for i, n in enumerate(source_names)}
    n = xy.shape[0]
    out_xy = np.zeros((n, len(target_names), 2), np.float32)
    out_conf = np.zeros((n, len(target_names)), np.float32)
    for k, name in enumerate(target_names):
        src = correspondence.get(name)
        if src is None:
            continue
        src_name, factor = (src, 1.0) if isinstance(src, str) else src
        if src_name not in lookup:
            raise KeyError(f"correspondence maps {name!r} to {src_name!r}, which is not a source point name")
        i = lookup[src_name]
        out_xy[:, k] = xy[:, i]
        out_conf[:, k] = np.clip(conf[:, i], 0.0, 1.0) * float(factor)
    bad = ~np.isfinite(out_xy).all(axis=-1)
    out_xy[bad] = 0.0
    out_conf[bad | ~np.isfinite(out_conf)] = 0.0
    return Keypoints2D(out_xy, out_conf, tuple(target_names))


def accept_person(kp: Keypoints2D, min_score: float = 0.25, min_count: int = 13) -> np.ndarray:
    """GenZI's acceptance rule: a row is a credible person when at least ``min_count`` of the 17
    COCO keypoints have ``conf >= min_score`` (foot points are not counted).

    Args:
        kp: N rows; COCO names it lacks count as not found.
        min_score: score threshold (GenZI: 0.25).
        min_count: how many of the 17 must pass (GenZI: 13), 0..17.

    Returns:
        (N,) bool.
    """
    if not 0 <= int(min_count) <= len(COCO17_NAMES):
        raise ValueError(f"min_count must be in 0..{len(COCO17_NAMES)}, got {min_count}")
    cols = [kp.names.index(n) for n in COCO17_NAMES if n in kp.names]
    passed = (kp.conf[:, cols] >= float(min_score)).sum(axis=1) if cols else np.zeros(len(kp), int)
    return passed >= int(min_count)


def check_image(image: object, what: str = "image") -> np.ndarray:
    """An (H, W, 3) uint8 C-contiguous array, or an InputError naming ``what``."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(
            f"{what} has shape {arr.shape} and dtype {arr.dtype}; expected an (H, W, 3) uint8 RGB image "
            f"(convert floats with (img * 255).round().astype(np.uint8), drop alpha with img[..., :3])"
        )
    return np.ascontiguousarray(arr)


def pad_image_to_square(image: np.ndarray) -> np.ndarray:
    """(H, W, C) -> (S, S, C) with S = max(H, W), the original at the top-left and black elsewhere,
    so pixel coordinates of the original are unchanged."""
    h, w = image.shape[:2]
    s = max(h, w)
    out = np.zeros((s, s, *image.shape[2:]), image.dtype)
    out[:h, :w] = image
    return out


# --- BlazePose (mediapipe) ---------------------------------------------------------------------------


class BlazePoseDetector:
    """mediapipe BlazePose (static-image mode) mapped to inhabit's 23 keypoint names.

    One mediapipe graph is created on first use and reused for every image (the first detection
    costs 1-2.5 s of import and graph start-up, later ones ~30 ms at 512² on an idle 2-core CPU).
    The detector finds the single most prominent person (mediapipe's pose detector keeps its top
    detection).

    Confidences: ``conf`` is BlazePose's per-landmark **visibility** by default (the likelihood that
    the point is inside the image *and* not occluded); ``confidence="presence"`` uses presence
    (inside the image, occluded or not) and ``"min"`` the smaller of the two. mediapipe's
    ``Pose.process`` discards presence, so the graph is run through ``SolutionBase.process``.

    Thread safety: calls are serialised by a lock (a mediapipe graph processes one packet stream);
    create one detector per thread for parallel throughput. Use as a context manager or call
    :meth:`close` to free the graph.

    Args:
        min_detection_confidence: person-detector score threshold (mediapipe's, default 0.5).
        model_complexity: must be 1. mediapipe 0.10.21 bundles only the "full" landmark model;
            0 (lite) and 2 (heavy) would be downloaded at run time, which inhabit never does.
        confidence: which mediapipe score becomes ``conf`` (see above).
        min_tracking_confidence: landmark-presence threshold under which mediapipe reports no pose.
        enable_segmentation: also predict BlazePose's person mask (see :meth:`detect_with_masks`).
        pad_to_square: pad non-square images at the right/bottom to a square before detection.
            mediapipe's landmark projection handles a rotated region of interest correctly only in
            square images (it warns "Using NORM_RECT without IMAGE_DIMENSIONS is only supported for
            the square ROI"); padding at the right/bottom leaves pixel coordinates unchanged, and the
            detector letterboxes to a square internally anyway.
    """

    names: tuple[str, ...] = KEYPOINT_NAMES

    def __init__(
        self,
        min_detection_confidence: float = 0.5,
        model_complexity: int = 1,
        confidence: Literal["visibility", "presence", "min"] = "visibility",
        min_tracking_confidence: float = 0.5,
        enable_segmentation: bool = False,
        pad_to_square: bool = True,
    ) -> None:
        if model_complexity != 1:
            raise InputError(
                f"BlazePoseDetector model_complexity={model_complexity} is not available offline: mediapipe "
                "0.10.21 bundles only the 'full' landmark model (model_complexity=1); the lite (0) and heavy (2) "
                "models would be downloaded at run time"
            )
        for field, v in (("min_detection_confidence", min_detection_confidence),
                         ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= float(v) <= 1.0:
                raise InputError(f"BlazePoseDetector {field} must be in [0, 1], got {v}")
        if confidence not in ("visibility", "presence", "min"):
            raise InputError(f"BlazePoseDetector confidence must be 'visibility', 'presence' or 'min', got {confidence!r}")
        self.min_detection_confidence = float(min_detection_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.model_complexity = 1
        self.confidence = confidence
        self.enable_segmentation = bool(enable_segmentation)
        self.pad_to_square = bool(pad_to_square)
        self._graph = None
        self._warm = False
        self._lock = threading.Lock()

    # -- lifecycle
    def _ensure_graph(self):
        if self._graph is None:
            from inhabit.perceive._mediapipe import bundled_model_path, import_mediapipe, quiet_native_stderr

            for key in ("pose_detection", "pose_landmark_full", "pose_landmark_graph"):
                bundled_model_path(key)  # a clear MissingWeightsError before mediapipe tries to download
            mp = import_mediapipe()
            with quiet_native_stderr():
                self._graph = mp.solutions.pose.Pose(
                    static_image_mode=True,
                    model_complexity=1,
                    smooth_landmarks=False,
                    enable_segmentation=self.enable_segmentation,
                    smooth_segmentation=False,
                    min_detection_confidence=self.min_detection_confidence,
                    min_tracking_confidence=self.min_tracking_confidence,
                )
        return self._graph

    def close(self) -> None:
        """Release the mediapipe graph (a later call to :meth:`detect` creates a new one)."""
        with self._lock:
            if self._graph is not None:
                self._graph.close()
                self._graph = None
                self._warm = False

    def __enter__(self) -> BlazePoseDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- detection
    def _process(self, image: np.ndarray):
        graph = self._ensure_graph()  # imports mediapipe quietly before anything else touches it
        from mediapipe.python.solution_base import SolutionBase

        if self._warm:
            return SolutionBase.process(graph, {"image": image})
        from inhabit.perceive._mediapipe import quiet_native_stderr

        # mediapipe logs start-up lines on the first call and once more on the first call that
        # finds a person: stay quiet until then.
        with quiet_native_stderr():
            res = SolutionBase.process(graph, {"image": image})
        self._warm = res.pose_landmarks is not None
        return res

    def detect_landmarks(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        """BlazePose's own output, before mapping.

        Args:
            images: N arrays (H, W, 3) uint8 RGB.

        Returns:
            xy: (N, 33, 2) float32 pixels (pixel-corner origin; 0 where no person),
            visibility: (N, 33) float32, presence: (N, 33) float32 (0 where no person),
            masks: N person masks (H, W) float32 in [0, 1] if ``enable_segmentation`` else N Nones.
        """
        from inhabit.progress import track

        arrays = [check_image(im, f"images[{i}]") for i, im in enumerate(images)]
        n = len(arrays)
        xy = np.zeros((n, 33, 2), np.float32)
        vis = np.zeros((n, 33), np.float32)
        pres = np.zeros((n, 33), np.float32)
        masks: list = [None] * n
        with self._lock:
            it = track(range(n), "BlazePose", total=n) if n > 1 else range(n)
            for i in it:
                img = arrays[i]
                h, w = img.shape[:2]
                if self.pad_to_square and h != w:
                    img = pad_image_to_square(img)
                res = self._process(img)
                lms = res.pose_landmarks
                if lms is not None and len(lms.landmark) == 33:
                    raw = np.array([(p.x, p.y, p.visibility, p.presence) for p in lms.landmark], np.float64)
                    xy[i] = normalized_to_pixels(raw[:, :2], img.shape[1], img.shape[0])
                    vis[i] = np.clip(raw[:, 2], 0.0, 1.0)
                    pres[i] = np.clip(raw[:, 3], 0.0, 1.0)
                if self.enable_segmentation:
                    m = getattr(res, "segmentation_mask", None)
                    masks[i] = (np.clip(np.asarray(m, np.float32)[:h, :w], 0.0, 1.0) if m is not None
                                else np.zeros((h, w), np.float32))
        return xy, vis, pres, masks

    def _to_keypoints(self, xy: np.ndarray, vis: np.ndarray, pres: np.ndarray) -> Keypoints2D:
        score = {"visibility": vis, "presence": pres, "min": np.minimum(vis, pres)}[self.confidence]
        return map_keypoints_by_name(xy, score, BLAZEPOSE_LANDMARK_NAMES, BLAZEPOSE_TO_KEYPOINTS)

    def detect(self, images: Sequence[np.ndarray]) -> Keypoints2D:
        """images: N arrays (H, W, 3) uint8 RGB -> Keypoints2D (N, 23) (see the class docstring)."""
        xy, vis, pres, _ = self.detect_landmarks(images)
        return self._to_keypoints(xy, vis, pres)

    def detect_with_masks(self, images: Sequence[np.ndarray]) -> tuple[Keypoints2D, list[np.ndarray]]:
        """Keypoints and BlazePose's person mask (H, W) float32 in [0, 1] per image (zeros where no
        person). Needs ``enable_segmentation=True``."""
        if not self.enable_segmentation:
            raise InputError("BlazePoseDetector.detect_with_masks needs enable_segmentation=True")
        xy, vis, pres, masks = self.detect_landmarks(images)
        return self._to_keypoints(xy, vis, pres), masks


def doctor_status() -> list[WeightStatus]:
    """The default detector's status for ``inhabit doctor`` (not optional: it is the default)."""
    from inhabit.perceive._mediapipe import (
        BUNDLED_MODELS,
        INSTALL_HINT,
        MEDIAPIPE_VERSION,
        installed_version,
        package_dir,
    )

    version = installed_version()
    root = package_dir()
    keys = ("pose_detection", "pose_landmark_full", "pose_landmark_graph")
    component = f"2D keypoints: BlazePose full (mediapipe {version or 'not installed'})"
    model_id = f"mediapipe=={MEDIAPIPE_VERSION}: pose_detection.tflite + pose_landmark_full.tflite"
    if root is None:
        return [WeightStatus(component, model_id, False, "mediapipe package not installed", INSTALL_HINT, False)]
    missing = [BUNDLED_MODELS[k] for k in keys if not (root / BUNDLED_MODELS[k]).is_file()]
    if missing:
        return [WeightStatus(component, model_id, False, f"{root} lacks {', '.join(missing)}", INSTALL_HINT, False)]
    return [WeightStatus(component, model_id, True, str(root / "modules" / "pose_landmark"), "bundled in the wheel", False)]
