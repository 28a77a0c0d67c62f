"""Small data types shared by several layers (importable by all, like ``conventions``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inhabit.conventions import KEYPOINT_NAMES, keypoint_index


@dataclass(frozen=True)
class Keypoints2D:
    """2D keypoints of N images (one person each), in pixels.

    Attributes:
        xy: (N, K, 2) float32 pixel coordinates, origin at the top-left pixel's corner, y down.
        conf: (N, K) float32 confidences in [0, 1]; 0 where the point (or the person) was not found.
        names: K keypoint names (see :mod:`inhabit.conventions`).
    """

    xy: np.ndarray
    conf: np.ndarray
    names: tuple[str, ...] = KEYPOINT_NAMES

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float32)
        conf = np.asarray(self.conf, dtype=np.float32)
        if xy.ndim == 2:
            xy = xy[None]
        if conf.ndim == 1:
            conf = conf[None]
        if xy.shape[-1] != 2 or xy.shape[:2] != conf.shape or xy.shape[1] != len(self.names):
            raise ValueError(
                f"Keypoints2D shapes disagree: xy {xy.shape}, conf {conf.shape}, {len(self.names)} names"
            )
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "conf", conf)
        object.__setattr__(self, "names", tuple(self.names))

    def __len__(self) -> int:
        return self.xy.shape[0]

    def __getitem__(self, i: int | slice | np.ndarray) -> Keypoints2D:
        idx = [i] if isinstance(i, int | np.integer) else i
        return Keypoints2D(self.xy[idx], self.conf[idx], self.names)

    def select(self, names: tuple[str, ...] | list[str]) -> Keypoints2D:
        """The same keypoints restricted to (and reordered as) ``names``."""
        idx = keypoint_index(self.names, names)
        return Keypoints2D(self.xy[:, idx], self.conf[:, idx], tuple(names))

    @staticmethod
    def empty(n: int = 1, names: tuple[str, ...] = KEYPOINT_NAMES) -> Keypoints2D:
        """N images in which no person was found (all confidences 0)."""
        return Keypoints2D(np.zeros((n, len(names), 2), np.float32), np.zeros((n, len(names)), np.float32), names)

    @staticmethod
    def stack(items: list[Keypoints2D]) -> Keypoints2D:
        """Concatenate along N; all items must share the same names."""
        if not items:
            raise ValueError("cannot stack an empty list of Keypoints2D")
        names = items[0].names
        for it in items:
            if it.names != names:
                raise ValueError("cannot stack Keypoints2D with different keypoint names")
        return Keypoints2D(np.concatenate([i.xy for i in items]), np.concatenate([i.conf for i in items]), names)
