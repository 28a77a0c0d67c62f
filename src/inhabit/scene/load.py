"""Load and save scene meshes (GLB/GLTF/OBJ/PLY/STL/OFF via trimesh), demo specs, interaction points.

Up axis
    inhabit's world is +Z up, in metres. ``up_axis`` names the file's up direction and the
    rotation :data:`inhabit.conventions.UP_AXIS_TO_Z` maps it to +Z (then ``scale`` multiplies);
    the applied 4x4 is :attr:`SceneMesh.T_world_file`.

    trimesh (5.2) does **not** convert glTF's +Y-up convention: a GLB's node transforms are
    applied and the coordinates are otherwise read as stored. Blender's glTF exporter (with its
    default "+Y Up" option) writes Blender's (X, Y, Z) as glTF (X, Z, -Y), so loading such a file
    with ``up_axis="y"`` gives back exactly Blender's coordinates, +Z up. Most Sketchfab
    downloads are glTF and want ``up_axis="y"`` too; scans in a camera frame (-Y up) want
    ``"-y"``; files written by :func:`save_scene` (default) are already +Z up.

Appearance
    Each geometry instance of the file's scene graph becomes one :class:`MeshPart` with its node
    transform applied, keeping its base-colour texture (uint8 array), UVs, vertex colours (face
    colours are expanded to per-corner vertex colours) and base colour factor.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from inhabit.conventions import UP_AXIS_TO_Z
from inhabit.errors import InputError
from inhabit.scene.mesh import MeshPart, SceneMesh

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".glb", ".gltf", ".obj", ".ply", ".stl", ".off")
"""File types :func:`load_scene` reads."""

SUSPICIOUS_MAX_DIAGONAL = 2000.0
"""Scenes larger than this (metres, bounding-box diagonal after scaling) trigger a warning."""
SUSPICIOUS_MIN_DIAGONAL = 0.002
"""... and smaller than this."""
POINT_MARGIN = 0.1
"""How far (metres) an interaction point may lie outside the scene's bounding box."""

_SCENE_META_KEY = "inhabit"
_SCENE_FORMAT = "inhabit.scene/1"


def _transform(up_axis: str, scale: float) -> np.ndarray:
    if up_axis not in UP_AXIS_TO_Z:
        raise InputError(f"up_axis must be one of {', '.join(repr(k) for k in UP_AXIS_TO_Z)}, got {up_axis!r}")
    if isinstance(scale, bool) or not isinstance(scale, int | float | np.floating | np.integer) or not (
        np.isfinite(scale) and scale > 0
    ):
        raise InputError(f"scale must be a positive number, got {scale!r}")
    T = np.eye(4)
    T[:3, :3] = float(scale) * UP_AXIS_TO_Z[up_axis]
    return T


def _image_to_array(img) -> np.ndarray | None:
    """A PIL image (any mode) as (H, W, 3|4) uint8, or None."""
    if img is None:
        return None
    mode = img.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        return np.asarray(img.convert("RGBA"), dtype=np.uint8)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def _rgba_factor(value) -> np.ndarray | None:
    if value is None:
        return None
    v = np.asarray(value, dtype=np.float64).reshape(-1)
    if v.size == 3:
        v = np.append(v, 255.0 if v.max() > 1.0 else 1.0)
    if v.size != 4:
        return None
    # trimesh stores material colours as uint8 RGBA.
    return v / 255.0 if (np.asarray(value).dtype == np.uint8 or v.max() > 1.0) else v


def _part_from_trimesh(mesh, A: np.ndarray, name: str) -> MeshPart:
    """One part from a trimesh.Trimesh under the 4x4 transform ``A`` (file node -> world)."""
    from trimesh.visual.material import PBRMaterial, SimpleMaterial

    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    vis = mesh.visual
    kind = getattr(vis, "kind", None)
    vertex_colors = uv = texture = base = None
    if kind == "texture":
        raw_uv = getattr(vis, "uv", None)
        if raw_uv is not None and len(raw_uv) == len(vertices):
            uv = np.asarray(raw_uv, dtype=np.float32)
        mat = vis.material
        if isinstance(mat, PBRMaterial):
            texture = _image_to_array(mat.baseColorTexture)
            base = _rgba_factor(mat.baseColorFactor)
        elif isinstance(mat, SimpleMaterial):
            texture = _image_to_array(mat.image)
            base = _rgba_factor(getattr(mat, "diffuse", None))
        col = getattr(vis, "vertex_attributes", {}).get("color")
        if col is not None and len(col) == len(vertices):
            vertex_colors = np.asarray(col)
        if uv is None:
            texture = None
    elif kind == "vertex":
        vertex_colors = np.asarray(vis.vertex_colors)
    elif kind == "face":
        # Keep exact face colours: give every face its own three vertices.
        vertices = vertices[faces].reshape(-1, 3)
        vertex_colors = np.repeat(np.asarray(vis.face_colors), 3, axis=0)
        faces = np.arange(len(vertices), dtype=np.int64).reshape(-1, 3)
    v = vertices @ A[:3, :3].T + A[:3, 3]
    if np.linalg.det(A[:3, :3]) < 0:  # a mirroring transform flips the winding: restore outward normals
        faces = faces[:, ::-1]
    kw = {} if base is None else {"base_color": base}
    return MeshPart(v, faces, vertex_colors=vertex_colors, uv=uv, texture=texture, name=name, **kw)


