"""The mask maths of GenZI's inpainting, as pure functions of tensors.

Dynamic masking (GenZI §3.2, numbers in ``genzi_facts.md`` §4.3): at the end of each of the first
denoising steps, the cross-attention maps of the human tokens say where the person is forming.
The next step's inpainting mask is built from them:

1. mean of the human-token maps of the last 3 steps, summed over the human tokens;
2. 3×3 box filter, zero padded, the padding counted (borders are damped);
3. bicubic upsampling to the image size;
4. threshold at the 0.7 quantile: the top 30 % of the image is masked, always.

Refinement (GenZI's second stage) replaces the dynamic mask by the dilated silhouette of the
previous body: :func:`silhouette_to_inpaint_mask`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from inhabit.errors import InputError


def mean_of_recent(history: list[torch.Tensor], count: int = 3) -> torch.Tensor:
    """Mean of the last ``count`` maps of ``history`` (fewer at the start).

    Args:
        history: per-step maps, each (B, h, w), oldest first; must not be empty.
    Returns:
        (B, h, w) float32.
    """
    if not history:
        raise ValueError("mean_of_recent needs at least one recorded step")
    recent = history[-max(1, count):]
    return torch.stack([m.float() for m in recent]).mean(dim=0)


def box_filter(maps: torch.Tensor, size: int = 3) -> torch.Tensor:
    """``size``×``size`` mean filter, stride 1, zero padding counted in the mean.

    Args:
        maps: (B, h, w).
    Returns:
        (B, h, w); border cells are damped because the zero padding enters the average.
    """
    if size <= 1:
        return maps
    if size % 2 == 0:
        raise ValueError(f"box filter size must be odd, got {size}")
    return F.avg_pool2d(maps[:, None].float(), size, stride=1, padding=size // 2, count_include_pad=True)[:, 0]


def upsample_maps(maps: torch.Tensor, size: tuple[int, int], mode: str = "bicubic") -> torch.Tensor:
    """Resize (B, h, w) maps to (B, H, W); ``bicubic`` (GenZI), ``bilinear`` or ``nearest``.

    Bicubic may overshoot the input range near sharp edges; the quantile threshold that follows is
    rank based, so that is harmless.
    """
    x = maps[:, None].float()
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")[:, 0]
    return F.interpolate(x, size=size, mode=mode, align_corners=False)[:, 0]


def quantile_mask(values: torch.Tensor, quantile: float = 0.7) -> torch.Tensor:
    """Per image, True where ``values`` ≥ their ``quantile`` (linear-interpolated quantile).

    Args:
        values: (B, H, W).
    Returns:
        (B, H, W) bool covering about ``1 - quantile`` of each image (more when values tie, e.g. a
        constant map is masked entirely).
    """
    flat = values.reshape(values.shape[0], -1).float()
    q = torch.quantile(flat, quantile, dim=1, interpolation="linear")
    return (flat >= q[:, None]).reshape(values.shape)


def attention_to_mask(
    human_maps: torch.Tensor,
    size: tuple[int, int],
    box: int = 3,
    quantile: float = 0.7,
    upsample: str = "bicubic",
) -> torch.Tensor:
    """The dynamic inpainting mask from (already time-averaged) human-token attention.

    Args:
        human_maps: (B, h, w) attention summed over the human tokens.
        size: (H, W) of the images.
    Returns:
        (B, H, W) bool, True = repaint.
    """
    smoothed = box_filter(human_maps.float(), box)
    return quantile_mask(upsample_maps(smoothed, size, upsample), quantile)


def silhouette_to_inpaint_mask(silhouette: np.ndarray, kernel: int = 11, iterations: int = 8) -> np.ndarray:
    """Refinement mask: the silhouette grown by a ``kernel``×``kernel`` square, ``iterations`` times.

    OpenCV dilation with an all-ones kernel, as GenZI's stage 1 (11×11, 8 iterations: about 5 px
    per iteration, 40 px in all, Chebyshev growth). :func:`dilate_reference` is the torch
    reference of the same operation.

    Args:
        silhouette: (H, W) bool (or 0/1, or alpha in [0, 1] thresholded at 0.5).
    Returns:
        (H, W) bool.
    """
    import cv2

    sil = _as_binary(silhouette)
    _check_kernel(kernel, iterations)
    if kernel <= 1 or iterations == 0:
        return sil.copy()
    out = cv2.dilate(sil.astype(np.uint8), np.ones((kernel, kernel), np.uint8), iterations=iterations)
    return out.astype(bool)


def dilate_reference(silhouette: np.ndarray, kernel: int = 11, iterations: int = 8) -> np.ndarray:
    """Readable torch reference of :func:`silhouette_to_inpaint_mask` (max pooling, -inf padding)."""
    sil = _as_binary(silhouette)
    _check_kernel(kernel, iterations)
    x = torch.from_numpy(sil.astype(np.float32))[None, None]
    for _ in range(iterations if kernel > 1 else 0):
        x = F.max_pool2d(x, kernel, stride=1, padding=kernel // 2)
    return x[0, 0].numpy() > 0.5


def _as_binary(silhouette: np.ndarray) -> np.ndarray:
    sil = np.asarray(silhouette)
    if sil.ndim != 2:
        raise InputError(f"silhouette has shape {sil.shape}; expected an (H, W) mask")
    if sil.dtype == bool:
        return sil
    if not np.all(np.isfinite(sil)):
        raise InputError("silhouette contains NaN or infinite values; expected an (H, W) mask in [0, 1]")
    if sil.dtype == np.uint8 and sil.max(initial=0) > 1:
        return sil >= 128
    return sil >= 0.5


def _check_kernel(kernel: int, iterations: int) -> None:
    if kernel < 1 or kernel % 2 == 0:
        raise InputError(f"dilation kernel must be a positive odd size, got {kernel}")
    if iterations < 0:
        raise InputError(f"dilation iterations must be >= 0, got {iterations}")
