"""The ``result.npz`` / ``motion.npz`` interchange formats: one validated writer and reader each.

``result.npz`` holds one posed body in the world frame (+Z up, metres); ``motion.npz`` holds a body
sequence with a leading frame axis, plus the camera and the object's pose per frame. Other tools
read and write these files, so every key, shape and dtype is fixed here and checked on both ends.

=====================  ================  =====================================================
key                    result.npz        motion.npz
=====================  ================  =====================================================
``format``             ``"inhabit.result/1"``  ``"inhabit.motion/1"``
``vertices``           (V, 3) float32    (T, V, 3) float32, world frame, metres
``faces``              (F, 3) int32      (F, 3) int32 (shared by all frames)
``joints``             (J, 3) float32    (T, J, 3); J = 22 SMPL-X body joints for inhabit bodies
``joint_names``        (J,) str          (J,) str
``keypoints``          (K, 3) float32    (T, K, 3); K = 23 (COCO-17 + 6 foot points)
``keypoint_names``     (K,) str          (K,) str
``body_model``         () str            () str, e.g. ``"anny"``, ``"smplx"``
``params/<name>``      (D,) float        (T, D) float: the backend's own parameters
``body_pose_smplx``    (21, 3) optional  (T, 21, 3) optional: the pose as SMPL-X-style axis-angles
``view_weights``       (k,) optional     (k,) optional: learned weight of each view
``fps``                --                () float > 0, required
``T_world_cam``        --                (T, 4, 4) optional (with ``K``): camera pose per frame
``K``                  --                (3, 3) optional (with ``T_world_cam``): intrinsics, pixels
``object_pose``        --                (T, 4, 4) optional: ``T_world_object`` per frame
``object_vertices``    --                (N, 3) optional: object mesh in the *object* frame
``object_faces``       --                (M, 3) optional (with ``object_vertices``)
``extra/<name>``       any               any: free-form annotations (prompt, stage, seed ...)
=====================  ================  =====================================================

``body_pose_smplx`` is the body pose as SMPL-X-equivalent local axis-angles of the 21 body joints
(``BODY_JOINT_NAMES[1:]``); it makes pose-space metrics (GenZI's k-means diversity) computable for
every backend without loading the model again. Rigid transforms must be rotations + translations
(checked to 1e-3). Files are written atomically and read with ``allow_pickle=False``: an object
array is an error, never executed.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.conventions import BODY_JOINT_NAMES, KEYPOINT_NAMES
from inhabit.errors import InputError
from inhabit.io import write_npz

RESULT_FORMAT = "inhabit.result/1"
MOTION_FORMAT = "inhabit.motion/1"
SMPLX_POSE_SHAPE = (21, 3)
_RIGID_TOL = 1e-3


# --------------------------------------------------------------------------------------------
# In-memory records


@dataclass
class BodyResult:
    """One posed body, as stored in ``result.npz`` (see the module docstring for the keys).

    Attributes:
        vertices: (V, 3) float32 world positions, metres.
        faces: (F, 3) int32.
        joints: (J, 3) float32, named by ``joint_names``.
        keypoints: (K, 3) float32, named by ``keypoint_names``.
        body_model: backend name (``"anny"``, ``"smplx"``, or another tool's name).
        params: the backend's own parameters, each (D,).
        view_weights: (k,) or None.
        body_pose_smplx: (21, 3) SMPL-X-style axis-angles or None.
        extra: free-form annotations.
        path: the file it was read from (None when built in memory).
    """

    vertices: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    keypoints: np.ndarray
    body_model: str
    joint_names: tuple[str, ...] = BODY_JOINT_NAMES
    keypoint_names: tuple[str, ...] = KEYPOINT_NAMES
    params: dict[str, np.ndarray] = field(default_factory=dict)
    view_weights: np.ndarray | None = None
    body_pose_smplx: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def joint(self, name: str) -> np.ndarray:
        """(3,) position of the joint called ``name``; KeyError naming it when absent."""
        return self.joints[_name_index(self.joint_names, name, "joint")]

    def body_params(self):
        """The stored parameters as a batch-1 :class:`inhabit.body.protocol.BodyParams` (torch)."""
        return _to_body_params(self.params, batch_axis=False, path=self.path)


@dataclass
class MotionResult:
    """A body sequence, as stored in ``motion.npz`` (see the module docstring for the keys).

    Attributes:
        vertices: (T, V, 3); faces: (F, 3); joints: (T, J, 3); keypoints: (T, K, 3).
        fps: frames per second of the sequence.
        T_world_cam: (T, 4, 4) camera pose per frame or None; K: (3, 3) or None.
        object_pose: (T, 4, 4) ``T_world_object`` or None.
        object_vertices: (N, 3) object mesh in its own frame or None; object_faces: (M, 3) or None.
        params: each (T, D). body_pose_smplx: (T, 21, 3) or None.
    """

    vertices: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    keypoints: np.ndarray
    body_model: str
    fps: float
    joint_names: tuple[str, ...] = BODY_JOINT_NAMES
    keypoint_names: tuple[str, ...] = KEYPOINT_NAMES
    params: dict[str, np.ndarray] = field(default_factory=dict)
    T_world_cam: np.ndarray | None = None
    K: np.ndarray | None = None
    object_pose: np.ndarray | None = None
    object_vertices: np.ndarray | None = None
    object_faces: np.ndarray | None = None
    body_pose_smplx: np.ndarray | None = None
    view_weights: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def num_frames(self) -> int:
        return int(self.vertices.shape[0])

    def joint(self, name: str) -> np.ndarray:
        """(T, 3) trajectory of the joint called ``name``."""
        return self.joints[:, _name_index(self.joint_names, name, "joint")]

    def object_vertices_world(self) -> np.ndarray | None:
        """(T, N, 3) object vertices in the world, or None when the file has no object mesh."""
        if self.object_vertices is None:
            return None
        pose = self.object_pose if self.object_pose is not None else np.broadcast_to(np.eye(4), (self.num_frames, 4, 4))
        return np.einsum("tij,nj->tni", pose[:, :3, :3], self.object_vertices) + pose[:, None, :3, 3]

    def body_params(self):
        """The stored parameters as a batch-T :class:`inhabit.body.protocol.BodyParams` (torch)."""
        return _to_body_params(self.params, batch_axis=True, path=self.path)


# --------------------------------------------------------------------------------------------
# Writers


def save_result(
    path: str | Path,
    body: Any,
    params: Any = None,
    body_model: Any = "anny",
    view_weights: Any = None,
    body_pose_smplx: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write one posed body to ``result.npz`` (atomically) and return the path.

    Args:
        path: output file (``.npz``).
        body: a :class:`~inhabit.body.protocol.BodyOutput` with batch size 1, a :class:`BodyResult`,
            or a mapping with ``vertices (V,3)``, ``faces (F,3)``, ``joints (J,3)``, ``keypoints (K,3)``
            and optionally ``joint_names``/``keypoint_names`` (default: the inhabit conventions).
            A leading batch axis of size 1 is dropped.
        params: :class:`~inhabit.body.protocol.BodyParams` (batch 1) or a mapping name -> (D,) array.
        body_model: the backend name, or the :class:`~inhabit.body.protocol.BodyModel` itself; with a
            model and ``BodyParams``, ``body_pose_smplx`` is computed through
            ``body_pose_to_smplx_rotvec`` unless given.
        view_weights: (k,) weight of each view used by the fit, or None.
        body_pose_smplx: (21, 3) SMPL-X-style axis-angles, or None.
        extra: annotations stored under ``extra/<name>`` (strings, numbers, arrays).

    Raises:
        InputError: naming the key whose value has the wrong shape or is not finite.
    """
    path = Path(path)
    arrays = _body_arrays(body, path, batched=False)
    name, smplx_pose = _model_name_and_pose(body_model, params, body_pose_smplx, batched=False)
    arrays["format"] = np.array(RESULT_FORMAT)
    arrays["body_model"] = np.array(name)
    arrays.update(_param_arrays(params, path, batched=False))
    if smplx_pose is not None:
        arrays["body_pose_smplx"] = np.asarray(smplx_pose, np.float32).reshape(SMPLX_POSE_SHAPE)
    if view_weights is not None:
        arrays["view_weights"] = _np(view_weights).astype(np.float32).reshape(-1)
    arrays.update(_extra_arrays(extra, path))
    validate_result_arrays(arrays, path)
    return write_npz(path, **arrays)


def save_motion(
    path: str | Path,
    body: Any,
    fps: float,
    params: Any = None,
    body_model: Any = "anny",
    T_world_cam: Any = None,
    K: Any = None,
    object_pose: Any = None,
    object_vertices: Any = None,
    object_faces: Any = None,
    body_pose_smplx: Any = None,
    view_weights: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a body sequence to ``motion.npz`` (atomically) and return the path.

    Args:
        path: output file (``.npz``).
        body: a :class:`~inhabit.body.protocol.BodyOutput` whose batch axis is the frame axis (T),
            a :class:`MotionResult`, or a mapping with ``vertices (T,V,3)``, ``faces (F,3)``,
            ``joints (T,J,3)``, ``keypoints (T,K,3)`` (+ optional names).
        fps: frames per second (> 0).
        params: ``BodyParams`` with batch T, or a mapping name -> (T, D).
        body_model: backend name or the ``BodyModel`` (then ``body_pose_smplx`` is computed).
        T_world_cam: (T, 4, 4) camera pose per frame, given together with ``K`` (3, 3).
        object_pose: (T, 4, 4) ``T_world_object`` per frame, or None.
        object_vertices, object_faces: the object mesh in its own frame, (N, 3) and (M, 3).
        body_pose_smplx: (T, 21, 3) or None.
        view_weights: optional (k,).
        extra: annotations stored under ``extra/<name>``.

    Raises:
        InputError: naming the key whose value is missing, misshaped or not finite.
    """
    path = Path(path)
    arrays = _body_arrays(body, path, batched=True)
    name, smplx_pose = _model_name_and_pose(body_model, params, body_pose_smplx, batched=True)
    arrays["format"] = np.array(MOTION_FORMAT)
    arrays["body_model"] = np.array(name)
    arrays["fps"] = np.array(float(fps), np.float64)
    arrays.update(_param_arrays(params, path, batched=True))
    if smplx_pose is not None:
        arrays["body_pose_smplx"] = np.asarray(smplx_pose, np.float32).reshape(-1, *SMPLX_POSE_SHAPE)
    for key, value, dtype in (
        ("T_world_cam", T_world_cam, np.float64),
        ("K", K, np.float64),
        ("object_pose", object_pose, np.float64),
        ("object_vertices", object_vertices, np.float32),
        ("object_faces", object_faces, np.int32),
        ("view_weights", view_weights, np.float32),
    ):
        if value is not None:
            arrays[key] = _np(value).astype(dtype)
    arrays.update(_extra_arrays(extra, path))
    validate_motion_arrays(arrays, path)
    return write_npz(path, **arrays)


# --------------------------------------------------------------------------------------------
# Readers


def load_result(path: str | Path) -> BodyResult:
    """Read and validate a ``result.npz``.

    Raises:
        InputError: the file is missing or unreadable, or a key is missing or misshaped (the
            sentence names the file and the key).
    """
    path = Path(path)
    arrays = read_npz_arrays(path)
    fmt = _str(arrays.get("format", RESULT_FORMAT))
    if fmt == MOTION_FORMAT:
        raise InputError(f"{path} is a motion file ({MOTION_FORMAT}); read it with load_motion, not load_result")
    validate_result_arrays(arrays, path)
    return BodyResult(
        vertices=arrays["vertices"].astype(np.float32),
        faces=arrays["faces"].astype(np.int64),
        joints=arrays["joints"].astype(np.float32),
        keypoints=arrays["keypoints"].astype(np.float32),
        body_model=_str(arrays["body_model"]),
        joint_names=_names(arrays["joint_names"]),
        keypoint_names=_names(arrays["keypoint_names"]),
        params={k[len("params/"):]: v for k, v in arrays.items() if k.startswith("params/")},
        view_weights=arrays.get("view_weights"),
        body_pose_smplx=arrays.get("body_pose_smplx"),
        extra=_extra_from_arrays(arrays),
        path=path,
    )


def load_motion(path: str | Path) -> MotionResult:
    """Read and validate a ``motion.npz``.

    Raises:
        InputError: the file is missing or unreadable, or a key is missing or misshaped.
    """
    path = Path(path)
    arrays = read_npz_arrays(path)
    fmt = _str(arrays.get("format", MOTION_FORMAT))
    if fmt == RESULT_FORMAT:
        raise InputError(f"{path} is a single-body result ({RESULT_FORMAT}); read it with load_result, not load_motion")
    validate_motion_arrays(arrays, path)
    return MotionResult(
        vertices=arrays["vertices"].astype(np.float32),
        faces=arrays["faces"].astype(np.int64),
        joints=arrays["joints"].astype(np.float32),
        keypoints=arrays["keypoints"].astype(np.float32),
        body_model=_str(arrays["body_model"]),
        fps=float(arrays["fps"]),
        joint_names=_names(arrays["joint_names"]),
        keypoint_names=_names(arrays["keypoint_names"]),
        params={k[len("params/"):]: v for k, v in arrays.items() if k.startswith("params/")},
        T_world_cam=arrays.get("T_world_cam"),
        K=arrays.get("K"),
        object_pose=arrays.get("object_pose"),
        object_vertices=arrays.get("object_vertices"),
        object_faces=None if arrays.get("object_faces") is None else arrays["object_faces"].astype(np.int64),
        body_pose_smplx=arrays.get("body_pose_smplx"),
        view_weights=arrays.get("view_weights"),
        extra=_extra_from_arrays(arrays),
        path=path,
    )


def result_kind(path: str | Path) -> str | None:
    """``"result"``, ``"motion"`` or None: which inhabit format an ``.npz`` file claims to be.

    Files without a ``format`` key are recognised by their keys (``fps`` and a frame axis make a
    motion). Nothing is validated here; a file that is not an npz archive gives None.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            if "format" in keys:
                fmt = _str(z["format"])
                return {RESULT_FORMAT: "result", MOTION_FORMAT: "motion"}.get(fmt)
            if {"vertices", "faces", "joints", "body_model"} <= keys:
                return "motion" if "fps" in keys and z["vertices"].ndim == 3 else "result"
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return None
    return None


def read_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read without pickle; InputError for a missing/broken file."""
    if not path.is_file():
        raise InputError(f"result file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {}
            for k in z.files:
                try:
                    out[k] = z[k]
                except ValueError:
                    raise InputError(
                        f"{path}: key {k!r} holds Python objects (a pickle), which inhabit does not load from .npz files"
                    ) from None
            return out
    except InputError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise InputError(f"result file {path} could not be read as an .npz archive ({type(e).__name__}: {e})") from None


# --------------------------------------------------------------------------------------------
# Validation (shared by writers and readers)


def validate_result_arrays(arrays: Mapping[str, np.ndarray], path: Path | str) -> None:
    """Check the keys of a ``result.npz`` (see the module table); InputError naming the key at fault."""
    v = _Validator(arrays, path)
    v.require("vertices", ("V", 3), float_=True)
    v.require("faces", ("F", 3), int_=True)
    v.require("joints", ("J", 3), float_=True)
    v.require("joint_names", ("J",), str_=True)
    v.require("keypoints", ("K", 3), float_=True)
    v.require("keypoint_names", ("K",), str_=True)
    v.require("body_model", (), str_=True)
    v.optional("body_pose_smplx", SMPLX_POSE_SHAPE, float_=True)
    v.optional("view_weights", ("k",), float_=True)
    for key in arrays:
        if key.startswith("params/"):
            v.require(key, None, float_=True)
    v.faces_in_range("faces", "V")
    v.unique_names("joint_names")
    v.unique_names("keypoint_names")


def validate_motion_arrays(arrays: Mapping[str, np.ndarray], path: Path | str) -> None:
    """Check the keys of a ``motion.npz`` (see the module table); InputError naming the key at fault."""
    v = _Validator(arrays, path)
    v.require("vertices", ("T", "V", 3), float_=True)
    v.require("faces", ("F", 3), int_=True)
    v.require("joints", ("T", "J", 3), float_=True)
    v.require("joint_names", ("J",), str_=True)
    v.require("keypoints", ("T", "K", 3), float_=True)
    v.require("keypoint_names", ("K",), str_=True)
    v.require("body_model", (), str_=True)
    v.require("fps", (), float_=True)
    if not float(arrays["fps"]) > 0:
        raise InputError(f"{path}: 'fps' is {float(arrays['fps'])}, expected a positive number of frames per second")
    if ("T_world_cam" in arrays) != ("K" in arrays):
        have, miss = ("T_world_cam", "K") if "T_world_cam" in arrays else ("K", "T_world_cam")
        raise InputError(f"{path}: has {have!r} but not {miss!r}; the camera needs both (T_world_cam (T,4,4) and K (3,3))")
    v.optional("T_world_cam", ("T", 4, 4), float_=True, rigid=True)
    v.optional("K", (3, 3), float_=True, intrinsics=True)
    v.optional("object_pose", ("T", 4, 4), float_=True, rigid=True)
    if ("object_vertices" in arrays) != ("object_faces" in arrays):
        have, miss = ("object_vertices", "object_faces") if "object_vertices" in arrays else ("object_faces", "object_vertices")
        raise InputError(f"{path}: has {have!r} but not {miss!r}; the object mesh needs both")
    v.optional("object_vertices", ("N", 3), float_=True)
    v.optional("object_faces", ("M", 3), int_=True)
    v.faces_in_range("object_faces", "N")
    v.optional("body_pose_smplx", ("T", *SMPLX_POSE_SHAPE), float_=True)
    v.optional("view_weights", ("k",), float_=True)
    for key in arrays:
        if key.startswith("params/"):
            v.require(key, ("T", None), float_=True, min_ndim=1)
    v.faces_in_range("faces", "V")
    v.unique_names("joint_names")
    v.unique_names("keypoint_names")


class _Validator:
    """Shape checks with named dimensions bound on first use (``T`` must agree across keys)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], path: Path | str) -> None:
        self.arrays = arrays
        self.path = path
        self.dims: dict[str, tuple[int, str]] = {}

    def require(self, key, spec, float_=False, int_=False, str_=False, rigid=False, intrinsics=False, min_ndim=0):
        if key not in self.arrays:
            raise InputError(f"{self.path}: required key {key!r} is missing (expected {_spec_text(spec)})")
        self._check(key, np.asarray(self.arrays[key]), spec, float_, int_, str_, rigid, intrinsics, min_ndim)

    def optional(self, key, spec, **kw):
        if key in self.arrays:
            self.require(key, spec, **kw)

    def _check(self, key, a, spec, float_, int_, str_, rigid, intrinsics, min_ndim):
        if a.dtype == object:
            raise InputError(f"{self.path}: key {key!r} holds Python objects, expected a numeric or string array")
        if str_ and a.dtype.kind not in "US":
            raise InputError(f"{self.path}: key {key!r} has dtype {a.dtype}, expected strings")
        if (float_ or int_) and a.dtype.kind not in "fiub":
            raise InputError(f"{self.path}: key {key!r} has dtype {a.dtype}, expected numbers")
        if int_ and a.dtype.kind == "f" and a.size and not np.all(a == np.round(a)):
            raise InputError(f"{self.path}: key {key!r} holds non-integer values, expected vertex indices")
        if a.ndim < min_ndim:
            raise InputError(f"{self.path}: key {key!r} has shape {a.shape}, expected {_spec_text(spec)}")
        if spec is not None:
            ok = a.ndim == len(spec) if None not in spec else a.ndim >= len(spec) - 1
            if ok:
                for i, s in enumerate(spec):
                    if s is None:
                        break
                    n = a.shape[i]
                    if isinstance(s, int):
                        ok = ok and n == s
                    elif s in self.dims and self.dims[s][0] != n:
                        first_n, first_key = self.dims[s]
                        raise InputError(
                            f"{self.path}: key {key!r} has shape {a.shape}, expected {_spec_text(spec)} with "
                            f"{s} = {first_n} as in {first_key!r}"
                        )
                    else:
                        self.dims.setdefault(s, (n, key))
            if not ok:
                raise InputError(f"{self.path}: key {key!r} has shape {a.shape}, expected {_spec_text(spec)}")
        if (float_ or int_) and a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise InputError(f"{self.path}: key {key!r} contains NaN or infinite values")
        if rigid:
            _check_rigid(a, key, self.path)
        if intrinsics and not (a[2, 0] == 0 and a[2, 1] == 0 and a[2, 2] == 1 and a[0, 0] > 0 and a[1, 1] > 0):
            raise InputError(f"{self.path}: key {key!r} is not a pinhole intrinsics matrix (positive fx, fy; last row 0 0 1)")

    def faces_in_range(self, key, dim):
        if key not in self.arrays or dim not in self.dims:
            return
        f = np.asarray(self.arrays[key])
        n = self.dims[dim][0]
        if f.size and (f.min() < 0 or f.max() >= n):
            raise InputError(
                f"{self.path}: key {key!r} indexes vertices {int(f.min())}..{int(f.max())}, expected 0..{n - 1}"
            )

    def unique_names(self, key):
        names = [str(n) for n in np.asarray(self.arrays[key]).reshape(-1)]
        if len(set(names)) != len(names):
            raise InputError(f"{self.path}: key {key!r} repeats a name, expected unique names")


