"""Inputs of the motion job made ready: the scene as Gaussians (+ its signed distance), the object,
the initial body, and their renders.

Scenes
    A mesh (GLB/GLTF/OBJ/PLY/…) or ``demo:<name>`` is kept as a mesh (exact signed distance,
    mesh-renderer side views, glTF export) and sampled into flat Gaussians
    (:func:`~inhabit.scene.gaussians_mesh.gaussians_from_mesh`) for the splatter. A 3DGS ``.ply``
    (:func:`~inhabit.scene.gaussians_ply.is_gaussian_ply`) is used as it is; its signed distance
    comes from the Gaussians' occupancy (:func:`~inhabit.scene.gaussians_sdf.sdf_from_gaussians`)
    in a box around the initial person, with the outside seeded from points known to be free
    (the pelvis, the head, the camera).

Objects
    A mesh object is sampled into Gaussians the same way and keeps its mesh (hand-object metrics,
    glTF); a 3DGS object keeps its Gaussians, and its centres stand in for the mesh in the glTF
    (a point cloud; hand-object metrics need a mesh and are then skipped). The object's own frame
    is the file's after up axis and scale; its initial pose puts the chosen anchor (bottom centre,
    centre or file origin) at ``position`` after a yaw about +Z.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inhabit.errors import InputError
from inhabit.pipeline.motion_config import AssetConfig
from inhabit.pipeline.motion_task import HumanInit, ObjectInit
from inhabit.scene.gaussians import GaussianSet

POINT_MARGIN = 0.5
"""A named or given point may lie this far (metres) outside the scene's bounding box."""


@dataclass
class MotionScene:
    """The scene of a motion run.

    Attributes:
        kind: ``"mesh"`` (a mesh file or a demo scene) or ``"gaussians"`` (a 3DGS .ply).
        spec: what the user gave (path or ``demo:<name>``).
        gaussians: (N) Gaussians in the world frame (what the splatter renders).
        mesh: the :class:`~inhabit.scene.mesh.SceneMesh` (None for a 3DGS scene).
        bounds: (2, 3) min and max corners.
        points: named points (world).
        T_world_file: (4, 4) the load transform (up axis and scale).
        geometry_hash: content hash (cache keys).
    """

    kind: str
    spec: str
    gaussians: GaussianSet
    mesh: Any = None
    bounds: np.ndarray = field(default_factory=lambda: np.zeros((2, 3)))
    points: dict[str, np.ndarray] = field(default_factory=dict)
    T_world_file: np.ndarray = field(default_factory=lambda: np.eye(4))
    geometry_hash: str = ""
    name: str = "scene"

    @property
    def center(self) -> np.ndarray:
        return 0.5 * (self.bounds[0] + self.bounds[1])


def _gaussians_hash(gs: GaussianSet) -> str:
    h = hashlib.sha256()
    for t in (gs.means, gs.colors, gs.opacity_logits, gs.log_scales, gs.quats):
        h.update(np.ascontiguousarray(t.detach().cpu().numpy()).tobytes())
    return h.hexdigest()[:24]


def load_motion_scene(spec: str, up_axis: str = "z", scale: float = 1.0,
                      assets: AssetConfig | None = None) -> MotionScene:
    """The scene of ``spec`` (mesh path, 3DGS ``.ply`` or ``demo:<name>``) as Gaussians (+ mesh).

    Raises:
        InputError: a missing or unreadable file, an unknown demo scene, a scene without geometry.
    """
    from inhabit.scene.gaussians_ply import is_gaussian_ply

    assets = assets or AssetConfig()
    text = str(spec)
    if not text.startswith("demo:"):
        p = Path(text).expanduser()
        if not p.exists():
            raise InputError(f"scene {p} does not exist; expected a mesh file (GLB/GLTF/OBJ/PLY), a 3DGS .ply or "
                             f"demo:<name>")
        if p.suffix.lower() == ".ply" and is_gaussian_ply(p):
            from inhabit.scene.gaussians import load_gaussian_scene

            gsc = load_gaussian_scene(p, up_axis=up_axis, scale=scale)
            gsc.gaussians.check_finite(f"scene {p}")
            if len(gsc.gaussians) == 0:
                raise InputError(f"scene {p} holds no Gaussians")
            return MotionScene("gaussians", text, gsc.gaussians, None, gsc.bounds, dict(gsc.points),
                               gsc.T_world_file, _gaussians_hash(gsc.gaussians), p.stem)
    from inhabit.scene.gaussians_mesh import gaussians_from_mesh
    from inhabit.scene.load import resolve_scene

    mesh = resolve_scene(text, up_axis=up_axis, scale=scale)
    if mesh.num_faces == 0:
        raise InputError(f"scene {text} has no triangles; expected a mesh scene or a 3DGS .ply")
    gs = gaussians_from_mesh(mesh, spacing=assets.scene_spacing, seed=assets.seed)
    return MotionScene("mesh", text, gs, mesh, mesh.bounds.astype(np.float64), dict(mesh.points),
                       np.asarray(mesh.T_world_file, np.float64), mesh.geometry_hash(), mesh.name)


