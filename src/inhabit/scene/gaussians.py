"""3D Gaussian assets: a set of Gaussians, a Gaussian scene, rigid Gaussian objects.

Conventions
    * ``means`` are world positions in metres (+Z up, like every scene in inhabit).
    * ``quats`` are in **roma's XYZW order** (the order used everywhere inside inhabit). The 3DGS
      ``.ply`` stores ``rot_0..3 = w, x, y, z`` and gsplat takes WXYZ: both are converted at that
      boundary (:mod:`inhabit.scene.gaussians_ply`, :mod:`inhabit.render.splat_gsplat`) and nowhere
      else. Quaternions need not be unit: every consumer normalises (as 3DGS does).
    * ``log_scales`` are the natural logs of the three standard deviations along the Gaussian's
      local axes (the columns of its rotation), in metres.
    * ``opacity_logits`` are pre-sigmoid opacities.
    * ``colors`` are either SH coefficients ``(N, K, 3)`` with ``K = (d+1)²`` (the 3DGS basis, see
      :mod:`inhabit.scene.gaussians_sh`) or plain RGB ``(N, 3)`` in [0, 1].

Everything is a differentiable function of the tensors, so a set built from parameters that
require gradients (a posed human, an object under a 6D pose) carries those gradients into the
renderer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from inhabit.errors import InputError
from inhabit.scene.gaussians_sh import rgb_to_sh, rotate_sh, sh_degree_from_bases, sh_to_rgb

_FIELDS = ("means", "quats", "log_scales", "opacity_logits", "colors")


@dataclass
class GaussianSet:
    """N anisotropic 3D Gaussians.

    Attributes:
        means: (N, 3) centres, world frame, metres.
        quats: (N, 4) orientations, XYZW (roma), not necessarily unit.
        log_scales: (N, 3) log standard deviations along the local axes.
        opacity_logits: (N,) pre-sigmoid opacity.
        colors: (N, K, 3) SH coefficients (K = 1, 4, 9 or 16) or (N, 3) RGB in [0, 1].
    """

    means: torch.Tensor
    quats: torch.Tensor
    log_scales: torch.Tensor
    opacity_logits: torch.Tensor
    colors: torch.Tensor

    def __post_init__(self) -> None:
        n = self.means.shape[0] if self.means.ndim == 2 else -1
        problems = []
        if self.means.ndim != 2 or self.means.shape[1] != 3:
            problems.append(f"means must be (N, 3), got {tuple(self.means.shape)}")
        if tuple(self.quats.shape) != (n, 4):
            problems.append(f"quats must be ({n}, 4), got {tuple(self.quats.shape)}")
        if tuple(self.log_scales.shape) != (n, 3):
            problems.append(f"log_scales must be ({n}, 3), got {tuple(self.log_scales.shape)}")
        if tuple(self.opacity_logits.shape) != (n,):
            problems.append(f"opacity_logits must be ({n},), got {tuple(self.opacity_logits.shape)}")
        c = self.colors
        if c.ndim == 3:
            if c.shape[0] != n or c.shape[2] != 3:
                problems.append(f"SH colors must be ({n}, K, 3), got {tuple(c.shape)}")
            else:
                try:
                    sh_degree_from_bases(c.shape[1])
                except ValueError as e:
                    problems.append(str(e))
        elif c.ndim != 2 or tuple(c.shape) != (n, 3):
            problems.append(f"colors must be ({n}, K, 3) SH or ({n}, 3) RGB, got {tuple(c.shape)}")
        if problems:
            raise ValueError("GaussianSet: " + "; ".join(problems))

    # --- basic properties ---------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.means.shape[0])

    @property
    def device(self) -> torch.device:
        return self.means.device

    @property
    def dtype(self) -> torch.dtype:
        return self.means.dtype

    @property
    def is_sh(self) -> bool:
        """True when ``colors`` holds SH coefficients (N, K, 3)."""
        return self.colors.ndim == 3

    @property
    def sh_degree(self) -> int | None:
        """SH degree (0..3), or None for plain RGB colours."""
        return sh_degree_from_bases(self.colors.shape[1]) if self.is_sh else None

    @property
    def scales(self) -> torch.Tensor:
        """(N, 3) standard deviations in metres."""
        return torch.exp(self.log_scales)

    @property
    def opacities(self) -> torch.Tensor:
        """(N,) opacities in (0, 1)."""
        return torch.sigmoid(self.opacity_logits)

    def rotmats(self) -> torch.Tensor:
        """(N, 3, 3) local-to-world rotations (quaternions normalised first)."""
        import roma

        return roma.unitquat_to_rotmat(_normalize(self.quats))

    def covariances(self) -> torch.Tensor:
        """(N, 3, 3) world covariances ``R diag(s²) Rᵀ``."""
        R = self.rotmats()
        M = R * self.scales[:, None, :]
        return M @ M.transpose(-1, -2)

    def rgb(self) -> torch.Tensor:
        """(N, 3) view-independent colour (the SH DC term, or the RGB), clamped to [0, 1]."""
        c = sh_to_rgb(self.colors) if self.is_sh else self.colors
        return c.clamp(0.0, 1.0)

    # --- conversions ----------------------------------------------------------------------------

    def with_sh_degree(self, degree: int) -> GaussianSet:
        """The same Gaussians with SH colours of ``degree`` (RGB becomes DC-only SH; extra bands
        are dropped, missing ones are zero)."""
        if not self.is_sh:
            sh = rgb_to_sh(self.colors, degree)
        else:
            k_new = (degree + 1) ** 2
            k_old = self.colors.shape[1]
            if k_new <= k_old:
                sh = self.colors[:, :k_new]
            else:
                pad = torch.zeros(len(self), k_new - k_old, 3, dtype=self.dtype, device=self.device)
                sh = torch.cat([self.colors, pad], dim=1)
        return GaussianSet(self.means, self.quats, self.log_scales, self.opacity_logits, sh)

    def transformed(self, T: torch.Tensor | np.ndarray, rotate_sh_bands: bool = True) -> GaussianSet:
        """Gaussians moved by a similarity transform ``x -> s R x + t``.

        Means, orientations (``q_R ⊗ q``) and log-scales (``+ log s``) follow. SH colours are
        rotated band by band (exact, see :func:`~inhabit.scene.gaussians_sh.sh_rotation_matrices`),
        so view-dependent colour turns with the object; ``rotate_sh_bands=False`` keeps the
        coefficients (cheaper, correct only for degree 0 or rotations about nothing). The result is
        differentiable w.r.t. ``T`` and every field.

        Args:
            T: (4, 4) rotation times a positive uniform scale, plus translation.

        Raises:
            ValueError: if ``T`` shears, scales anisotropically or mirrors.
        """
        import roma

        T = torch.as_tensor(T, dtype=self.dtype, device=self.device)
        A, t = T[:3, :3], T[:3, 3]
        det = torch.linalg.det(A)
        if float(det.detach()) <= 0.0:
            raise ValueError("GaussianSet.transformed: T must not mirror (det of its 3x3 block <= 0)")
        s = det.abs() ** (1.0 / 3.0)
        R = A / s
        with torch.no_grad():
            err = (R @ R.T - torch.eye(3, dtype=R.dtype, device=R.device)).abs().max()
        if float(err) > 1e-3:
            raise ValueError(
                "GaussianSet.transformed: T must be a rotation times a uniform scale plus a translation "
                f"(its 3x3 block deviates from s·R by {float(err):.2g})"
            )
        means = self.means @ A.T + t
        qR = roma.rotmat_to_unitquat(R)
        quats = roma.quat_product(qR.expand(len(self), 4), self.quats)
        log_scales = self.log_scales + torch.log(s)
        colors = self.colors
        if self.is_sh and rotate_sh_bands and colors.shape[1] > 1:
            colors = rotate_sh(colors, R)
        return GaussianSet(means, quats, log_scales, self.opacity_logits, colors)

    # --- collections ----------------------------------------------------------------------------

    @staticmethod
    def cat(items: list[GaussianSet]) -> GaussianSet:
        """Concatenate sets. Mixed colour kinds become SH of the highest degree present (RGB as
        the DC term, missing bands zero), which renders exactly as before."""
        if not items:
            raise ValueError("GaussianSet.cat: nothing to concatenate")
        if all(not g.is_sh for g in items):
            colors = torch.cat([g.colors for g in items])
        else:
            deg = max(g.sh_degree or 0 for g in items)
            colors = torch.cat([g.with_sh_degree(deg).colors for g in items])
        return GaussianSet(
            torch.cat([g.means for g in items]),
            torch.cat([g.quats for g in items]),
            torch.cat([g.log_scales for g in items]),
            torch.cat([g.opacity_logits for g in items]),
            colors,
        )

    def subset(self, idx: torch.Tensor | np.ndarray | slice) -> GaussianSet:
        """Gaussians selected by an index tensor, a boolean mask or a slice."""
        if isinstance(idx, np.ndarray):
            idx = torch.from_numpy(idx)
        if isinstance(idx, torch.Tensor):
            idx = idx.to(self.device)
        return GaussianSet(*(getattr(self, f)[idx] for f in _FIELDS))

    def map(self, fn) -> GaussianSet:
        """Apply ``fn`` to every tensor field."""
        return GaussianSet(*(fn(getattr(self, f)) for f in _FIELDS))

    def to(self, *args, **kwargs) -> GaussianSet:
        return self.map(lambda t: t.to(*args, **kwargs))

    def detach(self) -> GaussianSet:
        return self.map(lambda t: t.detach())

    def clone(self) -> GaussianSet:
        return self.map(lambda t: t.clone())

    def requires_grad_(self, flag: bool = True) -> GaussianSet:
        """Make every field a leaf that requires gradients (in place; returns self)."""
        for f in _FIELDS:
            setattr(self, f, getattr(self, f).detach().requires_grad_(flag))
        return self

    def tensors(self) -> dict[str, torch.Tensor]:
        return {f: getattr(self, f) for f in _FIELDS}

    def check_finite(self, what: str = "gaussians") -> None:
        """Raise :class:`InputError` naming the first field with NaN or infinite values."""
        for f in _FIELDS:
            t = getattr(self, f)
            if not bool(torch.isfinite(t).all()):
                bad = int((~torch.isfinite(t)).reshape(t.shape[0], -1).any(dim=1).sum()) if t.ndim else 1
                raise InputError(f"{what}: field {f!r} has non-finite values in {bad} of {len(self)} Gaussians")

    # --- constructors ---------------------------------------------------------------------------

    @staticmethod
    def from_points(
        means: torch.Tensor,
        rgb: torch.Tensor,
        scale: float | torch.Tensor = 0.01,
        opacity: float | torch.Tensor = 0.9,
        quats: torch.Tensor | None = None,
    ) -> GaussianSet:
        """Isotropic Gaussians at points.

        Args:
            means: (N, 3); rgb: (N, 3) in [0, 1]; scale: std in metres, scalar, (N,) or (N, 3);
            opacity: in (0, 1), scalar or (N,); quats: (N, 4) XYZW (identity by default).
        """
        n = means.shape[0]
        kw = {"dtype": means.dtype, "device": means.device}
        s = torch.as_tensor(scale, **kw)
        s = s.expand(n, 3) if s.ndim == 0 else (s[:, None].expand(n, 3) if s.ndim == 1 else s)
        o = torch.as_tensor(opacity, **kw).expand(n).clamp(1e-6, 1 - 1e-6)
        if quats is None:
            quats = torch.zeros(n, 4, **kw)
            quats[:, 3] = 1.0
        return GaussianSet(means, quats, torch.log(s).contiguous(), torch.logit(o).contiguous(), rgb)

    @staticmethod
    def empty(sh_degree: int | None = None, dtype=torch.float32, device="cpu") -> GaussianSet:
        kw = {"dtype": dtype, "device": device}
        colors = torch.zeros(0, 3, **kw) if sh_degree is None else torch.zeros(0, (sh_degree + 1) ** 2, 3, **kw)
        return GaussianSet(torch.zeros(0, 3, **kw), torch.zeros(0, 4, **kw), torch.zeros(0, 3, **kw),
                           torch.zeros(0, **kw), colors)


def _normalize(q: torch.Tensor) -> torch.Tensor:
    return q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)


# --- a Gaussian scene (what ``load_scene`` is for meshes) ---------------------------------------


@dataclass
class GaussianScene:
    """A scene made of Gaussians, in the world frame (+Z up, metres).

    Attributes:
        gaussians: the Gaussians, already transformed by ``T_world_file``.
        T_world_file: (4, 4) transform applied to the file's coordinates (up axis + scale).
        source: the file it came from (None for scenes built in code).
        up_axis, scale: the load options that produced ``T_world_file``.
        points: named interaction points (3,) in the world frame.
        name: a short label.
    """

    gaussians: GaussianSet
    T_world_file: np.ndarray = field(default_factory=lambda: np.eye(4))
    source: Path | None = None
    up_axis: str = "z"
    scale: float = 1.0
    points: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = "scene"

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) axis-aligned min and max of the Gaussian centres."""
        m = self.gaussians.means.detach().cpu().numpy()
        return np.stack([m.min(axis=0), m.max(axis=0)])