def _check_rigid(T: np.ndarray, key: str, path) -> None:
    T = np.asarray(T, np.float64)
    R = T[..., :3, :3]
    err_orth = np.abs(np.swapaxes(R, -1, -2) @ R - np.eye(3)).max(initial=0.0)
    det = np.linalg.det(R) if R.size else np.ones(1)
    bottom = np.abs(T[..., 3, :] - np.array([0.0, 0.0, 0.0, 1.0])).max(initial=0.0)
    if err_orth > _RIGID_TOL or np.any(det < 0) or bottom > _RIGID_TOL:
        raise InputError(
            f"{path}: key {key!r} is not a rigid transform per frame (rotation + translation, last row 0 0 0 1)"
        )


def _spec_text(spec) -> str:
    if spec is None:
        return "an array"
    parts = ["..." if s is None else str(s) for s in spec]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")" if parts else "a scalar"


# --------------------------------------------------------------------------------------------
# Conversion helpers


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _str(a: Any) -> str:
    return str(np.asarray(a).reshape(-1)[0]) if np.asarray(a).size else ""


def _names(a: Any) -> tuple[str, ...]:
    return tuple(str(n) for n in np.asarray(a).reshape(-1))


def _name_index(names: tuple[str, ...], name: str, what: str) -> int:
    try:
        return names.index(name)
    except ValueError:
        raise KeyError(f"{what} {name!r} is not among {names}") from None