def resolve_point(text: str, scene: MotionScene, where: str) -> np.ndarray:
    """A point from ``"x,y,z"`` or a named point of the scene, checked against the scene's box.

    Raises:
        InputError: naming ``where`` (e.g. ``init.yaml: human.at``).
    """
    from inhabit.pipeline.tasks import parse_xyz

    s = str(text).strip()
    if s in scene.points:
        p = np.asarray(scene.points[s], np.float64)
    else:
        try:
            p = np.asarray(parse_xyz(s, where), np.float64)
        except InputError:
            names = ", ".join(sorted(scene.points)) or "(none)"
            raise InputError(f"{where} is {s!r}: neither three numbers x, y, z (metres) nor a named point of scene "
                             f"{scene.name!r} ({names})") from None
    lo, hi = scene.bounds
    if (p < lo - POINT_MARGIN).any() or (p > hi + POINT_MARGIN).any():
        f = lambda a: "(" + ", ".join(f"{x:.3g}" for x in a) + ")"  # noqa: E731
        raise InputError(f"{where} {f(p)} lies outside scene {scene.name!r}, whose bounding box is {f(lo)} .. {f(hi)}; "
                         f"check the coordinates, up_axis and scale")
    return p


# ----------------------------------------------------------------------------------------------
# signed distance


def motion_scene_sdf(scene: MotionScene, free_points: np.ndarray, assets: AssetConfig | None = None):
    """A signed distance callable ``(N, 3) torch -> (N,)`` (negative inside) of the scene.

    Mesh scenes: the exact mesh distance (:class:`~inhabit.scene.sdf.MeshSDF`). Gaussian scenes:
    :func:`~inhabit.scene.gaussians_sdf.sdf_from_gaussians` in a cube of side ``assets.sdf_extent``
    around the first free point (the initial pelvis), outside seeded from ``free_points``; if
    those points fall inside the occupancy, the box border seeds the outside instead.

    Args:
        free_points: (K, 3) world points in free space; the first is the box centre.
    """
    assets = assets or AssetConfig()
    if scene.kind == "mesh":
        from inhabit.scene.sdf import MeshSDF

        return MeshSDF(scene.mesh)
    from inhabit.scene.gaussians_sdf import sdf_from_gaussians

    fp = np.asarray(free_points, np.float64).reshape(-1, 3)
    half = 0.5 * assets.sdf_extent
    bbox = np.stack([fp[0] - half, fp[0] + half])
    m = scene.gaussians.means.detach().cpu().numpy()
    keep = np.all((m > bbox[0] - 0.2) & (m < bbox[1] + 0.2), axis=1)
    gs = scene.gaussians.subset(torch.as_tensor(np.flatnonzero(keep)))
    if len(gs) == 0:
        raise InputError(f"scene {scene.spec} has no Gaussians within {half:g} m of the initial person; check the "
                         f"initial position, up_axis and scale")
    try:
        return sdf_from_gaussians(gs, voxel=assets.sdf_voxel, bbox=bbox, free_points=fp, from_border=False)
    except InputError:
        return sdf_from_gaussians(gs, voxel=assets.sdf_voxel, bbox=bbox, free_points=None, from_border=True)


# ----------------------------------------------------------------------------------------------
# object


