"""Helpers of the pose-job tests (a module with a unique name, so that test files can import it
whatever other test folders put on sys.path)."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

SEAT = np.array([0.0, 0.0, 0.45])
EYES = ((0.0, -2.0, 1.0), (1.5, -1.4, 1.0), (-1.5, -1.4, 1.0), (0.4, -2.4, 0.6))
"""Explicit camera positions of the e2e tests (so the test detector knows the cameras)."""


@contextlib.contextmanager
def one_torch_thread():
    """Small tensors gain nothing from threads; on a busy 2-core machine one thread is much faster."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_mini_scene():
    """A 4 x 4 m floor slab and a 1.2 m bench (seat top at z = 0.45), +Z up, with a named point."""
    import trimesh

    from inhabit.scene.mesh import MeshPart, SceneMesh

    floor = trimesh.creation.box((4.0, 4.0, 0.02))
    floor.apply_translation((0, 0, -0.01))
    bench = trimesh.creation.box((1.2, 0.45, 0.45))
    bench.apply_translation((0, 0, 0.225))
    return SceneMesh([MeshPart(floor.vertices, floor.faces, base_color=(0.7, 0.7, 0.7, 1), name="floor"),
                      MeshPart(bench.vertices, bench.faces, base_color=(0.6, 0.4, 0.2, 1), name="bench")],
                     name="mini", points={"seat": SEAT.copy()}, point_facing={"seat": np.array([0.0, -1.0, 0.0])})


class ProjectedDetector:
    """A ``KeypointDetector`` that ignores the pixels and returns the known body's keypoints
    projected into the cameras (plus a little deterministic noise per call). The pose job calls
    ``detect`` once per hypothesis with that hypothesis' images in camera order.

    Args:
        cameras: the run's cameras (explicit eyes make them known in advance).
        keypoints: (23, 3) world keypoints of the known body.
        drop: {call index: [view indices]} whose rows report no person.
        fail_after: raise after this many calls (a crash in the middle of a run).
    """

    def __init__(self, cameras, keypoints, drop=None, fail_after=None, noise_px=1.0):
        self.cameras, self.keypoints = cameras, keypoints
        self.drop = drop or {}
        self.fail_after = fail_after
        self.noise_px = noise_px
        self.calls = 0

    def detect(self, images):
        from inhabit.perceive.synthetic import project_keypoints
        from inhabit.structures import Keypoints2D

        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("simulated crash in the keypoint stage")
        assert len(images) == len(self.cameras)
        rng = np.random.default_rng(self.calls)
        rows = []
        for v, cam in enumerate(self.cameras):
            assert images[v].shape[:2] == (cam.height, cam.width)
            kp = project_keypoints(self.keypoints, cam)
            xy = kp.xy + rng.normal(0.0, self.noise_px, kp.xy.shape).astype(np.float32)
            conf = kp.conf * (0.0 if v in self.drop.get(self.calls, ()) else 1.0)
            rows.append(Keypoints2D(xy, conf, kp.names))
        self.calls += 1
        return Keypoints2D.stack(rows)
