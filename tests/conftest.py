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

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


# Small scenes built in code for the camera and rendering tests (no files, a few hundred triangles).
def box_part(lo, hi, color=(0.8, 0.8, 0.8), name="box"):
    """A closed axis-aligned box as a MeshPart (outward winding)."""
    import trimesh

    from inhabit.scene.mesh import MeshPart

    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    m = trimesh.creation.box(extents=hi - lo)
    m.apply_translation((lo + hi) / 2)
    return MeshPart(m.vertices, m.faces, base_color=[*color, 1.0], name=name)


def quad_part(corners, color=(0.7, 0.7, 0.7), name="quad", uv=None, texture=None):
    """Two triangles over 4 corners given counter-clockwise."""
    from inhabit.scene.mesh import MeshPart

    return MeshPart(np.asarray(corners, float), np.array([[0, 1, 2], [0, 2, 3]]), base_color=[*color, 1.0],
                    name=name, uv=uv, texture=texture)


@pytest.fixture(scope="session")
def small_scene():
    """Floor (2 triangles), a box, a ball and a wall: ~700 triangles."""
    import trimesh

    from inhabit.scene.mesh import MeshPart, SceneMesh

    ball = trimesh.creation.icosphere(3, radius=0.3)
    ball.apply_translation([0.8, 0.3, 0.3])
    return SceneMesh([
        quad_part([[-4, -4, 0], [4, -4, 0], [4, 4, 0], [-4, 4, 0]], (0.7, 0.6, 0.5), "floor"),
        box_part([-0.25, -0.25, 0.0], [0.25, 0.25, 0.45], (0.2, 0.4, 0.8), "seat"),
        MeshPart(ball.vertices, ball.faces, base_color=[0.9, 0.2, 0.2, 1.0], name="ball"),
        box_part([-2.0, 1.2, 0.0], [2.0, 1.3, 2.5], (0.9, 0.9, 0.85), "wall"),
    ], name="small")


@pytest.fixture(scope="session")
def gl_renderer():
    from inhabit.render.mesh import MeshRenderer

    try:
        return MeshRenderer("gl")
    except Exception as e:  # pragma: no cover - machines without EGL
        pytest.skip(f"no EGL OpenGL here: {e}")


@pytest.fixture(scope="session")
def ray_renderer():
    from inhabit.render.mesh import MeshRenderer

    return MeshRenderer("raycast")


@pytest.fixture(scope="session", params=["gl", "raycast"])
def renderer(request):
    return request.getfixturevalue(f"{'gl' if request.param == 'gl' else 'ray'}_renderer")