@dataclass
class MotionObject:
    """The rigid object.

    Attributes:
        name: node name. source: the file.
        gaussians: its Gaussians in the object's frame.
        vertices: (N, 3) mesh vertices in the object's frame, or the Gaussian centres for a 3DGS
            object (then ``faces`` is None). faces: (M, 3) or None.
        colors: (N, 4) uint8 per-vertex colours for exports, or None.
        pose: (4, 4) initial ``T_world_object``.
        has_mesh: whether ``vertices``/``faces`` are a real mesh.
    """

    name: str
    source: str
    gaussians: GaussianSet
    vertices: np.ndarray
    faces: np.ndarray | None
    colors: np.ndarray | None
    pose: np.ndarray
    has_mesh: bool

    def world_vertices(self, poses: np.ndarray) -> np.ndarray:
        """(T, N, 3) the vertices under (T, 4, 4) poses."""
        P = np.asarray(poses, np.float64).reshape(-1, 4, 4)
        return np.einsum("tij,nj->tni", P[:, :3, :3], self.vertices) + P[:, None, :3, 3]

    def mesh_part(self, pose: np.ndarray):
        """The object as a world-frame :class:`~inhabit.scene.mesh.MeshPart` (mesh objects only)."""
        from inhabit.render.mesh import mesh_from_arrays

        return mesh_from_arrays(self.world_vertices(pose)[0], self.faces, self.colors, name=self.name)


def _part_colors(mesh) -> np.ndarray:
    """(V, 4) uint8 per-vertex colours of a SceneMesh's parts (vertex colour × base colour, else the
    base colour; textures are summarised by their mean colour)."""
    out = []
    for p in mesh.parts:
        base = np.clip(np.asarray(p.base_color, np.float64), 0, 1)
        if p.vertex_colors is not None:
            c = p.vertex_colors.astype(np.float64) / 255.0 * base
        elif p.texture is not None:
            tex = np.asarray(p.texture, np.float64)[..., :3].reshape(-1, 3).mean(0) / 255.0
            c = np.broadcast_to(np.append(tex, 1.0) * base, (len(p.vertices), 4))
        else:
            c = np.broadcast_to(base, (len(p.vertices), 4))
        out.append(np.clip(np.round(np.asarray(c) * 255), 0, 255).astype(np.uint8))
    return np.concatenate(out)


def object_pose_from_spec(spec: ObjectInit, points: np.ndarray) -> np.ndarray:
    """(4, 4) ``T_world_object``: ``spec.pose``, or the anchor of ``points`` (N, 3, object frame)
    moved to ``spec.position`` after a yaw of ``spec.yaw_deg`` about +Z."""
    if spec.pose is not None:
        return np.asarray(spec.pose, np.float64)
    lo, hi = points.min(axis=0), points.max(axis=0)
    anchor = {"bottom": np.array([0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1]), lo[2]]), "center": 0.5 * (lo + hi),
              "origin": np.zeros(3)}[spec.anchor]
    a = math.radians(spec.yaw_deg)
    R = np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]])
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = np.asarray(spec.position, np.float64) - R @ anchor
    return T


def load_motion_object(spec: ObjectInit, assets: AssetConfig | None = None, where: str = "object") -> MotionObject:
    """Load the object of ``spec`` (mesh or 3DGS .ply) with its initial pose.

    Raises:
        InputError: naming ``where`` for a missing, unreadable or empty file.
    """
    from inhabit.scene.gaussians_ply import is_gaussian_ply

    assets = assets or AssetConfig()
    p = Path(spec.path).expanduser()
    if not p.exists():
        raise InputError(f"{where}.path: {p} does not exist; expected a mesh file or a 3DGS .ply")
    try:
        if p.suffix.lower() == ".ply" and is_gaussian_ply(p):
            from inhabit.scene.gaussians import load_gaussian_scene

            gs = load_gaussian_scene(p, up_axis=spec.up_axis, scale=spec.scale).gaussians
            gs.check_finite(f"object {p}")
            if len(gs) == 0:
                raise InputError(f"object {p} holds no Gaussians")
            verts = gs.means.detach().cpu().numpy().astype(np.float64)
            cols = np.clip(np.round(gs.rgb().detach().cpu().numpy() * 255), 0, 255).astype(np.uint8)
            return MotionObject(spec.name, str(p), gs, verts, None, cols, object_pose_from_spec(spec, verts), False)
        from inhabit.scene.gaussians_mesh import gaussians_from_mesh
        from inhabit.scene.load import load_scene

        mesh = load_scene(p, up_axis=spec.up_axis, scale=spec.scale)
    except InputError as e:
        raise InputError(f"{where}.path: {e}") from None
    if mesh.num_faces == 0:
        raise InputError(f"{where}.path: {p} has no triangles; expected a mesh or a 3DGS .ply")
    gs = gaussians_from_mesh(mesh, spacing=assets.object_spacing, seed=assets.seed)
    verts = mesh.vertices.astype(np.float64)
    return MotionObject(spec.name, str(p), gs, verts, mesh.faces.astype(np.int64), _part_colors(mesh),
                        object_pose_from_spec(spec, verts), True)


