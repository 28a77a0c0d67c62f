"""Meshes people can open anywhere: a binary glTF of the scene with the bodies, and bodies alone.

Axis conversion (GLB)
    inhabit's world is +Z up (metres); glTF 2.0 is +Y up with +Z towards the viewer. On export
    every vertex is rotated by ``R_gltf_world`` (−90° about X: ``(x, y, z) → (x, z, −y)``), the
    inverse of ``conventions.UP_AXIS_TO_Z["y"]``, so world +Z becomes glTF +Y and world +Y
    becomes glTF −Z. Blender's glTF importer applies the inverse (``+Y up → +Z up``), so a scene
    exported here opens upright in Blender with the same coordinates as in inhabit, and three.js,
    model-viewer or Windows 3D Viewer show it upright as well. The rotation is baked into the
    vertices (every node transform is the identity), so every viewer agrees.

Bodies alone (OBJ, PLY)
    Written in inhabit's world frame, +Z up, exactly the numbers of ``result.npz``. These formats
    carry no up axis: Blender's OBJ importer assumes +Y up by default, so import with
    *Up Axis: Z, Forward Axis: Y* to see the body upright in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.conventions import UP_AXIS_TO_Z
from inhabit.errors import InputError
from inhabit.io import write_bytes

R_GLTF_WORLD = UP_AXIS_TO_Z["y"].T.copy()
"""(3, 3) rotation from inhabit's world (+Z up) to glTF's frame (+Y up): ``p_gltf = R @ p_world``."""


@dataclass
class BodyMesh:
    """A body to export.

    Attributes:
        vertices: (V, 3) world positions (metres, +Z up).
        faces: (F, 3) vertex indices.
        colors: None (light grey), one RGB(A) colour (3|4,), or per-vertex (V, 3|4); uint8 or floats in [0, 1].
        name: node name in the file (``"human"``, ``"hypothesis_stage0_h1"``).
    """

    vertices: Any
    faces: Any
    colors: Any = None
    name: str = "human"


def world_to_gltf(points: np.ndarray) -> np.ndarray:
    """(N, 3) world points → (N, 3) glTF points (see the module docstring)."""
    return np.asarray(points, np.float64).reshape(-1, 3) @ R_GLTF_WORLD.T


def gltf_to_world(points: np.ndarray) -> np.ndarray:
    """The inverse of :func:`world_to_gltf`."""
    return np.asarray(points, np.float64).reshape(-1, 3) @ R_GLTF_WORLD


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _rgba_u8(colors: Any, n: int, where: str) -> tuple[np.ndarray | None, np.ndarray]:
    """(per-vertex (n, 4) uint8 or None, base colour (4,) uint8) from a colour spec."""
    grey = np.array([200, 200, 200, 255], np.uint8)
    if colors is None:
        return None, grey
    c = _np(colors)
    scale = 1.0 if c.dtype == np.uint8 else 255.0
    c = np.clip(np.round(c.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    if c.ndim == 1 and c.shape[0] in (3, 4):
        return None, np.append(c, 255).astype(np.uint8)[:4] if c.shape[0] == 3 else c
    if c.ndim == 2 and c.shape[0] == n and c.shape[1] in (3, 4):
        if c.shape[1] == 3:
            c = np.concatenate([c, np.full((n, 1), 255, np.uint8)], axis=1)
        return c, np.array([255, 255, 255, 255], np.uint8)
    raise InputError(f"{where}: colours must be (3,), (4,) or (V, 3|4) with V = {n}, got shape {c.shape}")


def _body_trimesh(body: BodyMesh, to_file: np.ndarray):
    import trimesh
    from trimesh.visual.material import PBRMaterial
    from trimesh.visual.texture import TextureVisuals

    v = _np(body.vertices).astype(np.float64).reshape(-1, 3)
    f = _np(body.faces).astype(np.int64).reshape(-1, 3)
    if not np.all(np.isfinite(v)):
        raise InputError(f"body {body.name!r}: vertices contain NaN or inf; refusing to export it")
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise InputError(f"body {body.name!r}: faces index vertices 0..{len(v) - 1} but contain {f.min()}..{f.max()}")
    vc, base = _rgba_u8(body.colors, len(v), f"body {body.name!r}")
    mat = PBRMaterial(name=f"{body.name}_material", baseColorFactor=base, metallicFactor=0.0, roughnessFactor=0.8,
                      doubleSided=False)
    visual = TextureVisuals(material=mat)
    if vc is not None:
        visual.vertex_attributes["color"] = vc
    return trimesh.Trimesh(v @ to_file.T, f, visual=visual, process=False)


def part_to_trimesh(part, to_file: np.ndarray | None = None):
    """A scene :class:`~inhabit.scene.mesh.MeshPart` as a ``trimesh.Trimesh`` (texture, UVs, vertex and
    base colours kept), its vertices rotated by ``to_file`` (3, 3) (default: unchanged)."""
    import trimesh
    from PIL import Image
    from trimesh.visual.material import PBRMaterial
    from trimesh.visual.texture import TextureVisuals

    tex = Image.fromarray(part.texture) if (part.texture is not None and part.uv is not None) else None
    mat = PBRMaterial(name=f"{part.name}_material", baseColorFactor=np.round(np.clip(part.base_color, 0, 1) * 255),
                      baseColorTexture=tex, metallicFactor=0.0, roughnessFactor=1.0, doubleSided=True)
    visual = TextureVisuals(uv=part.uv if tex is not None else None, material=mat)
    if part.vertex_colors is not None:
        visual.vertex_attributes["color"] = part.vertex_colors
    R = np.eye(3) if to_file is None else np.asarray(to_file, np.float64)
    return trimesh.Trimesh(part.vertices.astype(np.float64) @ R.T, part.faces, visual=visual, process=False)


def scene_glb_bytes(scene=None, bodies: Sequence[BodyMesh] = (), up: str = "gltf") -> bytes:
    """A binary glTF with the scene's parts and the bodies, converted to glTF's +Y up.

    Args:
        scene: a :class:`~inhabit.scene.mesh.SceneMesh` (textures, UVs, vertex and base colours are
            kept) or None for bodies only.
        bodies: the bodies (world frame).
        up: ``"gltf"`` (+Y up, the standard; see the module docstring) or ``"world"`` (coordinates
            as they are, +Z up — for tools that read raw numbers).
    """
    import trimesh

    if up not in ("gltf", "world"):
        raise InputError(f"GLB up convention must be 'gltf' or 'world', got {up!r}")
    to_file = R_GLTF_WORLD if up == "gltf" else np.eye(3)
    ts = trimesh.Scene()
    used: set[str] = set()

    def unique(name: str) -> str:
        n, i = name, 1
        while n in used:
            n, i = f"{name}_{i}", i + 1
        used.add(n)
        return n

    if scene is not None:
        for part in scene.parts:
            name = unique(f"scene_{part.name}")
            ts.add_geometry(part_to_trimesh(part, to_file), node_name=name, geom_name=name)
    for body in bodies:
        name = unique(body.name)
        ts.add_geometry(_body_trimesh(body, to_file), node_name=name, geom_name=name)
    if not ts.geometry:
        raise InputError("nothing to export: no scene and no bodies")
    ts.metadata["inhabit"] = {"format": "inhabit.glb/1", "up": "+Y (glTF)" if up == "gltf" else "+Z (inhabit world)",
                              "R_file_world": to_file.tolist()}
    return ts.export(file_type="glb")


def write_scene_glb(path: str | Path, scene=None, bodies: Sequence[BodyMesh] = (), up: str = "gltf") -> Path:
    """:func:`scene_glb_bytes` written atomically to ``path`` (``.glb``)."""
    path = Path(path)
    if path.suffix.lower() != ".glb":
        raise InputError(f"a binary glTF file name must end in .glb, got {path.name!r}")
    return write_bytes(path, scene_glb_bytes(scene, bodies, up))


def write_body_mesh(path: str | Path, vertices: Any, faces: Any, colors: Any = None) -> Path:
    """One body as ``.obj`` or ``.ply`` (by suffix), world frame (+Z up), written atomically.

    PLY keeps per-vertex colours; OBJ stores geometry only (vertex colours are not standard OBJ).
    """
    import trimesh

    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("obj", "ply"):
        raise InputError(f"body meshes are written as .obj or .ply, got {path.name!r}")
    body = BodyMesh(vertices, faces, colors, path.stem)
    v = _np(vertices).astype(np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(v)):
        raise InputError(f"{path}: vertices contain NaN or inf; refusing to export them")
    mesh = trimesh.Trimesh(v, _np(faces).astype(np.int64).reshape(-1, 3), process=False)
    if kind == "ply" and body.colors is not None:
        vc, _ = _rgba_u8(body.colors, len(v), str(path))
        if vc is not None:
            mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=vc)
    data = mesh.export(file_type=kind)
    return write_bytes(path, data if isinstance(data, bytes) else data.encode())
