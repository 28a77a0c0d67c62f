"""Contact sheets: many images in one labelled grid (views, inpaintings, fits)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _as_rgb(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        a = (np.clip(a.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"contact_sheet: an image of shape {a.shape} is not (H, W), (H, W, 3) or (H, W, 4)")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return a[..., :3]


def contact_sheet(
    images: Sequence[np.ndarray],
    labels: Sequence[str] | None = None,
    cols: int | None = None,
    pad: int = 4,
    background: tuple[int, int, int] = (255, 255, 255),
    text_color: tuple[int, int, int] = (20, 20, 20),
    font_size: int | None = None,
) -> np.ndarray:
    """Arrange images in a grid, each with an optional label underneath.

    Args:
        images: (H, W), (H, W, 3) or (H, W, 4) arrays; uint8, bool, or floats in [0, 1]. Sizes may
            differ: each sits centred in a cell as large as the largest image.
        labels: one string per image (None: no label strip).
        cols: columns (default: ⌈√n⌉).
        pad: pixels between cells and around the sheet.
        font_size: label height in pixels (default: 1/16 of the cell width, at least 10).

    Returns:
        (H, W, 3) uint8.
    """
    if len(images) == 0:
        raise ValueError("contact_sheet needs at least one image")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"contact_sheet: {len(labels)} labels for {len(images)} images")
    imgs = [_as_rgb(i) for i in images]
    n = len(imgs)
    cols = max(1, min(n, cols or math.ceil(math.sqrt(n))))
    rows = math.ceil(n / cols)
    ch = max(i.shape[0] for i in imgs)
    cw = max(i.shape[1] for i in imgs)
    fs = font_size or max(10, cw // 16)
    lh = fs + pad if labels is not None else 0
    H = pad + rows * (ch + lh + pad)
    W = pad + cols * (cw + pad)
    sheet = np.empty((H, W, 3), np.uint8)
    sheet[:] = np.asarray(background, np.uint8)
    for k, im in enumerate(imgs):
        r, c = divmod(k, cols)
        y = pad + r * (ch + lh + pad) + (ch - im.shape[0]) // 2
        x = pad + c * (cw + pad) + (cw - im.shape[1]) // 2
        sheet[y:y + im.shape[0], x:x + im.shape[1]] = im
    if labels is not None:
        from PIL import Image, ImageDraw, ImageFont

        pil = Image.fromarray(sheet)
        draw = ImageDraw.Draw(pil)
        try:
            font = ImageFont.load_default(size=fs)
        except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
            font = ImageFont.load_default()
        for k, text in enumerate(labels):
            r, c = divmod(k, cols)
            x0 = pad + c * (cw + pad)
            y0 = pad + r * (ch + lh + pad) + ch + pad // 2
            text = str(text)
            # Shorten labels that would spill into the next cell.
            while text and draw.textlength(text, font=font) > cw:
                text = text[:-2] + "…" if len(text) > 2 else ""
            draw.text((x0 + (cw - draw.textlength(text, font=font)) / 2, y0), text, fill=tuple(text_color), font=font)
        sheet = np.asarray(pil)
    return sheet
