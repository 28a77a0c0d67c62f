"""gsplat (Apache-2.0) as the CUDA backend of the :class:`~inhabit.render.splat.Splatter` protocol.

gsplat cannot rasterise on CPU (its kernels are a CUDA JIT extension), so this backend is only
chosen for CUDA tensors. Install it on a CUDA machine with ``pip install "inhabit[gsplat]"`` (or
``pip install gsplat``; the first call compiles its kernels, which needs the CUDA toolkit matching
your torch build, or install one of gsplat's prebuilt wheels for your torch/CUDA pair).

Mapping of conventions:

* ``viewmats`` = our ``T_cam_world`` (world -> OpenCV camera), ``Ks`` = our ``K``: the same
  convention (x right, y down, z forward; pixel centres at +0.5), so nothing is flipped.
* quaternions: ours are XYZW, gsplat's are WXYZ — reordered here.
* ``scales = exp(log_scales)``, ``opacities = sigmoid(opacity_logits)``.
* colours: SH is evaluated by us (:func:`~inhabit.scene.gaussians_sh.eval_sh`, the same basis and
  ``max(0, 0.5 + ·)`` as gsplat's) and passed as post-activation features, so extra channels and
  RGB sets take the same path; ``render_mode="RGB+ED"`` gives the expected depth as the last
  channel; ``backgrounds`` carries our background colour (zeros for extra channels).
* ``eps2d``, ``near``, ``far``, ``tile_size`` come from :class:`SplatSettings`; gsplat's alpha clamp is
  0.999 (ours 0.99) and its termination test is ``T ≤ 1e-4`` (ours ``<``): the two backends agree
  wherever no splat reaches alpha 0.99.
"""

from __future__ import annotations

import numpy as np
import torch

from inhabit.errors import InputError
from inhabit.render.splat import SplatOutput, SplatSettings, _background, _camera_tensors
from inhabit.render.splat_project import camera_center
from inhabit.scene.gaussians import GaussianSet
from inhabit.scene.gaussians_sh import eval_sh


class GsplatSplatter:
    """Splatter backed by ``gsplat.rasterization`` (CUDA only)."""

    name = "gsplat"

    def __init__(self, settings: SplatSettings | None = None) -> None:
        self.settings = settings or SplatSettings()
        try:
            import gsplat  # noqa: F401
        except ImportError:
            raise InputError("the gsplat splat backend needs the gsplat package: pip install gsplat "
                             "(on a machine with CUDA)") from None
        if not torch.cuda.is_available():
            raise InputError("the gsplat splat backend needs CUDA; use backend='native' or 'torch' on CPU")

    def render(self, gaussians: GaussianSet, camera, T_cam_world=None, background=None, extra=None) -> SplatOutput:
        from gsplat import rasterization

        if gaussians.device.type != "cuda":
            raise InputError(f"the gsplat splat backend renders CUDA tensors; these Gaussians are on {gaussians.device}")
        s = self.settings
        gaussians.check_finite()
        K, T, width, height = _camera_tensors(gaussians, camera, T_cam_world)
        if gaussians.is_sh:
            rgb = eval_sh(gaussians.colors, gaussians.means - camera_center(T))
        else:
            rgb = gaussians.colors
        feats = rgb if extra is None else torch.cat([rgb, extra.reshape(len(gaussians), -1).to(rgb)], dim=1)
        bg = _background(background, feats.shape[1] + 1, gaussians)
        bg = torch.cat([bg[:3], bg[4:]])  # gsplat appends the depth channel's zero itself
        q = gaussians.quats
        quats_wxyz = torch.cat([q[:, 3:4], q[:, :3]], dim=1)
        colors, alphas, meta = rasterization(
            gaussians.means, quats_wxyz, gaussians.scales, gaussians.opacities, feats,
            T[None], K[None], width, height,
            near_plane=s.near, far_plane=s.far, eps2d=s.eps2d, sh_degree=None, packed=False,
            tile_size=s.tile_size, backgrounds=bg[None], render_mode="RGB+ED", rasterize_mode="classic",
        )
        colors, alpha = colors[0], alphas[0, ..., 0]
        depth = colors[..., -1]
        extra_out = colors[..., 3:-1] if extra is not None else None
        radii = meta["radii"][0]
        visible = (radii > 0).all(dim=-1) if radii.ndim == 2 else radii > 0
        means2d = meta["means2d"][0].detach().clone()
        means2d[~visible] = float("nan")
        return SplatOutput(colors[..., :3], alpha, depth, extra_out, visible, means2d,
                           int(np.prod(meta["flatten_ids"].shape)), {"gsplat_meta": meta})