def file_to_world_transform(up_axis: str = "z", scale: float = 1.0) -> np.ndarray:
    """(4, 4) ``T_world_file`` for a file with ``up_axis`` in units of ``scale`` metres
    (:data:`inhabit.conventions.UP_AXIS_TO_Z`, the same options as meshes)."""
    from inhabit.conventions import UP_AXIS_TO_Z

    if up_axis not in UP_AXIS_TO_Z:
        raise InputError(f"up_axis must be one of {sorted(UP_AXIS_TO_Z)}, got {up_axis!r}")
    if not (math.isfinite(scale) and scale > 0):
        raise InputError(f"scale must be a positive number, got {scale}")
    T = np.eye(4)
    T[:3, :3] = scale * UP_AXIS_TO_Z[up_axis]
    return T


def load_gaussian_scene(path: str | Path, up_axis: str = "z", scale: float = 1.0,
                        dtype: torch.dtype = torch.float32) -> GaussianScene:
    """Read a 3DGS ``.ply`` and bring it into the world frame.

    Args:
        path: a 3D Gaussian splatting ``.ply`` (reference-implementation layout).
        up_axis: the file's up axis (``"z"``, ``"y"``, ``"-y"``, ``"-z"``); rotated to +Z.
        scale: metres per file unit (e.g. 0.01 for centimetres).

    Raises:
        InputError: the file is missing, is not a PLY, or lacks 3DGS properties (named).
    """
    from inhabit.scene.gaussians_ply import read_gaussians_ply

    path = Path(path)
    T = file_to_world_transform(up_axis, scale)
    gs = read_gaussians_ply(path, dtype=dtype)
    if not np.allclose(T, np.eye(4)):
        gs = gs.transformed(torch.as_tensor(T, dtype=dtype))
    return GaussianScene(gs, T, path, up_axis, float(scale), {}, path.stem)


