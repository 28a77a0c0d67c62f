"""Small array helpers shared by the metric modules (numpy float64 in, plain floats out)."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_np(x: Any, dtype=np.float64) -> np.ndarray:
    """numpy copy of an array-like or a torch tensor (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def check_shape(a: np.ndarray, name: str, last: tuple[int, ...], min_ndim: int | None = None) -> None:
    """ValueError naming ``name`` unless ``a`` ends with the dimensions ``last``."""
    nd = len(last) if min_ndim is None else min_ndim
    if a.ndim < nd or tuple(a.shape[a.ndim - len(last):]) != last:
        want = "(..., " + ", ".join(str(d) for d in last) + ")"
        raise ValueError(f"{name} has shape {a.shape}, expected {want}")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must match")
