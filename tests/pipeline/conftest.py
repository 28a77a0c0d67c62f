"""Shared pieces of the pose-job tests: a small scene on disk, tiny random models saved to folders
(so the real loading paths run), the anny body, a known seated body and a keypoint detector that
projects it (the test hook standing in for a person in random diffusion images)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pose_helpers import SEAT, make_mini_scene, one_torch_thread


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="session")
def mini_scene_path(tmp_path_factory) -> Path:
    from inhabit.scene.load import save_scene

    return save_scene(make_mini_scene(), tmp_path_factory.mktemp("scene") / "mini.glb")


@pytest.fixture(scope="session")
def tiny_inpaint_dir(tmp_path_factory) -> Path:
    from inhabit.imagine.testing import save_tiny_inpaint_pipeline

    with one_torch_thread():
        return save_tiny_inpaint_pipeline(tmp_path_factory.mktemp("tiny_sd2") / "pipe", seed=0)


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> Path:
    from inhabit.imagine.testing import save_tiny_clip_model

    with one_torch_thread():
        return save_tiny_clip_model(tmp_path_factory.mktemp("tiny_clip") / "clip", seed=0)


@pytest.fixture(scope="session")
def anny():
    from inhabit.body import load_body_model

    return load_body_model("anny")


@pytest.fixture(scope="session")
def seated(anny):
    """(params, BodyOutput) of the 'sitting' pose placed on the bench, facing -Y."""
    from inhabit.body.poses import make_pose, place_body

    with torch.no_grad():
        params = place_body(anny, make_pose(anny, "sitting"), SEAT, facing=(0.0, -1.0, 0.0), pose_name="sitting")
        return params, anny(params)
