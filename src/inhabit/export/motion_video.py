"""Videos and sheets of a motion: the input clip, the reconstruction seen from the video's cameras,
a side view, their side-by-side comparison, and a contact sheet of chosen frames.

Pure helpers over arrays plus the mp4 writer of :mod:`inhabit.imagine.video` (H.264, yuv420p,
atomic). Rendering is the caller's: it passes frames, or a ``render(t, camera) -> (H, W, 3)``
function to :func:`render_sequence`.

The side camera (:func:`side_camera`) looks at the centre of what moves (the body's vertices over
all frames, and the object) from the video camera's horizontal viewing direction turned by
``azimuth_deg`` about +Z, ``elevation_deg`` above the horizon, far enough that the bounding sphere
of those points fits the narrower field of view with a margin. It is one fixed camera for the whole
clip, so the motion reads as motion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from inhabit.conventions import UP
from inhabit.errors import InputError


def frame_indices(num_frames: int, k: int) -> np.ndarray:
    """``min(k, T)`` frame indices evenly spread over ``0 .. T-1``, first and last included."""
    n = int(num_frames)
    if n < 1:
        raise InputError("frame_indices: the sequence has no frames")
    k = max(1, min(int(k), n))
    if k == 1:
        return np.zeros(1, np.int64)
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(np.int64))


def side_camera(points: np.ndarray, view_forward: np.ndarray, width: int, height: int, fov_y_deg: float = 50.0,
                azimuth_deg: float = 90.0, elevation_deg: float = 20.0, margin: float = 1.15, name: str = "side"):
    """A camera that sees every point of ``points`` from the side of the video camera.

    Args:
        points: (N, 3) world points that must be in view (body vertices of all frames, object).
        view_forward: (3,) the video camera's viewing direction (world); its horizontal part is
            turned by ``azimuth_deg`` about +Z (positive = counter-clockwise seen from above).
        width, height, fov_y_deg: the side camera's image and vertical field of view.
        elevation_deg: the side camera looks down at this angle.
        margin: the bounding sphere's radius is scaled by this before fitting.

    Returns:
        A :class:`~inhabit.camera.pinhole.Camera` looking at the points' bounding-box centre.
    """
    from inhabit.camera.pinhole import Camera

    P = np.asarray(points, np.float64).reshape(-1, 3)
    P = P[np.all(np.isfinite(P), axis=1)]
    if len(P) == 0:
        raise InputError("side_camera: no finite point to look at")
    lo, hi = P.min(axis=0), P.max(axis=0)
    c = 0.5 * (lo + hi)
    r = max(float(np.linalg.norm(P - c, axis=1).max()), 0.05) * margin
    f = np.asarray(view_forward, np.float64).copy()
    f[2] = 0.0
    if np.linalg.norm(f) < 1e-9:
        f = np.array([0.0, 1.0, 0.0])
    f /= np.linalg.norm(f)
    a, e = math.radians(azimuth_deg), math.radians(elevation_deg)
    d = np.array([f[0] * math.cos(a) - f[1] * math.sin(a), f[0] * math.sin(a) + f[1] * math.cos(a), 0.0])
    forward = math.cos(e) * d - math.sin(e) * UP  # looking slightly down
    half_y = math.radians(fov_y_deg) / 2.0
    half_x = math.atan(math.tan(half_y) * width / height)
    dist = r / math.sin(min(half_x, half_y))
    return Camera.look_at(c - dist * forward, c, width, height, fov_y_deg, name=name)


def render_sequence(render: Callable[[int], np.ndarray], num_frames: int, desc: str) -> np.ndarray:
    """(T, H, W, 3) uint8: ``render(t)`` for every frame, with a progress bar."""
    from inhabit.progress import track

    frames = [np.asarray(render(t)) for t in track(range(num_frames), desc, total=num_frames)]
    return np.stack(frames).astype(np.uint8, copy=False)


def label_frames(frames: np.ndarray, text: str) -> np.ndarray:
    """``frames`` (T, H, W, 3) with ``text`` and the frame number written in the top-left corner."""
    from inhabit.render.draw import draw_text

    return np.stack([draw_text(f, f"{text} {t}", (4, 4)) for t, f in enumerate(frames)])


def side_by_side(videos: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    """(T, H, ΣW + gaps, 3): the videos next to each other (each padded to the tallest, white gaps).

    All videos must have the same number of frames.
    """
    if not videos:
        raise InputError("side_by_side needs at least one video")
    T = len(videos[0])
    if any(len(v) != T for v in videos):
        raise InputError(f"side_by_side: the videos have {[len(v) for v in videos]} frames; expected the same count")
    H = max(v.shape[1] for v in videos)
    parts = []
    for i, v in enumerate(videos):
        pad = H - v.shape[1]
        parts.append(np.pad(v, ((0, 0), (pad // 2, pad - pad // 2), (0, 0), (0, 0)), constant_values=255))
        if i + 1 < len(videos) and gap > 0:
            parts.append(np.full((T, H, gap, 3), 255, np.uint8))
    return np.concatenate(parts, axis=2)


def comparison_sheet(rows: Mapping[str, np.ndarray], indices: Sequence[int], tile: int = 192) -> np.ndarray:
    """A contact sheet: one row per named video (``{"input": (T,H,W,3), "reconstruction": ...}``),
    one column per frame of ``indices``, each cell labelled ``"<name> t"``."""
    from inhabit.export.figures import grid_sheet

    names = list(rows)
    cells = [[rows[n][t] for t in indices] for n in names]
    labels = [[f"{n} {t}" for t in indices] for n in names]
    if len(names) == 1:  # grid_sheet wraps a single row into a square; keep it one row
        cells.append([None] * len(indices))
        labels.append([""] * len(indices))
    return grid_sheet(cells, labels, tile)


def write_motion_videos(folder: str | Path, fps: float, videos: Mapping[str, np.ndarray], quality: int = 8
                        ) -> dict[str, Path]:
    """Write each named (T, H, W, 3) uint8 video as ``folder/<name>.mp4`` (atomically)."""
    from inhabit.imagine.video import write_video

    folder = Path(folder)
    return {name: write_video(folder / f"{name}.mp4", frames, fps, quality=quality) for name, frames in videos.items()}


__all__ = ["comparison_sheet", "frame_indices", "label_frames", "render_sequence", "side_by_side", "side_camera",
           "write_motion_videos"]
