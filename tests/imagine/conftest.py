"""Tiny random models shared by the imagine tests (built once per session, offline)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

PROMPT = "sitting on the bench"


@contextlib.contextmanager
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine two OpenMP threads
    competing with other processes run ~10× slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="session")
def sd_dir(tmp_path_factory):
    from inhabit.imagine.testing import save_tiny_inpaint_pipeline

    with one_torch_thread():
        return save_tiny_inpaint_pipeline(tmp_path_factory.mktemp("tiny_sd2") / "pipe", seed=0, variant="sd2")


@pytest.fixture(scope="session")
def inpainter(sd_dir):
    """A DiffusersInpainter loaded from the saved tiny SD-2 pipeline (the real loading path):
    8 steps, masks rebuilt after steps 0..3, every step's mask kept."""
    from inhabit.imagine.inpaint import DiffusersInpainter
    from inhabit.imagine.testing import tiny_inpaint_config

    with one_torch_thread():
        return DiffusersInpainter(tiny_inpaint_config(sd_dir, num_inference_steps=8, dynamic_mask_steps=(0, 4),
                                                      mask_save_every=1))


@pytest.fixture(scope="session")
def renders():
    """Three 64×64 'renders' (blocky random colour fields)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(3):
        small = rng.integers(0, 256, (4, 4, 3)).astype(np.float32)
        out.append(np.kron(small, np.ones((16, 16, 1))).astype(np.uint8))
    return out


@pytest.fixture(scope="session")
def two_views(inpainter, renders):
    """One dynamic-masking run on two views, shared by the checks of its outputs."""
    keys = [("view000", 0), ("view001", 1)]
    with one_torch_thread():
        return inpainter.inpaint(renders[:2], PROMPT, [1, 2], keys=keys)
