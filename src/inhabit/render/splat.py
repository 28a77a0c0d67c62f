"""Differentiable Gaussian splatting: the ``Splatter`` protocol, its backends, and dispatch.

Backends (all take the same inputs and give the same :class:`SplatOutput`):

``"torch"``  :class:`TorchSplatter` — the readable pure-PyTorch reference: EWA projection
             (:mod:`~inhabit.render.splat_project`), 16×16 tile binning
             (:mod:`~inhabit.render.splat_tiles`) and front-to-back compositing
             (:mod:`~inhabit.render.splat_torch`), autograd all the way. Runs anywhere.
``"dense"``  the same without tiles (all pixel × splat pairs): the test oracle.
``"native"`` :class:`NativeSplatter` — the same projection and binning, compositing forward and
             backward in a small C++ kernel compiled on first use
             (:mod:`~inhabit.render.splat_native`). CPU tensors; the fast path on CPU.
``"gsplat"`` :class:`~inhabit.render.splat_gsplat.GsplatSplatter` — gsplat's CUDA rasteriser
             (optional dependency; CUDA tensors only).
``"auto"``   gsplat for CUDA tensors when it is installed, else native when a C++ compiler is
             available (or the kernel is already built), else torch.

Inputs: a :class:`~inhabit.scene.gaussians.GaussianSet` in the world frame, a
:class:`~inhabit.camera.pinhole.Camera` (K, size, default pose) and optionally ``T_cam_world`` as a
(4, 4) tensor that may require gradients (camera tracking optimises a delta composed onto it).
SH colours are evaluated along ``mean - camera_centre`` (so they are differentiable w.r.t. the
camera too); RGB colours are used as given.

Outputs: ``rgb`` (H, W, 3) composited over ``background`` (default black); ``alpha`` (H, W);
``depth`` (H, W) the *expected* depth ``Σ wᵢ zᵢ / alpha`` (camera z of the splat centres, metres;
≈0 where alpha ≈ 0, as gsplat's ``"ED"`` mode); ``extra`` (H, W, E) any per-Gaussian features
passed as ``extra`` (N, E) composited with the same weights over 0 — e.g. a 0/1 column marking an
object's Gaussians renders its soft mask.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from inhabit.errors import InputError
from inhabit.render.splat_project import Projected, camera_center, project_gaussians
from inhabit.render.splat_tiles import TileBins, bin_gaussians
from inhabit.scene.gaussians import GaussianSet
from inhabit.scene.gaussians_sh import eval_sh


@dataclass(frozen=True)
class SplatSettings:
    """Rasterisation constants (the 3DGS values by default).

    Attributes:
        tile_size: tile side in pixels.
        near, far: camera-z clipping (metres).
        eps2d: screen-space low-pass added to every 2D covariance (px²).
        alpha_min: splats with alpha below this are skipped (1/255).
        alpha_max: alpha clamp (0.99; gsplat's own kernel uses 0.999).
        T_min: early-termination transmittance (1e-4).
    """

    tile_size: int = 16
    near: float = 0.01
    far: float = 1e4
    eps2d: float = 0.3
    alpha_min: float = 1.0 / 255.0
    alpha_max: float = 0.99
    T_min: float = 1e-4


@dataclass
class SplatOutput:
    """A rendered view.

    Attributes:
        rgb: (H, W, 3) colour over the background.
        alpha: (H, W) accumulated opacity ``1 - T_final``.
        depth: (H, W) expected camera-z depth (alpha-normalised; ~0 where nothing was hit).
        extra: (H, W, E) composited extra features, or None.
        visible: (N,) bool, the Gaussians that reached the compositor (in front, on screen).
        means2d: (N, 2) projected centres (px; NaN for Gaussians culled before projection).
        num_pairs: number of (tile, Gaussian) pairs composited (a cost measure).
    """

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor
    extra: torch.Tensor | None = None
    visible: torch.Tensor | None = None
    means2d: torch.Tensor | None = None
    num_pairs: int = 0
    meta: dict = field(default_factory=dict)


@runtime_checkable
class Splatter(Protocol):
    """Renders Gaussians into one pinhole camera, differentiably."""

    name: str
    settings: SplatSettings

    def render(self, gaussians: GaussianSet, camera, T_cam_world: torch.Tensor | None = None,
               background: torch.Tensor | None = None, extra: torch.Tensor | None = None) -> SplatOutput:
        """Args:
            gaussians: N Gaussians in the world frame.
            camera: a :class:`~inhabit.camera.pinhole.Camera` (K, width, height, default pose).
            T_cam_world: (4, 4) tensor overriding ``camera.T_cam_world`` (may require grad).
            background: (3,) colour behind everything (default black).
            extra: (N, E) per-Gaussian features to composite alongside the colour.
        """
        ...


def _camera_tensors(gaussians: GaussianSet, camera, T_cam_world) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    kw = {"dtype": gaussians.dtype, "device": gaussians.device}
    K = torch.as_tensor(np.asarray(camera.K), **kw)
    T = torch.as_tensor(np.asarray(camera.T_cam_world), **kw) if T_cam_world is None else T_cam_world.to(**kw)
    if T.shape != (4, 4):
        raise InputError(f"T_cam_world must be a (4, 4) matrix, got shape {tuple(T.shape)}")
    if not bool(torch.isfinite(T.detach()).all()):
        raise InputError("T_cam_world has NaN or infinite entries")
    width, height = int(camera.width), int(camera.height)
    if width <= 0 or height <= 0:
        raise InputError(f"camera size must be positive, got {width}x{height}")
    return K, T, width, height


def _background(background, n_channels: int, gaussians: GaussianSet) -> torch.Tensor:
    kw = {"dtype": gaussians.dtype, "device": gaussians.device}
    bg = torch.zeros(3, **kw) if background is None else torch.as_tensor(background, **kw).reshape(-1)
    if bg.shape[0] != 3:
        raise InputError(f"background must be 3 RGB values, got {bg.shape[0]}")
    return torch.cat([bg, torch.zeros(n_channels - 3, **kw)])


@dataclass
class PreparedSplats:
    """Everything a compositor needs (the shared front half of the torch and native backends).

    Attributes:
        proj: the projected, culled splats (M rows).
        feats: (M, 3 + 1 + E) colour, camera depth, extra features.
        background: (3 + 1 + E,) the background features (colour, then zeros).
        bins: tile lists.
        n_input: N, the size of the input set.
    """

    proj: Projected
    feats: torch.Tensor
    background: torch.Tensor
    bins: TileBins
    width: int
    height: int
    n_input: int


def prepare_splats(gaussians: GaussianSet, camera, T_cam_world=None, background=None, extra=None,
                   settings: SplatSettings = SplatSettings(), validate: bool = True) -> PreparedSplats:
    """Project, colour and bin (pure torch, differentiable; see :mod:`inhabit.render.splat`)."""
    if validate:
        gaussians.check_finite()
    K, T, width, height = _camera_tensors(gaussians, camera, T_cam_world)
    n = len(gaussians)
    if extra is not None:
        extra = extra.to(dtype=gaussians.dtype, device=gaussians.device)
        if extra.ndim == 1:
            extra = extra[:, None]
        if extra.shape[0] != n:
            raise InputError(f"extra must have one row per Gaussian ({n}), got {extra.shape[0]}")
    proj = project_gaussians(gaussians.means, gaussians.quats, gaussians.log_scales, gaussians.opacities, K, T,
                             width, height, settings.near, settings.far, settings.eps2d, settings.alpha_min)
    if gaussians.is_sh:
        dirs = gaussians.means[proj.ids] - camera_center(T)
        rgb = eval_sh(gaussians.colors[proj.ids], dirs)
    else:
        rgb = gaussians.colors[proj.ids]
    cols = [rgb, proj.depths[:, None]]
    if extra is not None:
        cols.append(extra[proj.ids])
    feats = torch.cat(cols, dim=1)
    bg = _background(background, feats.shape[1], gaussians)
    bins = bin_gaussians(proj.means2d, proj.extent, proj.depths, width, height, settings.tile_size)
    return PreparedSplats(proj, feats, bg, bins, width, height, n)


def finish_output(prep: PreparedSplats, image: torch.Tensor, alpha: torch.Tensor) -> SplatOutput:
    """Split the composited feature image into a :class:`SplatOutput`."""
    depth = image[..., 3] / alpha.clamp_min(1e-10)
    extra = image[..., 4:] if image.shape[-1] > 4 else None
    visible = torch.zeros(prep.n_input, dtype=torch.bool, device=image.device)
    visible[prep.proj.ids] = True
    means2d = torch.full((prep.n_input, 2), float("nan"), dtype=image.dtype, device=image.device)
    means2d[prep.proj.ids] = prep.proj.means2d.detach()
    return SplatOutput(image[..., :3], alpha, depth, extra, visible, means2d, prep.bins.n_pairs)


class TorchSplatter:
    """The pure-PyTorch reference splatter (tiled; ``tiled=False`` gives the dense oracle)."""

    def __init__(self, settings: SplatSettings | None = None, tiled: bool = True, chunk_elems: int = 1 << 22) -> None:
        self.settings = settings or SplatSettings()
        self.tiled = tiled
        self.chunk_elems = chunk_elems
        self.name = "torch" if tiled else "dense"

    def render(self, gaussians, camera, T_cam_world=None, background=None, extra=None) -> SplatOutput:
        from inhabit.render.splat_torch import composite_dense, composite_tiles

        s = self.settings
        prep = prepare_splats(gaussians, camera, T_cam_world, background, extra, s)
        p = prep.proj
        if self.tiled:
            image, alpha = composite_tiles(p.means2d, p.conics, p.opacities, prep.feats, prep.background, prep.bins,
                                           prep.width, prep.height, s.alpha_min, s.alpha_max, s.T_min,
                                           self.chunk_elems)
        else:
            image, alpha = composite_dense(p.means2d, p.conics, p.opacities, prep.feats, p.depths, prep.background,
                                           prep.width, prep.height, s.alpha_min, s.alpha_max, s.T_min,
                                           self.chunk_elems)
        return finish_output(prep, image, alpha)


class NativeSplatter:
    """Torch projection + binning, C++ compositing (forward and hand-written backward)."""

    name = "native"

    def __init__(self, settings: SplatSettings | None = None, num_threads: int | None = None) -> None:
        from inhabit.render.splat_native import load_library

        self.settings = settings or SplatSettings()
        self.num_threads = num_threads
        load_library()  # fail now (NativeUnavailable) rather than at the first render

    def render(self, gaussians, camera, T_cam_world=None, background=None, extra=None) -> SplatOutput:
        from inhabit.render.splat_native import composite_tiles_native

        if gaussians.device.type != "cpu":
            raise InputError(f"the native splatter renders CPU tensors; these Gaussians are on {gaussians.device}")
        s = self.settings
        prep = prepare_splats(gaussians, camera, T_cam_world, background, extra, s)
        p = prep.proj
        image, alpha = composite_tiles_native(p.means2d, p.conics, p.opacities, prep.feats, prep.background,
                                              prep.bins, prep.width, prep.height, s.alpha_min, s.alpha_max, s.T_min,
                                              self.num_threads, extent=p.extent)
        return finish_output(prep, image, alpha)


BACKENDS = ("auto", "native", "torch", "dense", "gsplat")
_WARNED: set[str] = set()


def native_available() -> bool:
    """True when the native kernel is built or can be built here."""
    from inhabit.render.splat_native import NativeUnavailable, load_library

    try:
        load_library()
        return True
    except NativeUnavailable:
        return False


def gsplat_available() -> bool:
    """True when gsplat imports and CUDA is available."""
    if not torch.cuda.is_available():
        return False
    try:
        import gsplat  # noqa: F401
    except ImportError:
        return False
    return True


def get_splatter(backend: str = "auto", settings: SplatSettings | None = None, device: str | torch.device = "cpu"
                 ) -> Splatter:
    """A splatter by name (see the module docstring); ``device`` is where the Gaussians will live
    (``"auto"`` picks gsplat only for CUDA).

    Raises:
        InputError: unknown backend name, or gsplat asked for where it cannot run.
        NativeUnavailable: ``"native"`` asked for and the kernel cannot be built.
    """
    if backend not in BACKENDS:
        raise InputError(f"splat backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    dev = torch.device(device)
    if backend == "auto":
        if dev.type == "cuda" and gsplat_available():
            backend = "gsplat"
        elif dev.type == "cpu" and native_available():
            backend = "native"
        else:
            if dev.type == "cpu" and "native" not in _WARNED:
                _WARNED.add("native")
                warnings.warn("inhabit: the native splat kernel could not be built (no C++ compiler?); "
                              "using the slower pure-torch splatter", stacklevel=2)
            backend = "torch"
    if backend == "gsplat":
        from inhabit.render.splat_gsplat import GsplatSplatter

        return GsplatSplatter(settings)
    if backend == "native":
        return NativeSplatter(settings)
    return TorchSplatter(settings, tiled=(backend == "torch"))


def render_gaussians(gaussians: GaussianSet, camera, T_cam_world: torch.Tensor | None = None,
                     background=None, extra: torch.Tensor | None = None, backend: str = "auto",
                     settings: SplatSettings | None = None) -> SplatOutput:
    """One-call rendering with :func:`get_splatter` (see :meth:`Splatter.render` for arguments)."""
    splatter = get_splatter(backend, settings, gaussians.device)
    return splatter.render(gaussians, camera, T_cam_world, background, extra)
