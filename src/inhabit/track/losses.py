"""The loss terms of ZeroHSI's reconstruction, as pure functions of tensors.

Images are (H, W, C) float tensors in [0, 1]; masks are (H, W) (bool or float weights). Every
function is differentiable in its float inputs. Equation numbers refer to ``papers/zerohsi.md``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

# --- photometric terms (Eq. 7, 10) ----------------------------------------------------------------


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference over every pixel and channel.

    Args:
        pred, target: (H, W, C).
    """
    return (pred - target).abs().mean()


def gaussian_window(size: int = 11, sigma: float = 1.5, dtype: torch.dtype = torch.float32,
                    device=None) -> torch.Tensor:
    """(size,) normalised 1D Gaussian (the separable factor of 3DGS's 11×11, σ = 1.5 SSIM window)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(x * x) / (2.0 * sigma * sigma))
    return (g / g.sum()).to(dtype=dtype, device=device)


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur with zero padding ('same' size). x: (1, C, H, W); g: (k,)."""
    c = x.shape[1]
    k = g.numel()
    x = F.conv2d(x, g.view(1, 1, 1, k).expand(c, 1, 1, k), padding=(0, k // 2), groups=c)
    return F.conv2d(x, g.view(1, 1, k, 1).expand(c, 1, k, 1), padding=(k // 2, 0), groups=c)


def ssim_map(a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5,
             c1: float = 0.01**2, c2: float = 0.03**2) -> torch.Tensor:
    """Per-pixel, per-channel SSIM of two images, the 3DGS form.

    Local statistics are Gaussian-weighted (``window`` × ``window``, ``sigma``) with *zero padding*
    at the border, exactly as the 3DGS reference code's ``F.conv2d(..., padding=window // 2)``; so a
    border pixel's statistics include zeros, which lowers the SSIM of bright borders slightly (the
    same in both images, so identical images still give exactly 1).

    Args:
        a, b: (H, W, C) images in [0, 1].

    Returns:
        (H, W, C) SSIM values in [-1, 1].
    """
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"ssim needs two (H, W, C) images of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    g = gaussian_window(window, sigma, a.dtype, a.device)
    A = a.permute(2, 0, 1)[None]
    B = b.permute(2, 0, 1)[None]
    mu_a, mu_b = _blur(A, g), _blur(B, g)
    var_a = _blur(A * A, g) - mu_a * mu_a
    var_b = _blur(B * B, g) - mu_b * mu_b
    cov = _blur(A * B, g) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2))
    return s[0].permute(1, 2, 0)


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM of two (H, W, C) images (scalar)."""
    return ssim_map(a, b, window, sigma).mean()


def dssim_loss(a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """D-SSIM = 1 − SSIM (the 3DGS code's form, on which ZeroHSI builds; 0 for identical images,
    up to 2). a, b: (H, W, C)."""
    return 1.0 - ssim(a, b, window, sigma)


def rgb_loss(pred: torch.Tensor, target: torch.Tensor, lam: float = 0.1) -> torch.Tensor:
    """ZeroHSI's photometric loss (Eq. 10): ``(1 − λ) L1 + λ D-SSIM``.

    Args:
        pred, target: (H, W, 3) in [0, 1].
        lam: λ (paper: 0.1).
    """
    loss = (1.0 - lam) * l1_loss(pred, target)
    if lam > 0:
        loss = loss + lam * dssim_loss(pred, target)
    return loss


def masked_l2(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared difference over the masked pixels (Eq. 7's camera loss on the static background).

    Args:
        pred, target: (H, W, C).
        mask: (H, W) bool or float weights.

    Returns:
        ``Σ m (pred − target)² / (C Σ m)``; 0 (with a zero gradient) when the mask is empty.
    """
    m = mask.to(pred.dtype)[..., None]
    denom = m.sum() * pred.shape[-1]
    return (m * (pred - target) ** 2).sum() / denom.clamp_min(1e-12)


# --- object terms (Eq. 11-13) ------------------------------------------------------------------


def mask_center(weight: torch.Tensor, offset: tuple[float, float] = (0.0, 0.0),
                size: tuple[int, int] | None = None) -> torch.Tensor:
    """Centre of a (soft) mask in normalised image coordinates (Eq. 11's ``C_O``).

    The centre of pixel (i, j) is at (j + 0.5, i + 0.5) (``inhabit.conventions``); the result is
    that position averaged with the mask's weights and divided by the image size, so it lies in
    [0, 1]².

    Args:
        weight: (h, w) mask or soft weights (≥ 0), possibly a crop of a larger image.
        offset: (x0, y0) pixel position of the crop's top-left corner in the full image.
        size: (W, H) of the full image (default: the weight map's own size).

    Returns:
        (2,) (x, y) normalised; NaN when the mask is empty (check the mass first).
    """
    h, w = weight.shape
    W, H = (w, h) if size is None else size
    wt = weight.to(torch.float64 if weight.dtype == torch.bool else weight.dtype)
    xs = torch.arange(w, dtype=wt.dtype, device=wt.device) + 0.5 + offset[0]
    ys = torch.arange(h, dtype=wt.dtype, device=wt.device) + 0.5 + offset[1]
    mass = wt.sum()
    cx = (wt.sum(0) * xs).sum() / mass / W
    cy = (wt.sum(1) * ys).sum() / mass / H
    return torch.stack([cx, cy])


def center_loss(center_pred: torch.Tensor, center_ref: torch.Tensor) -> torch.Tensor:
    """Eq. 11: ``‖Ĉ − C‖²`` of two (2,) normalised centres."""
    return ((center_pred - center_ref.to(center_pred)) ** 2).sum()


def masked_mean_depth(depth: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Eq. 12: ``Σ D ⊙ M / Σ M`` (NaN when the mask is empty). depth, weight: (H, W)."""
    w = weight.to(depth.dtype)
    return (depth * w).sum() / w.sum()


def depth_loss(depth_pred: torch.Tensor, depth_ref: torch.Tensor | float) -> torch.Tensor:
    """Eq. 13: ``(D̂_O^t − D_O^0)²`` (metres²)."""
    return (depth_pred - torch.as_tensor(depth_ref, dtype=depth_pred.dtype)) ** 2


# --- refinement terms (S1-S3) --------------------------------------------------------------------


def hand_object_contact_loss(hand: torch.Tensor, obj: torch.Tensor, eps: float = 0.05
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame hand-object contact loss (S1–S2).

    The contact set C_t holds the hand vertices that have an object particle closer than ``eps``;
    each such vertex contributes its distance to the nearest particle, and the frame's loss is the
    mean over C_t (our reading of S2's ``1/#C_t · min d``: a mean of per-vertex minima; the literal
    "one minimum divided by the count" would shrink as more of the hand touches). Frames with an
    empty C_t give 0 with no gradient, as in the paper ("only applied when #C_t > 0").

    Args:
        hand: (T, Hv, 3) hand vertices per frame.
        obj: (T, M, 3) object particle positions per frame.
        eps: contact distance ε (metres).

    Returns:
        loss (T,) and count (T,) = #C_t.
    """
    d = torch.cdist(hand, obj)  # (T, Hv, M)
    dmin = d.min(dim=-1).values  # (T, Hv)
    in_set = (dmin < eps).to(hand.dtype)
    count = in_set.sum(dim=-1)
    loss = (dmin * in_set).sum(dim=-1) / count.clamp_min(1.0)
    return loss, count


def smoothness_loss(pose: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """S3: ``1/(T−1) Σ_t ‖Θ_t − Θ_{t+1}‖₂`` (the norm, not its square).

    The norm's gradient is undefined at 0, so it is evaluated as ``sqrt(‖·‖² + eps)``.

    Args:
        pose: (T, P) body poses of consecutive frames.

    Returns:
        scalar; 0 for fewer than two frames.
    """
    if pose.shape[0] < 2:
        return pose.sum() * 0.0
    diff = pose[1:] - pose[:-1]
    return torch.sqrt((diff * diff).sum(dim=-1) + eps).mean()


def penetration_loss(sdf_values: torch.Tensor) -> torch.Tensor:
    """Mean penetration depth ``mean(max(0, −s))`` of body points with signed distances ``s`` (any shape)."""
    return torch.relu(-sdf_values).mean()


# --- masks (Eq. 8) -------------------------------------------------------------------------------


def aggregated_static_masks(human: np.ndarray, obj: np.ndarray | None = None) -> np.ndarray:
    """Eq. 8: ``M_t = 1 − ∪_{i ≤ t} (M_H^i ∪ M_O^i)``, the static background of each frame.

    Pixels ever covered by the person or the object up to frame t are excluded from camera
    tracking, because a video generator invents what it uncovers (appendix D.1).

    Args:
        human: (T, H, W) bool human masks.
        obj: (T, H, W) bool object masks, or None.

    Returns:
        (T, H, W) bool.
    """
    from inhabit.perceive.segment import static_background_masks

    dyn = np.asarray(human, bool)
    if obj is not None:
        dyn = dyn | np.asarray(obj, bool)
    return static_background_masks(dyn)


def relative_improvement(best: float, current: float) -> float:
    """``(best − current) / |best|`` (inf when best is 0 and current is lower; for early stopping)."""
    if not math.isfinite(best):
        return math.inf
    if best == 0:
        return math.inf if current < 0 else 0.0
    return (best - current) / abs(best)


__all__ = [
    "aggregated_static_masks", "center_loss", "depth_loss", "dssim_loss", "gaussian_window",
    "hand_object_contact_loss", "l1_loss", "mask_center", "masked_l2", "masked_mean_depth",
    "penetration_loss", "relative_improvement", "rgb_loss", "smoothness_loss", "ssim", "ssim_map",
]
