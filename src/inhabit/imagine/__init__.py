"""2D generators: inpainting with dynamic masking, image-to-video, CLIP scoring, user-supplied media.

Submodules (nothing heavy is imported until a name is used):

* :mod:`inhabit.imagine.inpaint` — :class:`InpaintConfig`, the :class:`Inpainter` protocol,
  :class:`DiffusersInpainter` (SD-2/SDXL inpainting + GenZI dynamic masking),
  :class:`ImageFolderInpainter` (user images), :func:`inpaint_seed`, :func:`save_inpaint_result`.
* :mod:`inhabit.imagine.masking` — the mask maths (attention → mask, refinement dilation).
* :mod:`inhabit.imagine.attention` — the recording cross-attention processor.
* :mod:`inhabit.imagine.prompts` — prompt composition and human-token finding.
* :mod:`inhabit.imagine.video` — :class:`VideoGenerator`, :class:`VideoFile`,
  :class:`DiffusersVideoGenerator` (Wan 2.1 / CogVideoX I2V), reading/sub-sampling/writing clips.
* :mod:`inhabit.imagine.clip` — :class:`ClipScorer`, :func:`rank_hypotheses`.
* :mod:`inhabit.imagine.testing` — tiny random models and offline tokenizers for tests.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "InpaintConfig": "inpaint", "InpaintResult": "inpaint", "Inpainter": "inpaint",
    "DiffusersInpainter": "inpaint", "ImageFolderInpainter": "inpaint", "inpaint_seed": "inpaint",
    "save_inpaint_result": "inpaint", "silhouette_to_inpaint_mask": "masking",
    "attention_to_mask": "masking", "find_human_tokens": "prompts",
    "VideoClip": "video", "VideoGenerator": "video", "VideoFile": "video", "VideoConfig": "video",
    "DiffusersVideoGenerator": "video", "read_video": "video", "write_video": "video", "subsample": "video",
    "ClipScorer": "clip", "Ranking": "clip", "rank_hypotheses": "clip",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"inhabit.imagine.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'inhabit.imagine' has no attribute {name!r}")