# --- rigid objects ------------------------------------------------------------------------------


class RigidObject(torch.nn.Module):
    """A rigid Gaussian object under a differentiable 6D pose.

    The Gaussians live in the object frame; the pose is ``T_world_object = [R(r6) | t]`` with
    ``r6`` the 6D rotation of :mod:`inhabit.rotations` (first two columns of R, row-major) decoded
    by Gram-Schmidt. ``rotation6d`` and ``translation`` are ``nn.Parameter`` s, so an optimiser over
    ``obj.parameters()`` moves the object and the rendered image's gradient reaches them through
    :meth:`world_gaussians`.

    Args:
        gaussians: the object's Gaussians in its own frame.
        T_world_object: (4, 4) initial pose (rotation + translation).
        rotate_sh_bands: rotate view-dependent SH with the object (exact; see
            :meth:`GaussianSet.transformed`).
    """

    def __init__(self, gaussians: GaussianSet, T_world_object: torch.Tensor | np.ndarray | None = None,
                 rotate_sh_bands: bool = True) -> None:
        super().__init__()
        from inhabit.rotations import rotmat_to_rotation6d

        self.gaussians = gaussians
        self.rotate_sh_bands = rotate_sh_bands
        T = torch.eye(4, dtype=gaussians.dtype) if T_world_object is None else torch.as_tensor(
            T_world_object, dtype=gaussians.dtype)
        self.rotation6d = torch.nn.Parameter(rotmat_to_rotation6d(T[:3, :3]).clone().to(gaussians.device))
        self.translation = torch.nn.Parameter(T[:3, 3].clone().to(gaussians.device))

    def T_world_object(self) -> torch.Tensor:
        """(4, 4) the current pose (differentiable)."""
        from inhabit.rotations import rigid_from_rotation6d

        return rigid_from_rotation6d(self.rotation6d, self.translation)

    @torch.no_grad()
    def set_pose(self, T_world_object: torch.Tensor | np.ndarray) -> None:
        """Overwrite the pose parameters with a rigid (4, 4) transform."""
        from inhabit.rotations import rotmat_to_rotation6d

        T = torch.as_tensor(T_world_object, dtype=self.translation.dtype, device=self.translation.device)
        self.rotation6d.copy_(rotmat_to_rotation6d(T[:3, :3]))
        self.translation.copy_(T[:3, 3])

    def world_gaussians(self, T_delta: torch.Tensor | None = None) -> GaussianSet:
        """The Gaussians in the world frame, ``T_delta @ T_world_object`` applied (``T_delta``: an
        optional (4, 4) left-multiplied relative motion, as ZeroHSI optimises between frames)."""
        T = self.T_world_object()
        if T_delta is not None:
            T = T_delta @ T
        return self.gaussians.transformed(T, rotate_sh_bands=self.rotate_sh_bands)

    def forward(self) -> GaussianSet:
        return self.world_gaussians()


def __getattr__(name: str):
    # Lazy re-exports keep one import path for users without import cycles between the helpers.
    if name in ("read_gaussians_ply", "write_gaussians_ply", "is_gaussian_ply"):
        from inhabit.scene import gaussians_ply

        return getattr(gaussians_ply, name)
    if name in ("gaussians_from_mesh",):
        from inhabit.scene import gaussians_mesh

        return getattr(gaussians_mesh, name)
    if name in ("occupancy_from_gaussians", "sdf_from_occupancy", "sdf_from_gaussians", "DensityGrid", "GridSDF"):
        from inhabit.scene import gaussians_sdf

        return getattr(gaussians_sdf, name)
    raise AttributeError(f"module 'inhabit.scene.gaussians' has no attribute {name!r}")
