"""CLIP scores: how well images match a text, and how consistent consecutive frames are.

Both papers use CLIP this way. GenZI (``genzi_facts.md`` §7.2) ranks and evaluates hypotheses by
the **plain cosine** between L2-normalised image and text features of
``openai/clip-vit-base-patch32`` (no logit scale, no ×100), averaged over views; the text is
``"prefix, prompt"`` (no suffix). ZeroHSI adds *CLIP consistency*: the mean cosine between the
image embeddings of adjacent frames.

:func:`rank_hypotheses` orders hypotheses by CLIP score when scores exist and otherwise by a
fallback energy the caller supplies (e.g. the lifting fit's final robust reprojection energy):
lower energy first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from inhabit.errors import InputError
from inhabit.weights import WeightStatus, hf_status, resolve_pretrained

DEFAULT_CLIP = "openai/clip-vit-base-patch32"
COMPONENT = "CLIP scorer (ClipScorer model_id)"


def _features(out):
    """Projected features from ``get_*_features`` (a tensor in transformers 4, an output in 5)."""
    import torch

    return out if isinstance(out, torch.Tensor) else out.pooler_output


def cosine_matrix(a, b):
    """(N, D) × (M, D) → (N, M) cosine similarities (rows L2-normalised first)."""
    import torch

    a = torch.nn.functional.normalize(a.float(), dim=-1)
    b = torch.nn.functional.normalize(b.float(), dim=-1)
    return a @ b.T


class ClipScorer:
    """Image-text cosine and frame consistency with a ``transformers`` CLIP model.

    Args:
        model_id: hub ID (cached) or a local folder holding the model, its tokenizer and its image
            processor (what ``save_pretrained`` of each writes).
        device: ``auto``, ``cpu`` or ``cuda``.
        batch_size: images per forward pass.
        allow_download: let inhabit fetch ``model_id`` when it is not cached.

    Raises:
        MissingWeightsError: when the model is not available, naming the ID and how to provide it.
    """

    def __init__(self, model_id: str = DEFAULT_CLIP, device: str = "auto", batch_size: int = 32,
                 allow_download: bool = False) -> None:
        from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

        from inhabit.errors import MissingWeightsError
        from inhabit.imagine._loading import resolve_device

        self.model_id = model_id
        folder = resolve_pretrained(model_id, COMPONENT, allow_download=allow_download)
        self.device = resolve_device(device)
        try:
            self.model = CLIPModel.from_pretrained(folder, local_files_only=True).to(self.device).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            self.processor = CLIPImageProcessor.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError) as e:
            first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            raise MissingWeightsError(
                f"{COMPONENT}: could not load a CLIP model, tokenizer and image processor from {folder} "
                f"({type(e).__name__}: {first}); expected a folder like openai/clip-vit-base-patch32's"
            ) from None
        self.batch_size = int(batch_size)

    def image_features(self, images: Sequence[np.ndarray]):
        """(N, D) float32 L2-normalised image embeddings of N (H, W, 3) uint8 images."""
        import torch

        imgs = _check_images(images)
        feats = []
        with torch.no_grad():
            for s in range(0, len(imgs), self.batch_size):
                px = self.processor(images=list(imgs[s:s + self.batch_size]), return_tensors="pt")["pixel_values"]
                out = self.model.get_image_features(pixel_values=px.to(self.device, self.model.dtype))
                feats.append(_features(out).float())
        return torch.nn.functional.normalize(torch.cat(feats), dim=-1).cpu()

    def text_features(self, texts: Sequence[str]):
        """(M, D) float32 L2-normalised text embeddings (texts truncated to the model's 77 tokens)."""
        import torch

        if isinstance(texts, str) or not texts or not all(isinstance(t, str) for t in texts):
            raise InputError("CLIP texts must be a non-empty list of strings")
        limit = int(self.model.config.text_config.max_position_embeddings)
        tok = self.tokenizer(list(texts), padding=True, truncation=True, max_length=limit, return_tensors="pt")
        with torch.no_grad():
            out = self.model.get_text_features(input_ids=tok["input_ids"].to(self.device),
                                               attention_mask=tok["attention_mask"].to(self.device))
        return torch.nn.functional.normalize(_features(out).float(), dim=-1).cpu()

    def scores(self, images: Sequence[np.ndarray], texts: Sequence[str]) -> np.ndarray:
        """(N, M) cosine of every image with every text."""
        return cosine_matrix(self.image_features(images), self.text_features(texts)).numpy()

    def score(self, images: Sequence[np.ndarray], text: str) -> np.ndarray:
        """(N,) plain cosine of each image with ``text`` (GenZI's CLIP score of one view)."""
        return self.scores(images, [text])[:, 0]

    def frame_consistency(self, frames: Sequence[np.ndarray] | np.ndarray) -> float:
        """Mean cosine between the embeddings of adjacent frames (ZeroHSI's CLIP consistency)."""
        return float(self.adjacent_similarities(frames).mean())

    def adjacent_similarities(self, frames: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """(T-1,) cosine between frames t and t+1."""
        frames = list(np.asarray(frames)) if isinstance(frames, np.ndarray) else list(frames)
        if len(frames) < 2:
            raise InputError(f"frame consistency needs at least 2 frames, got {len(frames)}")
        f = self.image_features(frames)
        return (f[:-1] * f[1:]).sum(dim=-1).numpy()


def _check_images(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(images, np.ndarray) and images.ndim == 3:
        images = [images]
    out = [np.asarray(im) for im in images]
    if not out:
        raise InputError("CLIP scoring needs at least one image")
    for i, a in enumerate(out):
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
            raise InputError(f"CLIP image {i} is {a.dtype} {a.shape}; expected (H, W, 3) uint8 RGB")
    return out


@dataclass(frozen=True)
class Ranking:
    """Hypotheses best first.

    Attributes:
        order: (N,) indices into the hypotheses, best first.
        method: ``"clip"`` (higher score first), ``"energy"`` (lower energy first) or ``"none"``
            (input order, nothing to rank by).
        values: (N,) the values ranked by, in input order (NaN where unknown).
    """

    order: np.ndarray
    method: Literal["clip", "energy", "none"]
    values: np.ndarray

    def top(self, fraction: float = 0.5, min_keep: int = 1) -> np.ndarray:
        """The best ⌊fraction·N⌋ hypotheses, at least ``min_keep`` (GenZI keeps ⌊0.5·N⌋ after its
        first stage; with a single survivor that is 0, which silently skips refinement, so at
        least one is kept here)."""
        k = max(int(np.floor(fraction * len(self.order))), min_keep)
        return self.order[: min(k, len(self.order))]


def rank_hypotheses(scores: Sequence[float] | None, fallback_energies: Sequence[float] | None = None) -> Ranking:
    """Order hypotheses by CLIP score, or by a fallback energy when there are no scores.

    Args:
        scores: (N,) CLIP scores (e.g. mean over views of :meth:`ClipScorer.score`), or None when no
            CLIP model is available. NaN scores rank last.
        fallback_energies: (N,) energies where lower is better (e.g. the lift's final robust
            reprojection energy per hypothesis); used when ``scores`` is None or all NaN. NaN last.

    Returns:
        a :class:`Ranking`; ties keep input order (stable sort).
    """
    def as_array(x, name):
        a = np.asarray(x, dtype=np.float64).reshape(-1)
        if np.any(np.isinf(a)):
            raise InputError(f"rank_hypotheses: {name} contains infinite values")
        return a

    if scores is not None:
        s = as_array(scores, "scores")
        if fallback_energies is not None and len(as_array(fallback_energies, "fallback_energies")) != len(s):
            raise InputError(f"rank_hypotheses: {len(s)} scores but {len(fallback_energies)} fallback energies")
        if len(s) and not np.all(np.isnan(s)):
            key = np.where(np.isnan(s), np.inf, -s)
            return Ranking(np.argsort(key, kind="stable"), "clip", s)
    if fallback_energies is not None:
        e = as_array(fallback_energies, "fallback_energies")
        key = np.where(np.isnan(e), np.inf, e)
        return Ranking(np.argsort(key, kind="stable"), "energy", e)
    n = 0 if scores is None else len(np.asarray(scores).reshape(-1))
    return Ranking(np.arange(n), "none", np.full(n, np.nan))


def doctor_status() -> list[WeightStatus]:
    """Status of the CLIP model used for ranking and evaluation (optional: ranking falls back)."""
    return [hf_status("CLIP scoring (hypothesis ranking, CLIP score/consistency)", DEFAULT_CLIP, optional=True)]


def clip_available(model_id: str = DEFAULT_CLIP) -> bool:
    """True when ``model_id`` is a local folder or in the HF cache (no download attempted)."""
    return bool(hf_status("clip", model_id).found)
