"""Test-wide settings: offline, project-local caches, no progress bars, CPU only."""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("INHABIT_CACHE_DIR", str(_ROOT / ".cache"))
os.environ.setdefault("ANNY_CACHE_DIR", str(_ROOT / ".cache" / "anny"))
os.environ.setdefault("WARP_CACHE_PATH", str(_ROOT / ".cache" / "warp"))
os.environ.setdefault("MPLCONFIGDIR", str(_ROOT / ".cache" / "matplotlib"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["INHABIT_PROGRESS"] = "0"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