def _body_arrays(body: Any, path: Path, batched: bool) -> dict[str, np.ndarray]:
    if isinstance(body, BodyResult | MotionResult):
        src = {f.name: getattr(body, f.name) for f in fields(body)}
    elif isinstance(body, Mapping):
        src = dict(body)
    elif hasattr(body, "vertices") and hasattr(body, "faces"):  # BodyOutput, duck-typed (no body import)
        src = {k: getattr(body, k) for k in ("vertices", "faces", "joints", "keypoints", "joint_names",
                                             "keypoint_names") if hasattr(body, k)}
    else:
        raise TypeError(f"cannot write a body of type {type(body).__name__}; pass a BodyOutput or a dict of arrays")
    out: dict[str, np.ndarray] = {}
    for key in ("vertices", "joints", "keypoints"):
        if src.get(key) is None:
            raise InputError(f"{path}: the body to write has no {key!r}")
        a = _np(src[key]).astype(np.float32)
        want = 3 if batched else 2
        if a.ndim == want + 1 and a.shape[0] == 1 and not batched:
            a = a[0]
        out[key] = a
    if src.get("faces") is None:
        raise InputError(f"{path}: the body to write has no 'faces'")
    out["faces"] = _np(src["faces"]).astype(np.int32)
    for key, default in (("joint_names", BODY_JOINT_NAMES), ("keypoint_names", KEYPOINT_NAMES)):
        names = src.get(key)
        out[key] = np.array([str(n) for n in (default if names is None else np.asarray(names).reshape(-1))], dtype=str)
    return out


