"""Semantic metrics from CLIP embeddings (GenZI §4 CLIP score; ZeroHSI §4 CLIP score and consistency).

The functions take embeddings, not images: any CLIP implementation (``inhabit.imagine.clip``,
open_clip, transformers) produces them, and the maths is testable without weights. Embeddings need
not be normalised; every function L2-normalises first.

Two scales are in use in the papers:

* GenZI (authors' code, ``genzi_facts.md`` §7.2): the **plain cosine** between the image and text
  features of ``openai/clip-vit-base-patch32`` (no logit scale, no x100), averaged over the views.
* ZeroHSI (Tab. 1, 2): values such as 23.52, i.e. the torchmetrics-style ``100 * max(cos, 0)``
  averaged over rendered frames (:func:`clip_score_100`). CLIP consistency is the plain cosine of
  adjacent frames' image embeddings (values such as 0.9928).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from inhabit.evaluate._arrays import as_np


def normalize(x: Any, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit length. x: (..., D) -> (..., D); a zero row stays zero (norm clamped to eps)."""
    a = as_np(x)
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), eps)


def clip_cosine(image_emb: Any, text_emb: Any) -> np.ndarray:
    """Cosine similarity of each image with one text.

    ``cos_i = <f_i / |f_i|, g / |g|>``.

    Args:
        image_emb: (N, D) image features.
        text_emb: (D,) or (1, D) text features.

    Returns:
        (N,) cosines in [-1, 1] (GenZI's per-view CLIP score).
    """
    img = normalize(image_emb)
    txt = normalize(as_np(text_emb).reshape(-1))
    if img.ndim != 2 or img.shape[1] != txt.shape[0]:
        raise ValueError(f"image_emb has shape {img.shape}, expected (N, {txt.shape[0]}) to match text_emb")
    return img @ txt


def clip_score_100(image_emb: Any, text_emb: Any) -> np.ndarray:
    """(N,) ``100 * max(cos, 0)``: the CLIPScore scale of torchmetrics used by ZeroHSI's tables."""
    return 100.0 * np.maximum(clip_cosine(image_emb, text_emb), 0.0)


def result_clip_score(view_cosines: Any) -> float:
    """GenZI's score of one result: the mean over its views. view_cosines: (k,) -> float."""
    v = as_np(view_cosines).reshape(-1)
    if v.size == 0:
        raise ValueError("a result needs at least one view to have a CLIP score")
    return float(v.mean())


def mean_of_all(scores: Sequence[float] | np.ndarray) -> float:
    """GenZI's ``MeanOfAll``: the mean of the per-result scores over all results. scores: (R,)."""
    s = as_np(scores).reshape(-1)
    if s.size == 0:
        raise ValueError("MeanOfAll needs at least one result")
    return float(s.mean())


def mean_of_max(scores: Sequence[float] | np.ndarray, groups: Sequence[Hashable]) -> float:
    """GenZI's ``MeanOfMax``: for each interaction the best result's score, averaged over interactions.

    ``MeanOfMax = 1/|G| sum_g max_{r in g} s_r``.

    Args:
        scores: (R,) per-result scores.
        groups: R interaction labels (results of the same prompt at the same point share one).
    """
    s = as_np(scores).reshape(-1)
    if len(groups) != s.size:
        raise ValueError(f"got {s.size} scores but {len(groups)} group labels")
    if s.size == 0:
        raise ValueError("MeanOfMax needs at least one result")
    best: dict[Hashable, float] = {}
    for g, v in zip(groups, s):
        best[g] = max(best.get(g, -np.inf), float(v))
    return float(np.mean(list(best.values())))


def clip_consistency(frame_emb: Any) -> float:
    """ZeroHSI's CLIP consistency: the mean cosine between adjacent frames' image embeddings.

    ``CC = 1/(T-1) sum_{t=1}^{T-1} cos(f_{t-1}, f_t)``; 1 for a static video.

    Args:
        frame_emb: (T, D) image features of the rendered frames, T >= 2.
    """
    f = normalize(frame_emb)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"frame_emb has shape {f.shape}, expected (T, D) with at least 2 frames")
    return float(np.sum(f[1:] * f[:-1], axis=-1).mean())
