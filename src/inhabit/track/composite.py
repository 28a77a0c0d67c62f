"""Two-layer depth compositing and crops: the per-iteration fast path of the human/object fit.

ZeroHSI renders scene + human + object together at every iteration (Eq. 9). Within one frame the
camera is fixed after the camera step, so the static scene's Gaussians project identically at every
iteration; :func:`composite_layers` renders them *once* per frame and composites the few thousand
dynamic Gaussians over or under that image per pixel, by expected depth.

Exactness: 3DGS composites all Gaussians of a pixel in depth order. If at a pixel every dynamic
Gaussian is in front of every static one (or every one behind), the two-layer result equals the
joint render exactly (up to the renderer's early termination, T < 1e-4). Where they interleave
(a foot sinking into a rug's Gaussians, a hand inside a shelf) the pixel takes the order of the two
layers' *expected* depths, an approximation confined to contact pixels. Occlusion boundaries are not
differentiable in either path (3DGS's sort is not either).

A crop restricts the fit to the bounding box of what moves: outside it both the render and the
frame are the static scene at the same camera, so the loss on the crop differs from the loss on the
full image by a constant and a scale factor (which Adam ignores, up to its ε) — as long as the
dynamic Gaussians stay inside the crop, which the margin and the union with the current projection
ensure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Layer:
    """A rendered layer, colours premultiplied (composited over black).

    Attributes:
        rgb: (H, W, 3) ``Σ wᵢ cᵢ``.
        alpha: (H, W) accumulated opacity.
        depth: (H, W) expected camera depth ``Σ wᵢ zᵢ / alpha`` (≈ 0 where alpha ≈ 0).
        extra: (H, W, E) composited extra features, or None.
    """

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor
    extra: torch.Tensor | None = None

    def detach(self) -> Layer:
        return Layer(self.rgb.detach(), self.alpha.detach(), self.depth.detach(),
                     None if self.extra is None else self.extra.detach())

    def crop(self, box: Crop) -> Layer:
        return Layer(box.slice(self.rgb), box.slice(self.alpha), box.slice(self.depth),
                     None if self.extra is None else box.slice(self.extra))


def layer_from_splat(out) -> Layer:
    """A :class:`Layer` from a :class:`~inhabit.render.splat.SplatOutput` rendered over black."""
    return Layer(out.rgb, out.alpha, out.depth, out.extra)


def composite_layers(static: Layer, dynamic: Layer, background: torch.Tensor | None = None,
                     alpha_empty: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite a dynamic layer with a static one by per-pixel expected depth.

    At each pixel the layer with the smaller expected depth goes in front; a static pixel with
    ``alpha < alpha_empty`` (sky, nothing rendered) never occludes:
    ``C = C_f + (1 − α_f) C_b + (1 − α_f)(1 − α_b) · background``.

    Args:
        static: the scene layer (no gradient needed).
        dynamic: the human + object layer.
        background: (3,) colour behind both (default black).
        alpha_empty: static alpha below which a pixel counts as empty.

    Returns:
        rgb (H, W, 3) and ``visibility`` (H, W): the transmittance in front of the dynamic layer
        (1 where it is in front, ``1 − α_static`` where behind) — multiply the dynamic layer's
        ``extra`` by it to get what is *seen* of the dynamic Gaussians.
    """
    front = (dynamic.depth <= static.depth) | (static.alpha < alpha_empty)
    f = front.to(dynamic.rgb.dtype)[..., None]
    one_minus_s = (1.0 - static.alpha)[..., None]
    one_minus_d = (1.0 - dynamic.alpha)[..., None]
    rgb = f * (dynamic.rgb + one_minus_d * static.rgb) + (1.0 - f) * (static.rgb + one_minus_s * dynamic.rgb)
    if background is not None:
        rgb = rgb + one_minus_s * one_minus_d * background.to(rgb)
    visibility = torch.where(front, torch.ones_like(static.alpha), 1.0 - static.alpha)
    return rgb, visibility


@dataclass(frozen=True)
class Crop:
    """A pixel window: columns ``x0 .. x0 + width − 1``, rows ``y0 .. y0 + height − 1``."""

    x0: int
    y0: int
    width: int
    height: int

    def slice(self, img):
        """The window of an (H, W, ...) array or tensor."""
        return img[self.y0:self.y0 + self.height, self.x0:self.x0 + self.width]

    def camera(self, camera):
        """The camera of the window (same rays; :meth:`Camera.cropped`)."""
        return camera.cropped(self.x0, self.y0, self.width, self.height)

    @property
    def offset(self) -> tuple[float, float]:
        return float(self.x0), float(self.y0)

    @staticmethod
    def full(width: int, height: int) -> Crop:
        return Crop(0, 0, int(width), int(height))


def crop_box(width: int, height: int, masks: list[np.ndarray] = (), points: np.ndarray | None = None,
             margin: int = 16, multiple: int = 16) -> Crop:
    """The bounding box of some masks and pixel points, grown by ``margin`` and clipped to the image.

    The size is rounded up to a multiple of ``multiple`` (the splatter's tile size, so no tile is
    partly outside) where the image allows.

    Args:
        width, height: image size.
        masks: (H, W) bool masks.
        points: (N, 2) (x, y) pixel positions (e.g. projected vertices); non-finite rows ignored.
        margin: pixels added on every side.

    Returns:
        The crop; the full image when nothing is given or nothing falls inside the image.
    """
    xs, ys = [], []
    for m in masks:
        m = np.asarray(m, bool)
        if m.shape != (height, width):
            raise ValueError(f"crop_box: mask shape {m.shape} differs from the image's {(height, width)}")
        rows = np.flatnonzero(m.any(axis=1))
        cols = np.flatnonzero(m.any(axis=0))
        if len(rows):
            ys += [rows[0], rows[-1] + 1]
            xs += [cols[0], cols[-1] + 1]
    if points is not None and len(points):
        p = np.asarray(points, np.float64)
        p = p[np.isfinite(p).all(axis=1)]
        inside = (p[:, 0] > -margin) & (p[:, 0] < width + margin) & (p[:, 1] > -margin) & (p[:, 1] < height + margin)
        p = p[inside]
        if len(p):
            xs += [int(np.floor(p[:, 0].min())), int(np.ceil(p[:, 0].max()))]
            ys += [int(np.floor(p[:, 1].min())), int(np.ceil(p[:, 1].max()))]
    if not xs:
        return Crop.full(width, height)
    x0 = max(0, min(xs) - margin)
    x1 = min(width, max(xs) + margin)
    y0 = max(0, min(ys) - margin)
    y1 = min(height, max(ys) + margin)
    if x1 <= x0 or y1 <= y0:
        return Crop.full(width, height)
    w = min(width, -(-(x1 - x0) // multiple) * multiple)
    h = min(height, -(-(y1 - y0) // multiple) * multiple)
    x0 = min(x0, width - w)
    y0 = min(y0, height - h)
    return Crop(int(x0), int(y0), int(w), int(h))


__all__ = ["Crop", "Layer", "composite_layers", "crop_box", "layer_from_splat"]
