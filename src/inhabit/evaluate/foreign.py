"""Bodies written by other tools, normalised so the same metric code scores them.

Accepted inputs (``read_foreign``):

* GenZI's ``smplx.pkl`` (a dict of numpy arrays: ``vertices (10475,3)``, ``joints (127,3)``,
  ``faces``, ``transl``, ``global_orient``, ``betas``, ``body_pose (1,63)``, hand PCA poses, metadata
  strings such as ``prompt``/``scene_name``). Pickles can run code when loaded, so reading one needs
  ``allow_pickle=True`` (``inhabit eval --allow-pickle``) and emits a warning.
* SMPL-X parameter ``.npz`` files as written by reference implementations, single bodies or per-frame
  sequences: ``transl``/``trans``, ``global_orient``/``root_orient``, ``body_pose``/``pose_body``,
  ``betas``, optional hand/jaw/eye poses and ``expression``, or AMASS-style ``poses (T,165)``;
  a frame rate under ``fps``/``mocap_framerate``/``mocap_frame_rate``. Without ``vertices`` the
  parameters go through the SMPL-X model (the user's model files, :func:`smplx_forward`).
* Plain vertex arrays: an ``.npy`` file (V,3) or (T,V,3), or an ``.npz`` with only ``vertices``.

A leading axis longer than 1 is read as frames (a motion); a single body is a pose result.
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.errors import InputError

PICKLE_WARNING = (
    "loading the pickle {path}: pickles can run arbitrary code when loaded; only do this for files you trust"
)

_ALIASES: dict[str, tuple[str, ...]] = {
    "vertices": ("vertices", "verts", "vertex", "v"),
    "faces": ("faces", "f", "triangles"),
    "joints": ("joints", "jtr", "joints3d", "joint_positions"),
    "transl": ("transl", "trans", "translation"),
    "global_orient": ("global_orient", "root_orient", "global_orientation"),
    "body_pose": ("body_pose", "pose_body"),
    "betas": ("betas", "shape"),
    "left_hand_pose": ("left_hand_pose", "pose_hand_left", "lhand_pose"),
    "right_hand_pose": ("right_hand_pose", "pose_hand_right", "rhand_pose"),
    "jaw_pose": ("jaw_pose", "pose_jaw"),
    "leye_pose": ("leye_pose",),
    "reye_pose": ("reye_pose",),
    "expression": ("expression", "expr"),
}
_FPS_KEYS = ("fps", "mocap_framerate", "mocap_frame_rate", "frame_rate", "framerate")
_META_KEYS = ("prompt", "prompt_id", "scene_name", "interaction", "gender", "prompt_prefix", "neg_prompt")


@dataclass
class ForeignBodies:
    """Bodies from another tool, with a leading axis N (results or frames).

    Attributes:
        source: the file.
        is_sequence: True when the N bodies are frames of one motion.
        vertices: (N, V, 3) world vertices or None (then ``smplx_params`` must be given).
        faces: (F, 3) or None.
        joints: (N, 22, 3) SMPL-X body joints or None.
        smplx_params: SMPL-X parameters, each (N, D) (axis-angle poses), or empty.
        body_pose_smplx: (N, 21, 3) or None.
        fps: frame rate when the file states one.
        meta: strings found in the file (prompt, scene name, gender ...).
    """

    source: Path
    is_sequence: bool
    vertices: np.ndarray | None = None
    faces: np.ndarray | None = None
    joints: np.ndarray | None = None
    smplx_params: dict[str, np.ndarray] = field(default_factory=dict)
    body_pose_smplx: np.ndarray | None = None
    fps: float | None = None
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def count(self) -> int:
        if self.vertices is not None:
            return int(self.vertices.shape[0])
        return int(next(iter(self.smplx_params.values())).shape[0])


def load_mapping(path: Path, allow_pickle: bool = False) -> dict[str, Any]:
    """The key -> value mapping of an ``.npz``, ``.npy`` or (opt-in) ``.pkl`` file.

    Raises:
        InputError: a missing or unreadable file, or a pickle without ``allow_pickle`` (the sentence
            explains ``--allow-pickle``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"body file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".pkl", ".pickle"):
        if not allow_pickle:
            raise InputError(
                f"{path} is a Python pickle, which can run arbitrary code when loaded; if you trust the file, "
                f"pass --allow-pickle (or convert it to .npz) to evaluate it"
            )
        warnings.warn(PICKLE_WARNING.format(path=path), UserWarning, stacklevel=2)
        import pickle

        try:
            with open(path, "rb") as fh:
                obj = pickle.load(fh, encoding="latin1")  # the user opted in (allow_pickle)
        except Exception as e:
            raise InputError(f"{path} could not be unpickled ({type(e).__name__}: {e})") from None
        if isinstance(obj, list | tuple) and obj and all(isinstance(o, dict) for o in obj):
            return _stack_frames(obj, path)  # one dict per frame (per-frame SMPL-X parameters)
        if not isinstance(obj, dict):
            raise InputError(f"{path} holds a {type(obj).__name__}, expected a dict of SMPL-X arrays")
        return dict(obj)
    if suffix == ".npy":
        try:
            return {"vertices": np.load(path, allow_pickle=False)}
        except (OSError, ValueError) as e:
            raise InputError(f"{path} could not be read as a numeric .npy array ({e})") from None
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=allow_pickle) as z:
                return {k: z[k] for k in z.files}
        except ValueError as e:
            if "allow_pickle" in str(e):
                raise InputError(
                    f"{path} stores Python objects (pickled arrays), which can run code when loaded; if you trust "
                    f"the file, pass --allow-pickle to evaluate it"
                ) from None
            raise InputError(f"{path} could not be read as an .npz archive ({e})") from None
        except (OSError, zipfile.BadZipFile, EOFError) as e:
            raise InputError(f"{path} could not be read as an .npz archive ({type(e).__name__}: {e})") from None
    raise InputError(f"{path} has an unsupported extension; expected .npz, .npy or .pkl")


