"""The anny body model (NAVER, Apache-2.0 code, CC0 MakeHuman data inside the wheel): the default backend.

Parameters (see ``docs/body.md`` for the derivations):

* ``body_pose`` (B, 63): per SMPL-X body joint (``skeleton.POSE_JOINT_NAMES``), the axis-angle of
  anny's ``local-ref`` delta of the bones that joint drives, in world axes, relative to anny's rest
  A-pose. Zero is the A-pose (arms ~48 degrees down). :mod:`inhabit.body.anny_rig` maps it to and
  from SMPL-X rotvecs.
* ``shape`` (B, 6): an unconstrained reparameterisation of anny's phenotype vector
  (gender, age, muscle, weight, height, proportions), ``phenotype = sigmoid(shape + logit(p0))``
  with ``p0`` the default adult (age 0.67, everything else 0.5). Zero is the default adult and an
  optimiser can never leave (0, 1).

The core ``anny.Anny`` model is built once per process and (device, dtype, skinning). Its first
build writes ~790 MB to ``$ANNY_CACHE_DIR`` (``inhabit.paths``) and takes about a minute; afterwards
only the 51 MB ``build_compact_model_data_*.safetensors`` is read, and when inhabit did the build it
deletes the rest (:func:`prune_anny_cache`).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np
import torch

from inhabit.body.anny_rig import AnnyPoseMap, bone_to_smplx_joint
from inhabit.body.protocol import BodyOutput, BodyParams, check_body_params
from inhabit.body.skeleton import NUM_POSE_JOINTS
from inhabit.conventions import KEYPOINT_NAMES
from inhabit.errors import InputError, MissingWeightsError
from inhabit.rotations import rotation6d_to_rotmat

logger = logging.getLogger(__name__)

PHENOTYPE_NAMES: tuple[str, ...] = ("gender", "age", "muscle", "weight", "height", "proportions")
DEFAULT_PHENOTYPE: dict[str, float] = {
    "gender": 0.5, "age": 0.67, "muscle": 0.5, "weight": 0.5, "height": 0.5, "proportions": 0.5,
}
"""The default adult: anny's age anchors are newborn -1/3, baby 0, child 1/3, young adult 2/3, old 1."""

SHAPE_PRIOR_ALPHA: dict[str, float] = {
    "gender": 1.0, "age": 1.0, "muscle": 1.0, "weight": 1.0, "height": 0.5, "proportions": 1.0,
}
"""Per-phenotype weights of the shape prior (GenZI's alpha_0 = 0.5 on SMPL-X's first beta, mostly
stature, becomes 0.5 on anny's height)."""

SKINNING_METHODS = ("warp_lbs", "lbs")

_CORES: dict[tuple, tuple] = {}
_LOCK = threading.Lock()


def _import_anny():
    """Import anny with inhabit's caches (``ANNY_CACHE_DIR``, ``WARP_CACHE_PATH``) and a quiet warp."""
    from inhabit.paths import configure_third_party_caches

    configure_third_party_caches()
    try:
        import warp

        if warp.config.log_level == warp.LOG_INFO:  # the default: silence the init banner only
            warp.config.log_level = warp.LOG_WARNING
    except ImportError:  # pragma: no cover - warp is a hard dependency of anny
        pass
    try:
        import anny
        import anny.paths
    except ImportError as e:  # pragma: no cover - anny is a core dependency
        raise MissingWeightsError(f"the anny body model is not installed ({e}); run `pip install anny`") from None
    anny.paths.set_anny_cache_path(os.environ["ANNY_CACHE_DIR"])
    return anny


def anny_cache_dir() -> Path:
    """Where anny's built model data lives (``$ANNY_CACHE_DIR``, default ``<inhabit cache>/anny``)."""
    from inhabit.paths import configure_third_party_caches

    configure_third_party_caches()
    return Path(os.environ["ANNY_CACHE_DIR"]).expanduser()


def compact_cache_files(cache_dir: Path | None = None) -> list[Path]:
    """The ``build_compact_model_data_*.safetensors`` files anny loads from (one per configuration)."""
    root = cache_dir or anny_cache_dir()
    return sorted(root.glob("v*/build_compact_model_data_*.safetensors"))


