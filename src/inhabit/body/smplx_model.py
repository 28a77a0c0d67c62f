"""The SMPL-X backend, from the user's own model files (optional extra ``inhabit[smplx]``).

SMPL-X's model files and the ``smplx`` package are under non-commercial licences (MPI-IS): inhabit
never ships or downloads them, and imports ``smplx`` only when this backend is chosen.

Files: ``<folder>/smplx/SMPLX_NEUTRAL.npz`` or ``<folder>/SMPLX_NEUTRAL.npz`` (also ``.pkl``,
other genders), ``<folder>`` defaulting to ``$INHABIT_MODELS_DIR`` (``inhabit.paths.models_dir()``).

Parameters: ``body_pose`` (B, 63) is SMPL-X's own body pose (local axis-angles of the 21 body joints
in canonical axes), ``shape`` (B, 10) the betas. Hands are fixed at the model's mean pose (zero
hand-pose parameters, ``flat_hand_mean=False`` as in GenZI), jaw/eyes/expression at zero. The output
is placed with inhabit's conventions: canonical y-up is rotated to z-up (``R_WORLD_CANONICAL``),
``global_orient`` rotates about the pelvis joint and ``transl`` is the pelvis's world position
(unlike smplx's own ``transl``, which is added to the template's pelvis offset).
"""

from __future__ import annotations

import os
import pickle
import threading
import zipfile
from pathlib import Path

import numpy as np
import torch

from inhabit.body.kinematics import place_local_points
from inhabit.body.protocol import BodyOutput, BodyParams, check_body_params
from inhabit.body.skeleton import NUM_POSE_JOINTS, R_WORLD_CANONICAL, SMPLX_JOINT_NAMES_55
from inhabit.conventions import KEYPOINT_NAMES
from inhabit.errors import InputError, MissingWeightsError
from inhabit.rotations import rotation6d_to_rotmat

SMPLX_URL = "https://smpl-x.is.tue.mpg.de"
_HOW = (f"download SMPL-X (v1.1, NPZ) from {SMPLX_URL} (free registration, non-commercial licence) and put "
        f"SMPLX_NEUTRAL.npz in {{folder}}/smplx/ (or pass model_path=)")

MIN_VERTICES = 9930
"""smplx reads extra keypoints from fixed vertex ids up to 9929, so a model needs more vertices."""

_CACHE: dict[tuple, torch.nn.Module] = {}
_LOCK = threading.Lock()


def default_models_dir() -> Path:
    """Where SMPL-X (and VPoser) files are looked for by default: ``$INHABIT_MODELS_DIR``."""
    from inhabit.paths import models_dir

    return models_dir()


def find_smplx_file(model_path: str | os.PathLike | None = None, gender: str = "neutral",
                    ext: str | None = None) -> Path:
    """The SMPL-X model file for ``gender``: ``model_path`` itself when it is a file, else the first
    of ``<folder>/smplx/SMPLX_<GENDER>.<ext>``, ``<folder>/SMPLX_<GENDER>.<ext>`` (npz before pkl).

    Raises:
        MissingWeightsError: naming the folder and the files looked for, and where to get them.
    """
    gender = gender.lower()
    if gender not in ("neutral", "male", "female"):
        raise InputError(f"SMPL-X gender must be neutral, male or female, got {gender!r}")
    base = Path(model_path).expanduser() if model_path is not None else default_models_dir()
    if base.is_file():
        if base.suffix not in (".npz", ".pkl"):
            raise InputError(f"SMPL-X model file {base} must be a .npz or .pkl file")
        return base
    if not base.exists():
        raise MissingWeightsError(f"SMPL-X model folder {base} does not exist; {_HOW.format(folder=base)}")
    exts = [ext.lstrip(".")] if ext else ["npz", "pkl"]
    names = [f"SMPLX_{gender.upper()}.{e}" for e in exts]
    candidates = [base / "smplx" / n for n in names] + [base / n for n in names]
    for c in candidates:
        if c.is_file():
            return c
    looked = ", ".join(str(c.relative_to(base)) for c in candidates)
    raise MissingWeightsError(f"no SMPL-X model file in {base} (looked for {looked}); {_HOW.format(folder=base)}")