def _stack_frames(frames: list[dict], path: Path) -> dict[str, Any]:
    """A list of per-frame dicts -> one dict of (T, ...) arrays (strings taken from the first frame)."""
    keys = set(frames[0])
    out: dict[str, Any] = {}
    for k in keys:
        vals = [_to_np(f.get(k)) for f in frames]
        if any(v is None for v in vals):
            raise InputError(f"{path}: per-frame key {k!r} is missing in some frames")
        if isinstance(vals[0], str):
            out[k] = vals[0]
            continue
        arrs = [np.asarray(v) for v in vals]
        if any(a.shape != arrs[0].shape for a in arrs):
            raise InputError(f"{path}: per-frame key {k!r} changes shape between frames")
        # a per-frame array may carry a batch axis of 1 ((1, 63), (1, V, 3)): drop it, then stack
        out[k] = np.stack([a[0] if a.ndim >= 2 and a.shape[0] == 1 else a for a in arrs])
    return out


def _to_np(v: Any) -> Any:
    if hasattr(v, "detach"):
        return v.detach().cpu().numpy()
    return v


def _lookup(d: dict[str, Any], name: str) -> Any:
    for alias in _ALIASES[name]:
        if alias in d and d[alias] is not None:
            return d[alias]
    return None


def _numeric(v: Any, path: Path, key: str) -> np.ndarray:
    a = np.asarray(_to_np(v))
    if a.dtype == object or a.dtype.kind not in "fiub":
        raise InputError(f"{path}: key {key!r} has dtype {a.dtype}, expected numbers")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{path}: key {key!r} contains NaN or infinite values")
    return a