# ----------------------------------------------------------------------------------------------
# the initial body


def _result_path(path: str) -> Path:
    p = Path(path).expanduser()
    return p / "result.npz" if p.is_dir() else p


def initial_body(spec: HumanInit, body_model, scene: MotionScene, where: str = "human"):
    """The initial body (batch 1) and a description of where it came from.

    ``spec.result``: the parameters of an ``inhabit pose`` result (same body model required).
    Otherwise the named pose placed with :func:`~inhabit.body.poses.place_body` at ``spec.at``,
    facing ``spec.facing`` (a direction, a yaw in degrees, or by default the scene's centre).

    Returns:
        (BodyParams, info dict).

    Raises:
        InputError: naming ``where`` for a missing/mismatched result, or a point outside the scene.
    """
    from inhabit.body.protocol import check_body_params

    if spec.result is not None:
        from inhabit.export.results import load_result

        path = _result_path(spec.result)
        try:
            r = load_result(path)
        except InputError as e:
            raise InputError(f"{where}.from: {e}") from None
        if r.body_model != body_model.name:
            raise InputError(f"{where}.from: {path} holds a {r.body_model} body but the run uses the "
                             f"{body_model.name} body model; set 'body: {r.body_model}' in the init file")
        params = r.body_params().to(device=body_model.device, dtype=body_model.dtype)
        check_body_params(body_model, params)
        return params, {"source": "result", "path": str(path), "pelvis": r.joints[0].tolist()}
    from inhabit.body.poses import make_pose, place_body

    point = resolve_point(str(spec.at), scene, f"{where}.at")
    facing = spec.facing
    if facing is None:
        d = scene.center - point
        facing = (float(d[0]), float(d[1]), 0.0) if np.hypot(d[0], d[1]) > 1e-3 else (0.0, -1.0, 0.0)
    elif not isinstance(facing, tuple):
        facing = math.radians(float(facing))  # place_body takes a yaw in radians (0 faces -Y)
    with torch.no_grad():
        params = place_body(body_model, make_pose(body_model, spec.pose), point, facing=facing, contact=spec.contact,
                            pose_name=spec.pose)
    return params.detach(), {"source": "pose", "pose": spec.pose, "at": point.tolist(),
                             "facing": list(facing) if isinstance(facing, tuple) else facing,
                             "contact": spec.contact}


def clothed_colors(body_model) -> np.ndarray | None:
    """(V, 3) uint8 clothed per-vertex colours of the body (skin, shirt, trousers, shoes by part),
    or None for a backend without part labels."""
    try:
        from inhabit.body.parts import PART_NAMES, vertex_parts
        from inhabit.perceive.synthetic import clothed_vertex_colors

        return clothed_vertex_colors(vertex_parts(body_model), PART_NAMES)
    except Exception:  # a backend without vertex parts renders grey
        return None


def hand_vertex_mask(body_model) -> np.ndarray | None:
    """(V,) bool hand vertices of the body (part labels), or None."""
    try:
        from inhabit.body.parts import part_mask

        return np.asarray(part_mask(body_model, "left_hand", "right_hand").cpu().numpy(), bool)
    except Exception:
        return None


__all__ = ["POINT_MARGIN", "MotionObject", "MotionScene", "clothed_colors", "hand_vertex_mask", "initial_body",
           "load_motion_object", "load_motion_scene", "motion_scene_sdf", "object_pose_from_spec", "resolve_point"]