def prune_anny_cache(cache_dir: Path | None = None) -> int:
    """Delete anny's intermediate build files where a compact file exists next to them.

    ``load_data_*`` (561 MB) and ``build_model_data_*`` (216 MB) are only needed to *build* the
    compact file; loading the default model reads the compact file alone (verified with a cache
    holding nothing else). Returns the number of bytes freed. Another anny configuration (other rig,
    ``phenotype_blendshapes="original"``) would rebuild them (~1 minute).
    """
    root = cache_dir or anny_cache_dir()
    freed = 0
    for version_dir in sorted(p for p in root.glob("v*") if p.is_dir()):
        if not list(version_dir.glob("build_compact_model_data_*.safetensors")):
            continue
        for pattern in ("load_data_*.safetensors", "build_model_data_*.safetensors"):
            for f in version_dir.glob(pattern):
                freed += f.stat().st_size
                f.unlink()
    return freed


def load_anny_core(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                   skinning: str = "warp_lbs", prune: bool = True):
    """The ``anny.Anny`` model and its COCO keypoint regressor, built once per (device, dtype, skinning).

    Args:
        skinning: ``"warp_lbs"`` (sparse warp kernels, the fast path on CPU at batch 16) or ``"lbs"``
            (dense torch reference; identical results and gradients).
        prune: after a cold build, delete the cache files later loads do not need.
    """
    if skinning not in SKINNING_METHODS:
        raise InputError(f"anny skinning must be one of {SKINNING_METHODS}, got {skinning!r}")
    device = torch.device(device)
    key = (str(device), dtype, skinning)
    with _LOCK:
        if key in _CORES:
            return _CORES[key]
        anny = _import_anny()
        before = set(compact_cache_files())
        try:
            if not before:
                from inhabit.progress import bar

                logger.warning("building anny's model data in %s (once; about a minute and 1.5 GB of memory)",
                               anny_cache_dir())
                with bar(1, "building anny body model (once)") as pb:
                    core = anny.Anny(skinning_method=skinning)
                    pb.update(1)
            else:
                core = anny.Anny(skinning_method=skinning)
        except OSError as e:
            raise MissingWeightsError(
                f"could not build anny's model data in {anny_cache_dir()} ({type(e).__name__}: {e}); the first "
                f"build needs ~800 MB of free space there (set ANNY_CACHE_DIR or INHABIT_CACHE_DIR elsewhere)"
            ) from None
        if prune and set(compact_cache_files()) - before:  # this process built it: drop the intermediates
            freed = prune_anny_cache()
            logger.info("pruned %.0f MB of anny build intermediates", freed / 2**20)
        core = core.to(device=device, dtype=dtype)
        regressor = anny.KeypointsRegressor.coco(core)
        _CORES[key] = (core, regressor)
        return _CORES[key]


def _logit(p: torch.Tensor) -> torch.Tensor:
    return torch.log(p) - torch.log1p(-p)