def _drop_degenerate(part: MeshPart) -> int:
    """Remove faces with a repeated vertex or zero area from ``part``; return how many."""
    f = part.faces
    v = part.vertices.astype(np.float64)
    area2 = np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    keep = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2]) & (area2 > 0)
    part.faces = np.ascontiguousarray(f[keep])
    return int((~keep).sum())


def _read_metadata(meta: dict, T: np.ndarray) -> tuple[dict, dict, dict, str | None, str | None]:
    """Named points / facings stored by :func:`save_scene`, mapped into the world frame."""
    info = meta.get(_SCENE_META_KEY) if isinstance(meta, dict) else None
    if not isinstance(info, dict) or info.get("format") != _SCENE_FORMAT:
        return {}, {}, {}, None, None
    R = T[:3, :3]
    out = []
    for key, is_dir in (("points", False), ("point_facing", True), ("point_body_up", True)):
        d = {}
        for name, val in (info.get(key) or {}).items():
            a = np.asarray(val, dtype=np.float64).reshape(-1)
            if a.shape != (3,) or not np.isfinite(a).all():
                continue
            if is_dir:
                a = R @ a
                a = a / max(np.linalg.norm(a), 1e-12)
            else:
                a = R @ a + T[:3, 3]
            d[str(name)] = a
        out.append(d)
    name = info.get("name")
    return out[0], out[1], out[2], info.get("up_axis"), (str(name) if name else None)


def load_scene(path: str | Path, up_axis: str = "z", scale: float = 1.0) -> SceneMesh:
    """Load a scene mesh into inhabit's world frame (+Z up, metres).

    Args:
        path: a ``.glb``, ``.gltf``, ``.obj``, ``.ply``, ``.stl`` or ``.off`` file (OBJ materials
            and glTF buffers/textures are resolved next to it).
        up_axis: the file's up axis: ``"z"``, ``"y"`` (glTF / Blender exports), ``"-y"``
            (camera-frame scans) or ``"-z"``. See the module docstring.
        scale: multiplies all coordinates after the rotation (e.g. 0.01 for centimetres).

    Returns:
        A :class:`SceneMesh`; ``info`` holds ``dropped_degenerate_faces`` and ``skipped_geometries``.

    Raises:
        InputError: missing file, unsupported extension, unreadable file, no triangles (e.g. a
            point cloud), or vertices with NaN / infinite coordinates.

    Warns:
        UserWarning: when the scene's bounding-box diagonal is above 2 km or below 2 mm, or when
            most horizontal surfaces face +/-Y (the file is probably Y-up).
    """
    path = Path(path)
    T = _transform(up_axis, scale)
    if not path.exists():
        raise InputError(f"scene file {path} does not exist")
    if path.is_dir():
        raise InputError(f"scene path {path} is a folder; expected a mesh file ({', '.join(SUPPORTED_EXTENSIONS)})")
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise InputError(f"scene file {path} has the unsupported extension {ext or '(none)'!r}; "
                         f"supported: {', '.join(SUPPORTED_EXTENSIONS)}")
    import trimesh

    try:
        loaded = trimesh.load_scene(str(path), file_type=ext[1:], process=False)
    except Exception as e:  # trimesh raises many types for broken files
        text = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        msg = f"{type(e).__name__}: {text}" if text else type(e).__name__
        raise InputError(f"scene file {path} could not be read as {ext[1:].upper()} ({msg})") from None

    parts: list[MeshPart] = []
    skipped: list[str] = []
    n_points_cloud = 0
    # Parts in the file's mesh order (the scene graph's node order is not stable).
    order = {name: i for i, name in enumerate(loaded.geometry)}
    nodes = sorted(loaded.graph.nodes_geometry, key=lambda n: (order.get(loaded.graph[n][1], len(order)), str(n)))
    for node in nodes:
        M, geom_name = loaded.graph[node]
        g = loaded.geometry.get(geom_name)
        if isinstance(g, trimesh.PointCloud):
            n_points_cloud += len(g.vertices)
            skipped.append(f"{node} (point cloud)")
            continue
        if not isinstance(g, trimesh.Trimesh):
            skipped.append(f"{node} ({type(g).__name__})")
            continue
        if len(g.faces) == 0:
            n_points_cloud += len(g.vertices)
            skipped.append(f"{node} (no faces)")
            continue
        parts.append(_part_from_trimesh(g, T @ np.asarray(M, dtype=np.float64), str(node)))
    if not parts:
        if n_points_cloud:
            raise InputError(f"scene file {path} has no triangles: it is a point cloud of {n_points_cloud} points, "
                             "and a triangle mesh is needed (3D Gaussian splat .ply files go to the splatting tools)")
        raise InputError(f"scene file {path} has no triangles")
    n_bad = sum(int((~np.isfinite(p.vertices).all(axis=1)).sum()) for p in parts)
    if n_bad:
        raise InputError(f"scene file {path} has {n_bad} {'vertex' if n_bad == 1 else 'vertices'} "
                         "with NaN or infinite coordinates")
    dropped = sum(_drop_degenerate(p) for p in parts)
    parts = [p for p in parts if len(p.faces)]
    if not parts:
        raise InputError(f"scene file {path} has only degenerate (zero-area) triangles")

    points, facing, body_up, saved_up, saved_name = _read_metadata(loaded.metadata, T)
    scene = SceneMesh(parts=parts, T_world_file=T, source=path, up_axis=up_axis, scale=float(scale),
                      points=points, name=saved_name or path.stem, point_facing=facing, point_body_up=body_up,
                      info={"dropped_degenerate_faces": dropped, "skipped_geometries": skipped})
    if saved_up is not None and saved_up != up_axis:
        warnings.warn(f"scene file {path} was saved by inhabit with up_axis={saved_up!r}; "
                      f"load it with up_axis={saved_up!r} (--up-axis {saved_up}) to get +Z up", stacklevel=2)
    else:
        _warn_if_suspicious(scene, path)
    return scene


