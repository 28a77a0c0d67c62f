"""Pictures of a run: contact sheets of views, inpaintings with their masks, keypoint overlays,
lifting overlays, final renders, and loss curves. Pure functions from arrays to (H, W, 3) uint8
images; the pipeline writes them.

Sheets are grids (:func:`inhabit.render.sheets.contact_sheet`) of pictures shrunk to ``tile``
pixels on their longer side, so a 16-view sheet stays a few hundred kilobytes; the full-size
pictures stay in the run folder next to each sheet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from inhabit.structures import Keypoints2D

OK_COLOR = (40, 170, 60)
DROP_COLOR = (220, 40, 40)
MASK_COLOR = (255, 40, 200)


def shrink(image: np.ndarray, tile: int) -> np.ndarray:
    """``image`` (H, W[, 3]) scaled so its longer side is at most ``tile`` pixels (area filter)."""
    import cv2

    img = np.asarray(image)
    h, w = img.shape[:2]
    s = tile / max(h, w)
    if s >= 1.0:
        return img
    size = (max(1, round(w * s)), max(1, round(h * s)))
    if img.dtype == bool:
        return cv2.resize(img.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) >= 128
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def _frame(image: np.ndarray, color: Sequence[int], width: int = 3) -> np.ndarray:
    img = np.array(image, copy=True)
    c = np.asarray(color, np.uint8)
    img[:width], img[-width:], img[:, :width], img[:, -width:] = c, c, c, c
    return img


def grid_sheet(rows: Sequence[Sequence[np.ndarray | None]], labels: Sequence[Sequence[str]] | None = None,
               tile: int = 256) -> np.ndarray:
    """A sheet with one row per entry of ``rows`` (None cells stay blank), columns aligned.

    A single row is wrapped into a square-ish grid instead (one hypothesis over many views).
    """
    from inhabit.render.sheets import contact_sheet

    cols = max((len(r) for r in rows), default=1)
    ref = next((x for rr in rows for x in rr if x is not None), None)
    blank = np.full_like(shrink(ref, tile), 255) if ref is not None else np.full((tile, tile, 3), 255, np.uint8)
    cells, texts = [], []
    for i, r in enumerate(rows):
        for j in range(cols):
            im = r[j] if j < len(r) else None
            cells.append(blank if im is None else shrink(im, tile))
            texts.append(labels[i][j] if labels is not None and j < len(labels[i]) else "")
    return contact_sheet(cells, texts if labels is not None else None, cols=None if len(rows) == 1 else cols)


def transpose(rows: Sequence[Sequence]) -> list[list]:
    """Rows ↔ columns of a ragged table (missing cells become None)."""
    n = max((len(r) for r in rows), default=0)
    return [[r[j] if j < len(r) else None for r in rows] for j in range(n)]


def views_sheet(renders: Sequence[np.ndarray], names: Sequence[str], vis_ratio: Sequence[float] | None = None,
                tile: int = 256) -> np.ndarray:
    """The selected views, labelled ``view003 0.87`` (name and visible fraction of the patch)."""
    from inhabit.render.sheets import contact_sheet

    labels = [n if vis_ratio is None else f"{n}  {v:.2f}" for n, v in zip(names, vis_ratio if vis_ratio is not None
                                                                          else [0] * len(names))]
    return contact_sheet([shrink(r, tile) for r in renders], labels)


def masked_image(image: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The inpainting with the mask it was generated with tinted and outlined."""
    from inhabit.render.draw import draw_mask

    if mask is None or not np.any(mask):
        return np.asarray(image)
    return draw_mask(image, np.asarray(mask, bool), color=MASK_COLOR, alpha=0.25)


def inpaint_sheet(images: Sequence[Sequence[np.ndarray]], masks: Sequence[Sequence[np.ndarray | None]],
                  hyp_labels: Sequence[str], view_names: Sequence[str], tile: int = 256) -> np.ndarray:
    """Inpaintings ``images[h][v]``, each with its final mask outlined: one row per view, one column
    per hypothesis (a single hypothesis is wrapped into a grid)."""
    rows = [[masked_image(im, m) for im, m in zip(ims, ms)] for ims, ms in zip(images, masks)]
    labels = [[f"{v} {r}" for v in view_names[: len(ims)]] for r, ims in zip(hyp_labels, images)]
    if len(rows) == 1:
        return grid_sheet(rows, labels, tile)
    return grid_sheet(transpose(rows), transpose(labels), tile)


def keypoint_overlay(image: np.ndarray, kp: Keypoints2D, accepted: bool, note: str = "",
                     min_score: float = 0.25) -> np.ndarray:
    """One detection: skeleton over the image, green frame when accepted, red when dropped."""
    from inhabit.render.draw import draw_keypoints, draw_text

    img = np.asarray(image)
    if kp.conf.max(initial=0.0) > 0:
        img = draw_keypoints(img, kp[0], min_conf=min_score)
    img = _frame(img, OK_COLOR if accepted else DROP_COLOR, max(2, img.shape[0] // 128))
    if note:
        img = draw_text(img, note, (4, 4))
    return img


def lift_overlay(image: np.ndarray, detected: Keypoints2D, projected_xy: np.ndarray, weight: float, used: bool,
                 min_score: float = 0.25) -> np.ndarray:
    """Detected keypoints (palette) vs the fitted body's projected keypoints (magenta), residual
    lines between them, and the learnt view weight."""
    from inhabit.render.draw import draw_keypoint_pairs, draw_text

    img = draw_keypoint_pairs(image, detected[0], np.asarray(projected_xy, np.float32), min_conf=min_score)
    label = f"w = {weight:.2f}" if used else "not used"
    return draw_text(img, label, (4, 4))


def loss_plot(history: Mapping[str, np.ndarray], hypothesis: int, title: str = "", size: tuple[int, int] = (640, 400),
              terms: Sequence[str] | None = None) -> np.ndarray:
    """Weighted energy terms of one hypothesis against the iteration (log scale), as an image.

    Args:
        history: ``LiftResult.history`` (``iteration`` (n,), per term (n, H), ``weight/<term>`` (n,)).
        hypothesis: the column to plot.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    its = np.asarray(history["iteration"])
    fig = Figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    names = terms or [k for k in history if not k.startswith("weight/") and k not in ("iteration", "view_weights")]
    for name in names:
        vals = np.asarray(history[name], np.float64)
        if vals.ndim != 2:
            continue
        v = vals[:, hypothesis]
        w = np.asarray(history.get(f"weight/{name}", np.ones_like(its)), np.float64) if name != "total" else 1.0
        y = v * w
        ok = np.isfinite(y) & (y > 0)
        if ok.sum() < 2:
            continue
        ax.plot(its[ok], y[ok], label=name, lw=2.0 if name == "total" else 1.0)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("weighted energy")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
