"""In-memory triangle-mesh scenes: parts that keep their appearance, plus one merged geometry.

A :class:`SceneMesh` is what every later stage sees: it is already in the world frame (+Z up,
metres); the transform that took the file's coordinates there is kept in ``T_world_file``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np


@dataclass
class MeshPart:
    """One renderable piece of a scene (one material).

    Attributes:
        vertices: (V, 3) float32 world positions.
        faces: (F, 3) int32 vertex indices.
        vertex_colors: (V, 4) uint8 RGBA or None.
        uv: (V, 2) float32 texture coordinates or None, trimesh/OpenGL convention: origin at the
            image's bottom-left, v up (texel row = (1 - v) * H). glTF files store 1 - v; trimesh
            converts on load and save. Values outside [0, 1] repeat (glTF's default wrap).
        texture: (H, W, 3 or 4) uint8 image or None.
        base_color: (4,) float RGBA in [0, 1], multiplied with texture / vertex colour.
        name: label of the part (node or material name).
    """

    vertices: np.ndarray
    faces: np.ndarray
    vertex_colors: np.ndarray | None = None
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    base_color: np.ndarray = field(default_factory=lambda: np.array([0.8, 0.8, 0.8, 1.0]))
    name: str = "part"

    def __post_init__(self) -> None:
        self.vertices = np.ascontiguousarray(self.vertices, dtype=np.float32).reshape(-1, 3)
        self.faces = np.ascontiguousarray(self.faces, dtype=np.int32).reshape(-1, 3)
        if self.vertex_colors is not None:
            vc = np.asarray(self.vertex_colors)
            if vc.dtype != np.uint8:
                vc = (np.clip(vc, 0, 1) * 255 + 0.5).astype(np.uint8) if vc.max(initial=0) <= 1.0 else vc.astype(np.uint8)
            if vc.shape[1] == 3:
                vc = np.concatenate([vc, np.full((len(vc), 1), 255, np.uint8)], axis=1)
            self.vertex_colors = np.ascontiguousarray(vc)
        if self.uv is not None:
            self.uv = np.ascontiguousarray(self.uv, dtype=np.float32).reshape(-1, 2)
        self.base_color = np.asarray(self.base_color, dtype=np.float64).reshape(-1)
        if self.base_color.shape[0] == 3:
            self.base_color = np.append(self.base_color, 1.0)


@dataclass
class SceneMesh:
    """A scene as triangle-mesh parts in the world frame.

    Attributes:
        parts: the renderable parts (node transforms already applied).
        T_world_file: (4, 4) transform applied to the file's coordinates (up axis + scale).
        source: the file it came from (None for scenes built in code).
        up_axis, scale: the load options that produced ``T_world_file``.
        points: named interaction points (3,) in the world frame (demo scenes carry some).
        name: a short label.
        point_facing: for some named points, the unit direction (3,) a person's chest faces there
            (world frame; +Z for lying on the back).
        point_body_up: for some named points, the unit direction (3,) from pelvis to head
            (+Z when upright; along the bed for lying).
        info: load diagnostics (e.g. ``dropped_degenerate_faces``, ``skipped_geometries``).
    """

    parts: list[MeshPart]
    T_world_file: np.ndarray = field(default_factory=lambda: np.eye(4))
    source: Path | None = None
    up_axis: str = "z"
    scale: float = 1.0
    points: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = "scene"
    point_facing: dict[str, np.ndarray] = field(default_factory=dict)
    point_body_up: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    @cached_property
    def vertices(self) -> np.ndarray:
        """(V, 3) float32 all parts' vertices, concatenated."""
        return np.concatenate([p.vertices for p in self.parts], axis=0)

    @cached_property
    def faces(self) -> np.ndarray:
        """(F, 3) int32 all parts' faces, re-indexed into :attr:`vertices`."""
        out, off = [], 0
        for p in self.parts:
            out.append(p.faces + off)
            off += len(p.vertices)
        return np.concatenate(out, axis=0).astype(np.int32)

    @cached_property
    def face_part(self) -> np.ndarray:
        """(F,) int32 index of the part each merged face came from."""
        return np.concatenate([np.full(len(p.faces), i, np.int32) for i, p in enumerate(self.parts)])

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) axis-aligned min and max corners."""
        v = self.vertices
        return np.stack([v.min(axis=0), v.max(axis=0)])

    @property
    def num_faces(self) -> int:
        return int(sum(len(p.faces) for p in self.parts))

    def geometry_hash(self) -> str:
        """A content hash of the merged geometry (for cache keys)."""
        import hashlib

        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.vertices).tobytes())
        h.update(np.ascontiguousarray(self.faces).tobytes())
        return h.hexdigest()[:24]