class AnnyBody:
    """anny as a :class:`~inhabit.body.protocol.BodyModel` (see the module docstring for parameters).

    Args:
        device, dtype: of the outputs (float32 by default).
        skinning: ``"warp_lbs"`` or ``"lbs"`` (torch reference).
        phenotype: overrides of :data:`DEFAULT_PHENOTYPE` defining ``shape = 0``, values in (0, 1).

    Outputs: 13,718 vertices, 27,420 triangles. Named joints are bone heads
    (:func:`inhabit.body.anny_rig.joint_position_bones`); keypoints come from anny's COCO-WholeBody
    regressor (23 points, mapped to :data:`inhabit.conventions.KEYPOINT_NAMES` by name).
    """

    name = "anny"

    def __init__(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                 skinning: str = "warp_lbs", phenotype: dict[str, float] | None = None) -> None:
        core, regressor = load_anny_core(device, dtype, skinning)
        self._core = core
        self._device = torch.device(device)
        self._dtype = dtype
        self.skinning = skinning
        if list(core.phenotype_labels) != list(PHENOTYPE_NAMES):
            raise RuntimeError(f"unexpected anny phenotype labels {core.phenotype_labels}")
        p0 = dict(DEFAULT_PHENOTYPE)
        for k, v in (phenotype or {}).items():
            if k not in p0:
                raise InputError(f"unknown anny phenotype {k!r}; expected one of {PHENOTYPE_NAMES}")
            if not 0.0 < float(v) < 1.0:
                raise InputError(f"anny phenotype {k!r} must lie strictly between 0 and 1, got {v}")
            p0[k] = float(v)
        self.default_phenotype = p0
        self.shape_names: tuple[str, ...] = PHENOTYPE_NAMES
        self.body_pose_dim = 3 * NUM_POSE_JOINTS
        self.shape_dim = len(PHENOTYPE_NAMES)
        self._logit_p0 = _logit(torch.tensor([p0[n] for n in PHENOTYPE_NAMES], dtype=dtype, device=self._device))
        self.shape_prior_alpha = torch.tensor([SHAPE_PRIOR_ALPHA[n] for n in PHENOTYPE_NAMES], dtype=dtype,
                                              device=self._device)
        self.faces = core.faces.to(device=self._device, dtype=torch.long)
        self.bone_labels: list[str] = list(core.bone_labels)
        self.bone_parents: list[int] = [int(p) for p in core.bone_parents]

        # The mapping is built from the *default adult* (anny's own defaults age 0.5 is a teenager).
        with torch.no_grad():
            rest = core(phenotype_kwargs=self._phenotype_tensor(torch.zeros(1, self.shape_dim, dtype=dtype,
                                                                            device=self._device)))
        self.pose_map = AnnyPoseMap.build(self.bone_labels, self.bone_parents, rest["rest_bone_heads"][0]).to(
            self._device)
        W = self.pose_map.bone_from_joint
        self._free_bones = W.abs().sum(dim=1).nonzero().flatten()
        self._free_from_joint = W[self._free_bones].to(dtype)
        self._joint_from_bone = self.pose_map.joint_from_bone.to(dtype)
        self._homogeneous_one = torch.zeros(4, 4, dtype=dtype, device=self._device)
        self._homogeneous_one[3, 3] = 1.0
        order = [list(regressor.labels).index(n) for n in KEYPOINT_NAMES]
        kw = regressor.regression_weights[order].to(device=self._device, dtype=torch.float64)
        # anny's rows sum to one only within 1e-3: renormalise so that keypoints of a body placed
        # far from the origin do not drift by 1e-3 * |transl|.
        self._keypoint_weights64 = kw / kw.sum(dim=1, keepdim=True)
        self._keypoint_weights = self._keypoint_weights64.to(dtype)
        if self.bone_labels[0] != "root" or self.bone_parents[0] >= 0:
            raise RuntimeError("anny rig: expected the root bone first")
        # forward_local places the body through the root delta, which needs an identity rest root.
        root_rest = rest["rest_bone_poses"][0, 0, :3, :3]
        if not torch.allclose(root_rest, torch.eye(3, dtype=dtype, device=self._device), atol=1e-6):
            raise RuntimeError("anny rig: the root's rest orientation is not the identity; placement would tilt")
        self._root_index = torch.zeros(1, dtype=torch.long, device=self._device)

    # -- protocol ------------------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        return self._dtype

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def core(self):
        """The underlying ``anny.Anny`` module (shared by every AnnyBody of this device/dtype)."""
        return self._core

    def default_params(self, batch_size: int = 1) -> BodyParams:
        """Identity orientation, pelvis at the origin, anny's rest A-pose, the default adult."""
        kw = {"dtype": self._dtype, "device": self._device}
        go = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], **kw).repeat(batch_size, 1)
        return BodyParams(go, torch.zeros(batch_size, 3, **kw), torch.zeros(batch_size, self.body_pose_dim, **kw),
                          torch.zeros(batch_size, self.shape_dim, **kw))

    def body_pose_to_smplx_rotvec(self, body_pose: torch.Tensor) -> torch.Tensor:
        """(B, 63) anny pose -> (B, 21, 3) SMPL-X-equivalent local axis-angles (canonical axes)."""
        return self.pose_map.to_smplx(body_pose.reshape(-1, NUM_POSE_JOINTS, 3))

    def body_pose_from_smplx_rotvec(self, rotvec: torch.Tensor) -> torch.Tensor:
        """(B, 21, 3) SMPL-X local axis-angles -> (B, 63) anny pose (exact inverse)."""
        return self.pose_map.from_smplx(rotvec.reshape(-1, NUM_POSE_JOINTS, 3)).reshape(-1, self.body_pose_dim)

    def forward_local(self, body_pose: torch.Tensor, shape: torch.Tensor, R_world_body: torch.Tensor | None = None,
                      transl: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Pose the body; in its own frame (pelvis at the origin, upright) unless a placement is given.

        Args:
            body_pose: (B, 63); shape: (B, 6).
            R_world_body: (B, 3, 3) global orientation, applied about the pelvis (default identity).
            transl: (B, 3) pelvis position (default the origin).

        Returns:
            ``vertices`` (B, V, 3) and ``bone_heads`` (B, 104, 3).

        The placement is anny's own root delta: in ``local-ref`` the root's delta is its world pose and
        the root's rest orientation is the identity for every phenotype, so ``[R | t]`` rotates the
        whole body about the root head (our pelvis) and puts it at ``t``; skinning then produces world
        vertices directly, with no extra pass over them.
        """
        import roma

        B = body_pose.shape[0]
        core = self._core
        rho = body_pose.reshape(B, NUM_POSE_JOINTS, 3)
        bone_rv = torch.einsum("kj,bjc->bkc", self._free_from_joint, rho)
        R_bones = torch.eye(3, dtype=self._dtype, device=self._device).repeat(B, core.bone_count, 1, 1)
        R_bones = R_bones.index_copy(1, self._free_bones, roma.rotvec_to_rotmat(bone_rv))
        if R_world_body is not None:
            R_bones = R_bones.index_copy(1, self._root_index, R_world_body[:, None])
        deltas = torch.nn.functional.pad(R_bones, (0, 1, 0, 1)) + self._homogeneous_one
        if transl is not None:
            deltas = deltas + torch.nn.functional.pad(transl[:, None, :, None], (3, 0, 0, 1, 0, core.bone_count - 1))
        out = core(pose_parameters=deltas, phenotype_kwargs=self._phenotype_tensor(shape))
        return {"vertices": out["vertices"], "bone_heads": out["bone_poses"][..., :3, 3]}

    def __call__(self, params: BodyParams) -> BodyOutput:
        check_body_params(self, params)
        R = rotation6d_to_rotmat(params.global_orient)
        posed = self.forward_local(params.body_pose, params.shape, R, params.transl)
        verts = posed["vertices"]
        # Both are affine combinations (weights sum to one), so they commute with the placement. A
        # keypoint averages up to ~4,000 vertices: accumulating in float32 costs 6e-5 m at 5 m from the
        # origin, so regress about the pelvis and accumulate in float64 (1 MFLOP per body).
        joints = torch.einsum("jk,bkc->bjc", self._joint_from_bone, posed["bone_heads"])
        t = params.transl[:, None, :]
        keypoints = torch.einsum("kv,bvc->bkc", self._keypoint_weights64, (verts - t).double()).to(verts.dtype) + t
        return BodyOutput(vertices=verts, joints=joints, keypoints=keypoints, faces=self.faces)

    # -- shape helpers -------------------------------------------------------------------------
    def _phenotype_tensor(self, shape: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(shape + self._logit_p0)

    def phenotype(self, shape: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, 6) shape -> {phenotype name: (B,) value in (0, 1)}."""
        p = self._phenotype_tensor(shape)
        return {n: p[:, i] for i, n in enumerate(PHENOTYPE_NAMES)}

    def shape_from_phenotype(self, batch_size: int = 1, **values: float) -> torch.Tensor:
        """(B, 6) shape giving the named phenotype values (others: the default adult)."""
        p = torch.tensor([self.default_phenotype[n] for n in PHENOTYPE_NAMES], dtype=torch.float64)
        for k, v in values.items():
            if k not in PHENOTYPE_NAMES:
                raise InputError(f"unknown anny phenotype {k!r}; expected one of {PHENOTYPE_NAMES}")
            if not 0.0 < float(v) < 1.0:
                raise InputError(f"anny phenotype {k!r} must lie strictly between 0 and 1, got {v}")
            p[PHENOTYPE_NAMES.index(k)] = float(v)
        s = _logit(p) - _logit(torch.tensor([self.default_phenotype[n] for n in PHENOTYPE_NAMES], dtype=torch.float64))
        return s.to(dtype=self._dtype, device=self._device).repeat(batch_size, 1)

    # -- parts ---------------------------------------------------------------------------------
    def vertex_parts(self) -> torch.Tensor:
        """(V,) long labels into :data:`inhabit.body.parts.PART_NAMES`.

        Skinning weights summed per part (bones grouped through their SMPL-X joint), then anny's
        body-part texture (``data/segmentation``) overrides hands, feet and head (incl. eyes and
        mouth) where it labels a face, which puts the borders at the wrist/ankle creases and jaw line.
        """
        if getattr(self, "_parts", None) is None:
            self._parts = _anny_vertex_parts(self).to(self._device)
        return self._parts


def _anny_vertex_parts(body: AnnyBody) -> torch.Tensor:
    from inhabit.body.parts import PART_NAMES, parts_from_skinning, smplx_joint_part

    core = body.core
    V = core.template_vertices.shape[0]
    K = core.bone_count
    dense = torch.zeros(V, K, dtype=torch.float64)
    dense.scatter_add_(1, core.vertex_bone_indices.cpu().long(), core.vertex_bone_weights.cpu().to(torch.float64))
    labels = parts_from_skinning(dense, [smplx_joint_part(bone_to_smplx_joint(b)) for b in body.bone_labels])
    try:
        face_labels = _texture_face_labels(core)
    except (OSError, KeyError, ValueError) as e:  # pragma: no cover - data ships in the wheel
        logger.warning("anny body-part texture unavailable (%s); using skinning weights only", e)
        return labels
    faces = core.faces.cpu().long()
    for tex_label, part in (("head", "head"), ("hand.L", "left_hand"), ("hand.R", "right_hand"),
                            ("foot.L", "left_foot"), ("foot.R", "right_foot")):
        sel = faces[face_labels == tex_label].flatten().unique() if (face_labels == tex_label).any() else None
        if sel is not None:
            labels[sel] = PART_NAMES.index(part)
    return labels


def _texture_face_labels(core) -> np.ndarray:
    """(F,) label of every face from anny's body-part segmentation texture (its face-centre UV)."""
    import yaml
    from anny.paths import get_anny_root_dir
    from PIL import Image

    root = get_anny_root_dir() / "data" / "segmentation"
    img = np.asarray(Image.open(root / "body_parts_segmentation.png").convert("RGB"))
    colors = yaml.safe_load((root / "body_parts_segmentation.yaml").read_text())["colors"]
    uv = core.texture_coordinates.detach().cpu()[core.face_texture_coordinate_indices.cpu()].mean(dim=1).numpy()
    h, w = img.shape[:2]
    u = np.clip(np.round(uv[:, 0] * w).astype(np.int64), 0, w - 1)
    v = np.clip(np.round((1.0 - uv[:, 1]) * h).astype(np.int64), 0, h - 1)
    face_rgb = img[v, u]
    out = np.full(len(face_rgb), "body", dtype=object)
    alias = {"eye_back.L": "head", "eye_front.L": "head", "eye_back.R": "head", "eye_front.R": "head",
             "eye_cavity.L": "head", "eye_cavity.R": "head", "mouth_cavity": "head", "tongue": "head"}
    for name, rgb in colors.items():
        out[np.all(face_rgb == np.asarray(rgb), axis=-1)] = alias.get(name, name)
    return out


def doctor_status():
    """``inhabit doctor``: is anny installed and is its built model data cached?"""
    from importlib import metadata

    from inhabit.weights import WeightStatus

    try:
        version = metadata.version("anny")
    except metadata.PackageNotFoundError as e:  # pragma: no cover
        return [WeightStatus("body model (anny)", "anny", False, "-", f"pip install anny ({e})", optional=False)]
    files = compact_cache_files()
    if files:
        size = sum(f.stat().st_size for f in files) / 2**20
        return [WeightStatus("body model (anny)", f"anny {version}", True, f"{files[-1]} ({size:.0f} MB)", "found",
                             optional=False)]
    return [WeightStatus(
        "body model (anny)", f"anny {version}", True, f"{anny_cache_dir()} (not built yet)",
        "built automatically on first use (about a minute, 790 MB written, pruned to 51 MB afterwards)",
        optional=False,
    )]


__all__ = ["DEFAULT_PHENOTYPE", "PHENOTYPE_NAMES", "AnnyBody", "anny_cache_dir", "doctor_status",
           "load_anny_core", "prune_anny_cache"]