def _warn_if_suspicious(scene: SceneMesh, path: Path) -> None:
    lo, hi = scene.bounds
    diag = float(np.linalg.norm(hi - lo))
    if diag > SUSPICIOUS_MAX_DIAGONAL or diag < SUSPICIOUS_MIN_DIAGONAL:
        warnings.warn(f"scene {path} is {diag:.4g} m across (bounding-box diagonal) after scale={scene.scale}; "
                      "inhabit works in metres: pass --scale (e.g. 0.01 for centimetres) and check --up-axis",
                      stacklevel=3)
        return
    v = scene.vertices.astype(np.float64)
    f = scene.faces
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    area = np.linalg.norm(n, axis=1)
    unit = n / np.maximum(area, 1e-30)[:, None]
    total = area.sum()
    along_y = area[np.abs(unit[:, 1]) > 0.9].sum()
    along_z = area[np.abs(unit[:, 2]) > 0.9].sum()
    if total > 0 and along_y > 0.4 * total and along_y > 2.0 * along_z:
        warnings.warn(f"most flat surfaces of scene {path} face +/-Y, so its up axis is probably Y "
                      f"(loaded with up_axis={scene.up_axis!r}); if floors look like walls, pass --up-axis y",
                      stacklevel=3)


def save_scene(scene: SceneMesh, path: str | Path, up_axis: str = "z") -> Path:
    """Write a scene as a binary glTF (GLB) that :func:`load_scene` reads back unchanged.

    Textures, UVs, vertex colours and base colours are kept; named points and facings are stored
    in the glTF scene's ``extras``. The file is written atomically.

    Args:
        scene: the scene (world frame).
        path: a ``.glb`` file.
        up_axis: the up axis of the *file*. ``"z"`` (default) stores world coordinates as they are;
            ``"y"`` rotates to glTF's +Y up so other tools (Blender) show the scene upright --
            load such a file back with ``up_axis="y"``.
    """
    import trimesh
    from PIL import Image
    from trimesh.visual.material import PBRMaterial
    from trimesh.visual.texture import TextureVisuals

    from inhabit.io import write_bytes

    path = Path(path)
    if path.suffix.lower() != ".glb":
        raise InputError(f"save_scene writes binary glTF; give a .glb file name, got {path.name!r}")
    R = _transform(up_axis, 1.0)[:3, :3].T  # world -> file
    ts = trimesh.Scene()
    used: set[str] = set()
    for i, part in enumerate(scene.parts):
        tex = Image.fromarray(part.texture) if (part.texture is not None and part.uv is not None) else None
        rgba = np.round(np.clip(part.base_color, 0, 1) * 255).astype(np.uint8)  # trimesh wants uint8 RGBA
        mat = PBRMaterial(name=f"{part.name}_material", baseColorFactor=rgba,
                          baseColorTexture=tex, metallicFactor=0.0, roughnessFactor=1.0, doubleSided=False)
        visual = TextureVisuals(uv=part.uv, material=mat)
        if part.vertex_colors is not None:
            visual.vertex_attributes["color"] = part.vertex_colors
        mesh = trimesh.Trimesh(part.vertices.astype(np.float64) @ R.T, part.faces, visual=visual, process=False)
        name = part.name if part.name not in used else f"{part.name}_{i}"
        used.add(name)
        ts.add_geometry(mesh, node_name=name, geom_name=name)
    ts.metadata[_SCENE_META_KEY] = {
        "format": _SCENE_FORMAT,
        "name": scene.name,
        "up_axis": up_axis,
        "points": {k: (R @ np.asarray(v, float)).tolist() for k, v in scene.points.items()},
        "point_facing": {k: (R @ np.asarray(v, float)).tolist() for k, v in scene.point_facing.items()},
        "point_body_up": {k: (R @ np.asarray(v, float)).tolist() for k, v in scene.point_body_up.items()},
    }
    data = ts.export(file_type="glb")
    return write_bytes(path, data)