def parse_foreign(d: dict[str, Any], path: Path, fps: float | None = None) -> ForeignBodies:
    """Normalise another tool's mapping of arrays (see the module docstring) into :class:`ForeignBodies`.

    Raises:
        InputError: naming the file and the key that is missing or misshaped.
    """
    path = Path(path)
    d = {str(k): _to_np(v) for k, v in d.items()}
    for nested in ("smplx", "smplx_params", "smpl_params", "params"):
        if isinstance(d.get(nested), dict):
            d = {**{str(k): _to_np(v) for k, v in d[nested].items()}, **{k: v for k, v in d.items() if k != nested}}
    meta = {}
    for k in _META_KEYS:
        if k in d:
            a = np.asarray(d[k])
            if a.dtype.kind in "US" or isinstance(d[k], str):
                meta[k] = str(a.reshape(-1)[0]) if a.size else ""
    for k in _FPS_KEYS:
        if k in d and fps is None:
            fps = float(np.asarray(d[k]).reshape(-1)[0])
    out = ForeignBodies(source=path, is_sequence=False, fps=fps, meta=meta)

    verts = _lookup(d, "vertices")
    if verts is not None:
        v = _numeric(verts, path, "vertices")
        if v.ndim == 2:
            v = v[None]
        if v.ndim != 3 or v.shape[-1] != 3:
            raise InputError(f"{path}: key 'vertices' has shape {v.shape}, expected (V, 3) or (T, V, 3)")
        out.vertices = v
    faces = _lookup(d, "faces")
    if faces is not None:
        f = np.asarray(faces)
        if f.ndim != 2 or f.shape[1] != 3 or f.dtype.kind not in "iuf":
            raise InputError(f"{path}: key 'faces' has shape {f.shape}, expected (F, 3) vertex indices")
        out.faces = f.astype(np.int64)

    params = _smplx_params(d, path)
    out.smplx_params = params
    n = out.vertices.shape[0] if out.vertices is not None else (
        next(iter(params.values())).shape[0] if params else 0)
    if out.vertices is None and not params:
        raise InputError(
            f"{path} has neither 'vertices' nor SMPL-X parameters ('transl', 'global_orient', 'body_pose', 'betas'); "
            f"keys found: {sorted(d)[:12]}"
        )
    joints = _lookup(d, "joints")
    if joints is not None:
        j = _numeric(joints, path, "joints")
        if j.ndim == 2:
            j = j[None]
        if j.ndim == 3 and j.shape[-1] == 3 and j.shape[1] >= 22 and j.shape[0] == n:
            out.joints = j[:, :22]  # SMPL-X order: the 22 body joints come first
    if "body_pose" in params:
        out.body_pose_smplx = params["body_pose"].reshape(n, 21, 3)
    out.is_sequence = n > 1
    return out


def _smplx_params(d: dict[str, Any], path: Path) -> dict[str, np.ndarray]:
    params: dict[str, np.ndarray] = {}
    if "poses" in d and _lookup(d, "body_pose") is None:
        # AMASS layout: root (3) | body (63) | jaw, eyes (9) | hands (90), or SMPL-H (156 without face)
        poses = _numeric(d["poses"], path, "poses")
        poses = poses.reshape(-1, poses.shape[-1])
        if poses.shape[1] < 66:
            raise InputError(f"{path}: key 'poses' has shape {poses.shape}, expected (T, >= 66) axis-angles")
        params["global_orient"] = poses[:, :3]
        params["body_pose"] = poses[:, 3:66]
        if poses.shape[1] >= 165:
            params["jaw_pose"], params["leye_pose"], params["reye_pose"] = poses[:, 66:69], poses[:, 69:72], poses[:, 72:75]
            params["left_hand_pose"], params["right_hand_pose"] = poses[:, 75:120], poses[:, 120:165]
        elif poses.shape[1] >= 156:
            params["left_hand_pose"], params["right_hand_pose"] = poses[:, 66:111], poses[:, 111:156]
    for name in _ALIASES:
        if name in ("vertices", "faces", "joints") or name in params:
            continue
        v = _lookup(d, name)
        if v is None:
            continue
        a = _numeric(v, path, name)
        if a.ndim <= 1:
            a = a.reshape(1, -1)
        elif a.ndim >= 3:  # (N, joints, 3) -> (N, joints * 3)
            a = a.reshape(a.shape[0], -1)
        params[name] = a
    if "body_pose" in params:
        bp = params["body_pose"]
        if bp.shape[1] in (69, 72):  # SMPL/SMPL-H style with hand joints: the first 21 are the body joints
            params["body_pose"] = bp[:, :63]
        elif bp.shape[1] != 63:
            raise InputError(f"{path}: key 'body_pose' has shape {bp.shape}, expected (N, 63) axis-angles of 21 joints")
    if "global_orient" in params and params["global_orient"].shape[-1] != 3:
        raise InputError(
            f"{path}: key 'global_orient' has shape {params['global_orient'].shape}, expected (N, 3) axis-angle"
        )
    if "transl" in params and params["transl"].shape[-1] != 3:
        raise InputError(f"{path}: key 'transl' has shape {params['transl'].shape}, expected (N, 3)")
    if params:
        n = max(p.shape[0] for p in params.values())
        for k, p in list(params.items()):
            if p.shape[0] == 1 and n > 1 and k in ("betas", "expression"):
                params[k] = np.repeat(p, n, axis=0)  # one shape for the whole sequence
            elif p.shape[0] != n:
                raise InputError(f"{path}: key {k!r} has {p.shape[0]} rows but other parameters have {n}")
    return params


