"""Finding user-supplied weights, and saying exactly what is missing when they are not there.

Nothing here downloads at import time. :func:`resolve_pretrained` turns a config's model ID (a
Hugging Face repo ID or a local folder) into a local folder:

* a local path that exists is used as is;
* otherwise the Hugging Face cache is consulted *offline*;
* only when ``allow_download`` is true (the user's explicit choice, never in tests) is the hub
  asked, and any failure becomes one :class:`~inhabit.errors.MissingWeightsError` sentence.

Modules with learned components expose ``doctor_status() -> list[WeightStatus]`` and are listed in
:data:`DOCTOR_CHECKS`, so ``inhabit doctor`` can report them without importing them eagerly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from inhabit.errors import MissingWeightsError


@dataclass(frozen=True)
class WeightStatus:
    """What ``inhabit doctor`` prints for one learned component."""

    component: str
    """E.g. ``"inpainting (GenZI stage 'imagine')"``."""
    model_id: str
    """The configured ID or path."""
    found: bool
    location: str
    """Where it was found, or where it was looked for."""
    how_to_provide: str
    """One sentence: the command or the folder layout that makes it available."""
    optional: bool = True
    """False for components the default install needs (anny, BlazePose)."""


DOCTOR_CHECKS: list[str] = [
    "inhabit.body.anny_model:doctor_status",
    "inhabit.body.smplx_model:doctor_status",
    "inhabit.body.vposer:doctor_status",
    "inhabit.perceive.keypoints:doctor_status",
    "inhabit.imagine.inpaint:doctor_status",
    "inhabit.imagine.video:doctor_status",
    "inhabit.imagine.clip:doctor_status",
    "inhabit.perceive.segment:doctor_status",
]
"""``module:function`` of every component that needs weights (modules may add themselves)."""


def hf_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")


def find_in_hf_cache(model_id: str) -> Path | None:
    """The local snapshot folder of ``model_id`` in the Hugging Face cache, or None (never downloads)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - huggingface_hub comes with diffusers
        return None
    try:
        return Path(snapshot_download(model_id, local_files_only=True))
    except Exception:
        return None


def resolve_pretrained(model_id: str, component: str, allow_download: bool = False) -> Path:
    """A local folder holding ``model_id`` (an HF repo ID or a local path).

    Raises:
        MissingWeightsError: naming the ID, where it was looked for, and how to provide it.
    """
    p = Path(model_id).expanduser()
    if p.exists():
        return p
    if model_id.startswith((".", "/", "~")):
        raise MissingWeightsError(
            f"{component}: the local model folder {p} does not exist; point the config at a folder "
            f"saved with save_pretrained() or at a Hugging Face model ID"
        )
    cached = find_in_hf_cache(model_id)
    if cached is not None:
        return cached
    if allow_download and not hf_offline():
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(model_id))
        except Exception as e:
            raise MissingWeightsError(
                f"{component}: could not download {model_id!r} from the Hugging Face hub ({type(e).__name__}); "
                f"download it on a machine with network access (huggingface-cli download {model_id}) "
                f"and set the config's model ID to the local folder"
            ) from None
    raise MissingWeightsError(
        f"{component}: model {model_id!r} is not in the local Hugging Face cache "
        f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}); run `huggingface-cli download {model_id}` "
        f"or set the config's model ID to a local folder, then allow downloads with --allow-download "
        f"if you want inhabit to fetch it"
    )


def hf_status(component: str, model_id: str, optional: bool = True) -> WeightStatus:
    """A :class:`WeightStatus` for an HF-style model ID or local folder."""
    p = Path(model_id).expanduser()
    if p.exists():
        return WeightStatus(component, model_id, True, str(p), "found", optional)
    cached = find_in_hf_cache(model_id)
    if cached is not None:
        return WeightStatus(component, model_id, True, str(cached), "found", optional)
    return WeightStatus(
        component,
        model_id,
        False,
        f"HF cache {os.environ.get('HF_HOME', '~/.cache/huggingface')}",
        f"huggingface-cli download {model_id} (or set the model ID in the config to a local folder)",
        optional,
    )