def resolve_scene(spec: str | Path, up_axis: str = "z", scale: float = 1.0) -> SceneMesh:
    """A scene from a file path or a bundled demo: ``demo:<name>`` or ``demo:<name>:<detail>``.

    Demo scenes are already +Z up in metres, so ``up_axis``/``scale`` must keep their defaults.
    """
    text = str(spec)
    if text.startswith("demo:"):
        from inhabit.scene.demo import DEMO_SCENES, make_demo_scene

        name, _, detail = text[5:].partition(":")
        if name not in DEMO_SCENES:
            raise InputError(f"unknown demo scene {name!r} in {text!r}; available: "
                             f"{', '.join('demo:' + n for n in DEMO_SCENES)}")
        if up_axis != "z" or scale != 1.0:
            raise InputError(f"demo scenes are already +Z up in metres; --up-axis and --scale do not apply to {text}")
        if detail and not detail.isdigit():
            raise InputError(f"demo scene detail in {text!r} must be an integer 0..4 (e.g. demo:{name}:2)")
        return make_demo_scene(name, int(detail) if detail else 0)
    return load_scene(Path(text), up_axis=up_axis, scale=scale)


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_XYZ = re.compile(rf"^\s*({_NUMBER})\s*[,\s]\s*({_NUMBER})\s*[,\s]\s*({_NUMBER})\s*$")


def parse_point(text: str, scene: SceneMesh, margin: float = POINT_MARGIN) -> np.ndarray:
    """An interaction point from ``"x,y,z"`` (metres, world frame) or a named point of ``scene``.

    Raises:
        InputError: text that is neither, an unknown name (the available ones are listed), or a
            point more than ``margin`` metres outside the scene's bounding box.
    """
    s = str(text).strip()
    m = _XYZ.match(s)
    if m:
        p = np.array([float(g) for g in m.groups()])
    elif s in scene.points:
        p = np.asarray(scene.points[s], dtype=np.float64)
    else:
        names = ", ".join(sorted(scene.points)) or "(none)"
        if re.search(r"\d", s) and not re.fullmatch(r"[A-Za-z_][\w\-]*", s):
            raise InputError(f"point {s!r} must be three numbers x,y,z in metres (e.g. 0.5,1.2,0.45) or a "
                             f"named point of scene {scene.name!r} ({names})")
        raise InputError(f"unknown point {s!r} in scene {scene.name!r}; named points: {names} "
                         "(or give coordinates x,y,z in metres)")
    lo, hi = scene.bounds
    if (p < lo - margin).any() or (p > hi + margin).any():
        fmt = lambda a: "(" + ", ".join(f"{x:.3g}" for x in a) + ")"  # noqa: E731
        raise InputError(f"point {fmt(p)} lies outside scene {scene.name!r}, whose bounding box is "
                         f"{fmt(lo)} .. {fmt(hi)} (margin {margin} m); check the coordinates, --up-axis and --scale")
    return p
