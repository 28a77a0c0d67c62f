"""Device/dtype choice and guarded ``from_pretrained`` for the generative models."""

from __future__ import annotations

import json
from pathlib import Path

from inhabit.config import resolve_device  # noqa: F401 - re-exported for the loaders
from inhabit.errors import InputError, MissingWeightsError

DTYPES = ("auto", "fp16", "bf16", "fp32")


def resolve_dtype(dtype: str, device: str, cuda_default: str = "fp16"):
    """torch dtype: ``auto`` = ``cuda_default`` on CUDA, fp32 on CPU (half precision is slow or
    unsupported there)."""
    import torch

    if dtype not in DTYPES:
        raise InputError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if dtype == "auto":
        dtype = cuda_default if device.startswith("cuda") else "fp32"
    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[dtype]


def read_model_index(folder: Path, component: str) -> dict:
    """The ``model_index.json`` of a diffusers pipeline folder, or a MissingWeightsError."""
    index = folder / "model_index.json"
    if not index.is_file():
        raise MissingWeightsError(
            f"{component}: {folder} has no model_index.json; expected a diffusers pipeline folder "
            f"(saved with save_pretrained() or downloaded with huggingface-cli download)"
        )
    try:
        return json.loads(index.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise MissingWeightsError(f"{component}: {index} could not be read as JSON ({e}); "
                                  f"re-download the model folder") from None


def load_diffusers_pipeline(cls, folder: Path, component: str, **kwargs):
    """``cls.from_pretrained(folder, local_files_only=True, **kwargs)`` with load errors turned into
    one MissingWeightsError sentence naming the folder."""
    import warnings

    try:
        with warnings.catch_warnings():
            # newer diffusers renamed torch_dtype to dtype; the old name works across versions
            warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
            return cls.from_pretrained(folder, local_files_only=True, **kwargs)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError, json.JSONDecodeError) as e:
        first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        raise MissingWeightsError(
            f"{component}: could not load a {cls.__name__} from {folder} ({type(e).__name__}: {first}); "
            f"expected a complete diffusers folder (model_index.json and one sub-folder per component)"
        ) from None
