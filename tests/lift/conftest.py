"""tests/lift: make the helper module importable and offer its stand-ins as fixtures."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lift_helpers


@pytest.fixture
def stick():
    return lift_helpers.StickBody()


@pytest.fixture
def identity_prior():
    return lift_helpers.IdentityPrior()


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The lifting tests use small tensors: one intra-op thread avoids OpenMP contention."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