def _npz_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Array shapes of a .npz from the .npy headers alone (nothing is decompressed in full)."""
    shapes = {}
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            if not member.endswith(".npy"):
                continue
            with zf.open(member) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape = np.lib.format.read_array_header_1_0(f)[0]
                else:
                    shape = np.lib.format.read_array_header_2_0(f)[0]
            shapes[member[:-4]] = tuple(int(s) for s in shape)
    return shapes


def _pkl_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    # A .pkl model file is unpickled (it can run code): it is the user's own download from SMPL-X.
    with open(path, "rb") as f:
        data = pickle.load(f, encoding="latin1")
    if not isinstance(data, dict):
        raise ValueError(f"expected a dict, found {type(data).__name__}")
    return {k: tuple(int(s) for s in np.shape(v)) for k, v in data.items() if hasattr(v, "shape")}


def validate_smplx_file(path: str | os.PathLike, num_betas: int = 10) -> int:
    """Check that ``path`` has every array smplx reads, with consistent shapes; returns V.

    Raises:
        InputError: one sentence naming the file and the first missing key or wrong shape.
    """
    path = Path(path)
    try:
        shapes = _npz_shapes(path) if path.suffix == ".npz" else _pkl_shapes(path)
    except ModuleNotFoundError as e:
        raise InputError(f"SMPL-X model file {path} needs the Python package {e.name!r} to unpickle; "
                         f"use the .npz version of the model from {SMPLX_URL}") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, pickle.UnpicklingError) as e:
        raise InputError(f"SMPL-X model file {path} could not be read ({type(e).__name__}: {e}); "
                         f"re-download it from {SMPLX_URL}") from None
    if "v_template" not in shapes:
        raise InputError(f"SMPL-X model file {path} has no 'v_template' array; it is not a SMPL-X model "
                         f"(expected SMPLX_NEUTRAL.npz from {SMPLX_URL})")
    V = shapes["v_template"][0]
    expected: dict[str, tuple] = {
        "v_template": (V, 3), "f": (None, 3), "shapedirs": (V, 3, None), "posedirs": (V, 3, 486),
        "J_regressor": (55, V), "weights": (V, 55), "kintree_table": (2, 55),
        "hands_componentsl": (45, 45), "hands_componentsr": (45, 45), "hands_meanl": (45,), "hands_meanr": (45,),
        "lmk_faces_idx": (None,), "lmk_bary_coords": (None, 3),
    }
    for key, want in expected.items():
        if key not in shapes:
            raise InputError(f"SMPL-X model file {path} lacks the array {key!r}; expected a complete "
                             f"SMPLX_NEUTRAL.npz from {SMPLX_URL}")
        got = shapes[key]
        if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want)):
            pretty = "(" + ", ".join("n" if w is None else str(w) for w in want) + ")"
            raise InputError(f"SMPL-X model file {path}: array {key!r} has shape {got}, expected {pretty}")
    if shapes["shapedirs"][2] < num_betas:
        raise InputError(f"SMPL-X model file {path}: 'shapedirs' has {shapes['shapedirs'][2]} components, "
                         f"fewer than num_betas={num_betas}")
    if shapes["lmk_bary_coords"][0] != shapes["lmk_faces_idx"][0]:
        raise InputError(f"SMPL-X model file {path}: 'lmk_faces_idx' and 'lmk_bary_coords' disagree in length")
    if V < MIN_VERTICES:
        raise InputError(f"SMPL-X model file {path} has {V} vertices; smplx needs at least {MIN_VERTICES}")
    return V


def _import_smplx():
    try:
        import smplx
    except ImportError:
        raise MissingWeightsError(
            "the SMPL-X backend needs the optional package smplx (non-commercial licence): "
            "pip install 'inhabit[smplx]'") from None
    return smplx


def load_smplx_module(path: Path, gender: str, num_betas: int, device: torch.device, dtype: torch.dtype,
                      flat_hand_mean: bool = False) -> torch.nn.Module:
    """The ``smplx.SMPLX`` module for a validated file, built once per process and configuration."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, gender, num_betas, str(device), dtype, flat_hand_mean)
    with _LOCK:
        if key not in _CACHE:
            smplx = _import_smplx()
            m = smplx.SMPLX(str(path), ext=path.suffix[1:], gender=gender, num_betas=num_betas, use_pca=False,
                            flat_hand_mean=flat_hand_mean, num_expression_coeffs=10, create_transl=False,
                            batch_size=1, dtype=dtype)
            m = m.to(device)
            m.requires_grad_(False)  # its own nn.Parameters are never used: inhabit passes every input
            _CACHE[key] = m
        return _CACHE[key]