def _model_name_and_pose(body_model: Any, params: Any, body_pose_smplx: Any, batched: bool):
    if isinstance(body_model, str):
        name = body_model
    elif hasattr(body_model, "name"):
        name = str(body_model.name)
    else:
        raise TypeError("body_model must be a backend name or a BodyModel")
    pose = None if body_pose_smplx is None else _np(body_pose_smplx)
    if pose is None and not isinstance(body_model, str) and hasattr(params, "body_pose") \
            and hasattr(body_model, "body_pose_to_smplx_rotvec"):
        import torch

        with torch.no_grad():
            pose = _np(body_model.body_pose_to_smplx_rotvec(params.body_pose))
    if pose is not None and not batched and pose.ndim == 3 and pose.shape[0] == 1:
        pose = pose[0]
    return name, pose


def _param_arrays(params: Any, path: Path, batched: bool) -> dict[str, np.ndarray]:
    if params is None:
        return {}
    if isinstance(params, Mapping):
        items = dict(params)
    elif hasattr(params, "as_dict"):
        items = params.as_dict()
    else:
        raise TypeError(f"cannot write parameters of type {type(params).__name__}; pass BodyParams or a dict")
    out = {}
    for k, v in items.items():
        a = _np(v).astype(np.float32)
        if not batched and a.ndim >= 2 and a.shape[0] == 1:
            a = a[0]
        out[f"params/{k}"] = a
    return out


def _extra_arrays(extra: Mapping[str, Any] | None, path: Path) -> dict[str, np.ndarray]:
    out = {}
    for k, v in (extra or {}).items():
        a = _np(v) if not isinstance(v, str | Path) else np.array(str(v))
        if a.dtype == object:
            raise InputError(f"{path}: extra[{k!r}] is a {type(v).__name__}, expected a string, a number or an array")
        out[f"extra/{k}"] = a
    return out


def _extra_from_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in arrays.items():
        if k.startswith("extra/"):
            if v.ndim == 0:
                out[k[len("extra/"):]] = v.item()
            else:
                out[k[len("extra/"):]] = v
    return out


def _to_body_params(params: dict[str, np.ndarray], batch_axis: bool, path: Path | None):
    import torch

    from inhabit.body.protocol import BodyParams

    names = ("global_orient", "transl", "body_pose", "shape")
    missing = [n for n in names if n not in params]
    if missing:
        raise InputError(f"{path}: has no 'params/{missing[0]}', so it cannot be turned back into BodyParams")
    t = {n: torch.as_tensor(np.asarray(params[n], np.float32)) for n in names}
    if not batch_axis:
        t = {n: v.reshape(1, -1) for n, v in t.items()}
    return BodyParams(**t)