def smplx_forward(
    params: dict[str, np.ndarray], model_dir: Path | None, gender: str = "neutral", batch: int = 256
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices and joints of SMPL-X parameters exactly as the ``smplx`` library computes them.

    The reference implementations (GenZI, ZeroHSI, their baselines) all pose bodies with
    ``smplx.SMPLX``; using the library itself keeps its ``transl`` convention (added to every
    vertex, not the pelvis position of inhabit's BodyParams) and its hand-PCA handling, so the
    vertices match the tool's own.

    Args:
        params: SMPL-X parameters, each (N, D); hand poses of 12 (GenZI) or 6..45 values are PCA
            coefficients, 45 are full axis-angles.
        model_dir: a folder holding ``smplx/SMPLX_<GENDER>.npz`` (or the file itself); default
            ``$INHABIT_MODELS_DIR`` (found by :func:`inhabit.body.smplx_model.find_smplx_file`).
        gender: ``neutral``, ``male`` or ``female``.

    Returns:
        vertices (N, 10475, 3), joints (N, 22, 3), faces (F, 3).

    Raises:
        MissingWeightsError: the model files are absent; InputError: ``smplx`` is not installed.
    """
    try:
        import smplx
    except ImportError:
        raise InputError(
            "evaluating SMPL-X parameters without vertices needs the smplx package: pip install 'inhabit[smplx]'"
        ) from None
    import torch

    from inhabit.body.smplx_model import find_smplx_file

    g = gender.lower() if gender.lower() in ("neutral", "male", "female") else "neutral"
    model_file = find_smplx_file(model_dir, g)
    n = next(iter(params.values())).shape[0]
    num_betas = params["betas"].shape[1] if "betas" in params else 10
    hand_dim = params["left_hand_pose"].shape[1] if "left_hand_pose" in params else 45
    use_pca = hand_dim != 45
    num_expr = params["expression"].shape[1] if "expression" in params else 10
    verts_out, joints_out, faces = [], [], None
    with torch.no_grad():
        for start in range(0, n, batch):
            b = min(batch, n - start)
            model = smplx.create(
                str(model_file), model_type="smplx", gender=g, num_betas=num_betas, use_pca=use_pca,
                num_pca_comps=hand_dim if use_pca else 6, num_expression_coeffs=num_expr, batch_size=b,
                ext=model_file.suffix.lstrip("."),
            )
            kw = {k: torch.as_tensor(v[start:start + b], dtype=torch.float32) for k, v in params.items()}
            out = model(**kw)
            verts_out.append(out.vertices.numpy().astype(np.float64))
            joints_out.append(out.joints[:, :22].numpy().astype(np.float64))
            faces = np.asarray(model.faces, dtype=np.int64)
    return np.concatenate(verts_out), np.concatenate(joints_out), faces


def read_foreign(
    path: Path, allow_pickle: bool = False, smplx_dir: Path | None = None, fps: float | None = None
) -> ForeignBodies:
    """Read another tool's body file; pose SMPL-X parameters when the file has no vertices.

    Raises:
        InputError / MissingWeightsError: one sentence naming the file and what is needed.
    """
    fb = parse_foreign(load_mapping(path, allow_pickle=allow_pickle), path, fps=fps)
    if fb.vertices is None:
        verts, joints, faces = smplx_forward(fb.smplx_params, smplx_dir, fb.meta.get("gender", "neutral"))
        fb.vertices, fb.joints = verts, joints
        if fb.faces is None:
            fb.faces = faces
    return fb