class SMPLXBody:
    """SMPL-X as a :class:`~inhabit.body.protocol.BodyModel` (see the module docstring).

    Args:
        model_path: a model folder or file (default ``$INHABIT_MODELS_DIR``).
        gender: ``"neutral"`` (default), ``"male"``, ``"female"``.
        num_betas: shape dimensions (10, as GenZI).
        ext: ``"npz"`` or ``"pkl"`` to force one file type.
        flat_hand_mean: False keeps SMPL-X's relaxed mean hands (GenZI); True gives flat hands.
    """

    name = "smplx"

    def __init__(self, model_path: str | os.PathLike | None = None, gender: str = "neutral", num_betas: int = 10,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, ext: str | None = None,
                 flat_hand_mean: bool = False) -> None:
        self.path = find_smplx_file(model_path, gender, ext)
        validate_smplx_file(self.path, num_betas)
        self._device = torch.device(device)
        self._dtype = dtype
        self.gender = gender.lower()
        self._model = load_smplx_module(self.path, self.gender, num_betas, self._device, dtype, flat_hand_mean)
        from smplx.joint_names import JOINT_NAMES

        self.faces = self._model.faces_tensor.to(self._device)
        self.body_pose_dim = 3 * NUM_POSE_JOINTS
        self.shape_dim = num_betas
        self.shape_names = tuple(f"beta{i}" for i in range(num_betas))
        alpha = torch.ones(num_betas, dtype=dtype, device=self._device)
        alpha[0] = 0.5
        self.shape_prior_alpha = alpha
        self._kp_index = torch.tensor([JOINT_NAMES.index(n) for n in KEYPOINT_NAMES], device=self._device)
        self._R_wc = torch.as_tensor(R_WORLD_CANONICAL, dtype=dtype, device=self._device)
        self._zeros: dict[int, dict[str, torch.Tensor]] = {}

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def smplx_module(self) -> torch.nn.Module:
        """The underlying ``smplx.SMPLX`` module."""
        return self._model

    def default_params(self, batch_size: int = 1) -> BodyParams:
        """Identity orientation, pelvis at the origin, SMPL-X's rest T-pose, mean shape."""
        kw = {"dtype": self._dtype, "device": self._device}
        go = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], **kw).repeat(batch_size, 1)
        return BodyParams(go, torch.zeros(batch_size, 3, **kw), torch.zeros(batch_size, self.body_pose_dim, **kw),
                          torch.zeros(batch_size, self.shape_dim, **kw))

    def body_pose_to_smplx_rotvec(self, body_pose: torch.Tensor) -> torch.Tensor:
        """(B, 63) -> (B, 21, 3): the identity map (this *is* SMPL-X)."""
        return body_pose.reshape(-1, NUM_POSE_JOINTS, 3)

    def body_pose_from_smplx_rotvec(self, rotvec: torch.Tensor) -> torch.Tensor:
        """(B, 21, 3) -> (B, 63)."""
        return rotvec.reshape(-1, self.body_pose_dim)

    def _fixed_inputs(self, B: int) -> dict[str, torch.Tensor]:
        if B not in self._zeros:
            z = lambda n: torch.zeros(B, n, dtype=self._dtype, device=self._device)  # noqa: E731
            self._zeros[B] = {
                "global_orient": z(3), "jaw_pose": z(3), "leye_pose": z(3), "reye_pose": z(3),
                "left_hand_pose": z(45), "right_hand_pose": z(45),
                "expression": z(self._model.num_expression_coeffs),
            }
        return self._zeros[B]

    def __call__(self, params: BodyParams) -> BodyOutput:
        check_body_params(self, params)
        B = params.batch_size
        # smplx poses with an identity root: SMPL-X's root rotation is about the pelvis joint, so the
        # global orientation is applied here instead, without a rotvec round trip (singular at pi).
        out = self._model(betas=params.shape, body_pose=params.body_pose, return_verts=True, return_shaped=False,
                          **self._fixed_inputs(B))
        pelvis = out.joints[:, :1]
        verts = (out.vertices - pelvis) @ self._R_wc.T
        J = (out.joints - pelvis) @ self._R_wc.T
        R = rotation6d_to_rotmat(params.global_orient)
        return BodyOutput(
            vertices=place_local_points(verts, R, params.transl),
            joints=place_local_points(J[:, :22], R, params.transl),
            keypoints=place_local_points(J[:, self._kp_index], R, params.transl),
            faces=self.faces,
        )

    def vertex_parts(self) -> torch.Tensor:
        """(V,) long labels into :data:`inhabit.body.parts.PART_NAMES`: skinning weights summed per part
        (55 joints grouped by :func:`inhabit.body.parts.smplx_joint_part`), then the argmax."""
        if getattr(self, "_parts", None) is None:
            from inhabit.body.parts import parts_from_skinning, smplx_joint_part

            W = self._model.lbs_weights.detach().to(torch.float64)
            self._parts = parts_from_skinning(W, [smplx_joint_part(n) for n in SMPLX_JOINT_NAMES_55]).to(self._device)
        return self._parts


def doctor_status():
    """``inhabit doctor``: is the smplx package installed, and is a SMPL-X model file found (and where)?"""
    from inhabit.weights import WeightStatus

    folder = default_models_dir()
    try:
        import smplx  # noqa: F401

        pkg = ""
    except ImportError:
        pkg = "pip install 'inhabit[smplx]' and "
    try:
        path = find_smplx_file(folder)
    except (MissingWeightsError, InputError):
        return [WeightStatus("body model (SMPL-X, optional)", "SMPLX_NEUTRAL", False,
                             f"{folder}/smplx/SMPLX_NEUTRAL.npz ($INHABIT_MODELS_DIR)",
                             f"{pkg}{_HOW.format(folder=folder)}")]
    try:
        validate_smplx_file(path)
    except InputError as e:
        return [WeightStatus("body model (SMPL-X, optional)", "SMPLX_NEUTRAL", False, str(path), str(e))]
    return [WeightStatus("body model (SMPL-X, optional)", "SMPLX_NEUTRAL", not pkg, str(path),
                         "found" if not pkg else "pip install 'inhabit[smplx]'")]
