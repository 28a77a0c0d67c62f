"""Initial camera selection (ZeroHSI §3.2 "Handling Occlusions", appendix C.3).

Cameras sit on concentric spheres around a centre ``c`` and look at it:

* ``c_z = h_pelvis + 0.1`` (z-up); ``c_xy`` = the pelvis' ground projection for a static scene; with
  a dynamic object, the midpoint between the pelvis projection and the furthest projection of the
  object's particles onto the ray from the pelvis along the human's facing direction
  (:func:`sphere_center`);
* only the hemisphere the human faces, without direct frontal views (:func:`camera_array`);
* each candidate renders the scene's depth ``D_S`` and the human's ``D_H``; with ``D = min(D_S, D_H)``
  the non-occluded pixels are ``Ω = {|D − D_H| < ε}``, and a joint of the 22 SMPL-X body joints is
  visible when it projects into the image onto Ω (:func:`joint_visibility`);
* the camera with the most visible joints wins; ties go to the one closest to the equatorial plane.

Remaining ties (the paper says nothing) are broken, in order, by the fraction of object particles
seen (the paper's stated aim is to see "both the human and the dynamic object"), the azimuth closest
to ``preferred_azimuth_deg`` (a three-quarter view, which reduces depth ambiguity), then the smaller
radius — so the choice is deterministic.

The array's numbers (radii, elevations, azimuths, the frontal exclusion, ε) are not in the paper;
ours are in :class:`CameraArrayConfig`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inhabit.camera.pinhole import Camera
from inhabit.conventions import UP
from inhabit.errors import InputError


@dataclass(frozen=True)
class CameraArrayConfig:
    """The candidate array and the visibility test.

    Attributes:
        radii: sphere radii (m).
        elevations_deg: elevation above the equator (the centre's horizontal plane), degrees.
        azimuths_deg: azimuths relative to the human's facing direction (0 = straight in front);
            only |azimuth| ≤ 90 (the hemisphere facing the human) and ≥ ``frontal_exclusion_deg``
            are used.
        frontal_exclusion_deg: no camera within this angle of the frontal direction.
        center_height_offset: ``c_z = h_pelvis + this`` (paper: 0.1 m).
        depth_eps: ε of Ω (m).
        fov_y_deg, width, height: the camera of the generated video.
        test_size: the longer side of the depth maps used for the visibility test (pixels).
        preferred_azimuth_deg: tie-break target (|azimuth|).
    """

    radii: tuple[float, ...] = (2.2, 2.8, 3.4)
    elevations_deg: tuple[float, ...] = (0.0, 10.0, 20.0, 30.0)
    azimuths_deg: tuple[float, ...] = (-90.0, -75.0, -60.0, -45.0, -30.0, 30.0, 45.0, 60.0, 75.0, 90.0)
    frontal_exclusion_deg: float = 25.0
    center_height_offset: float = 0.1
    depth_eps: float = 0.05
    fov_y_deg: float = 60.0
    width: int = 512
    height: int = 512
    test_size: int = 160
    preferred_azimuth_deg: float = 45.0

    def __post_init__(self) -> None:
        if not self.radii or any(r <= 0 for r in self.radii):
            raise InputError(f"CameraArrayConfig.radii must be positive distances, got {self.radii!r}")
        if not self.elevations_deg or any(abs(e) >= 89.0 for e in self.elevations_deg):
            raise InputError(f"CameraArrayConfig.elevations_deg must be within (-89, 89), got {self.elevations_deg!r}")
        az = [a for a in self.azimuths_deg if self.frontal_exclusion_deg <= abs(a) <= 90.0]
        if not az:
            raise InputError("CameraArrayConfig.azimuths_deg has no azimuth with frontal_exclusion_deg <= |a| <= 90")
        if self.depth_eps <= 0 or self.test_size < 16 or self.width < 1 or self.height < 1:
            raise InputError("CameraArrayConfig: depth_eps must be positive, test_size >= 16 and the size positive")


def facing_direction(joints: np.ndarray) -> np.ndarray:
    """(3,) unit horizontal direction a body faces, from its 22 joints (``BODY_JOINT_NAMES`` order).

    ``forward = left × up`` with ``left`` the horizontal hip + shoulder axis (right to left), since a
    body faces ``−Y`` with its left towards ``+X`` (``conventions.BODY_FORWARD``).
    """
    j = np.asarray(joints, np.float64)
    left = (j[1] - j[2]) + (j[16] - j[17])  # hips, shoulders
    left[2] = 0.0
    n = np.linalg.norm(left)
    if n < 1e-9:
        raise InputError("cannot tell which way the body faces: its hips and shoulders have no horizontal extent")
    f = np.cross(left / n, UP)
    return f / np.linalg.norm(f)


def sphere_center(pelvis: np.ndarray, facing: np.ndarray, object_points: np.ndarray | None = None,
                  height_offset: float = 0.1) -> np.ndarray:
    """C.3's sphere centre.

    Args:
        pelvis: (3,) pelvis position. facing: (3,) horizontal unit facing direction d.
        object_points: (M, 3) particles of the dynamic object, or None for a static scene.
        height_offset: ``c_z = pelvis_z + height_offset``.

    Returns:
        (3,): ``c_xy`` = pelvis_xy, or with an object the midpoint between pelvis_xy and the
        furthest projection of the particles onto the ray ``pelvis_xy + s d, s ≥ 0`` (particles
        behind the person project onto the ray's start).
    """
    p = np.asarray(pelvis, np.float64)
    d = np.asarray(facing, np.float64).copy()
    d[2] = 0.0
    d /= max(np.linalg.norm(d), 1e-12)
    c = np.array([p[0], p[1], p[2] + height_offset])
    if object_points is not None and len(object_points):
        q = np.asarray(object_points, np.float64)
        s = (q[:, :2] - p[None, :2]) @ d[:2]
        s_max = max(0.0, float(s.max()))
        c[:2] = p[:2] + 0.5 * s_max * d[:2]
    return c


def camera_array(center: np.ndarray, facing: np.ndarray, cfg: CameraArrayConfig = CameraArrayConfig()
                 ) -> list[Camera]:
    """The candidate cameras, all looking at ``center``.

    Camera position: ``c + r (cos e (cos a · d + sin a · s) + sin e · up)`` with d the facing
    direction, s = up × d, a the azimuth and e the elevation. ``camera.meta`` holds
    ``radius``, ``elevation_deg``, ``azimuth_deg``.
    """
    d = np.asarray(facing, np.float64).copy()
    d[2] = 0.0
    d /= max(np.linalg.norm(d), 1e-12)
    s = np.cross(UP, d)
    cams = []
    azimuths = [a for a in cfg.azimuths_deg if cfg.frontal_exclusion_deg <= abs(a) <= 90.0]
    for r in cfg.radii:
        for e in cfg.elevations_deg:
            for a in azimuths:
                er, ar = math.radians(e), math.radians(a)
                eye = np.asarray(center) + r * (math.cos(er) * (math.cos(ar) * d + math.sin(ar) * s) + math.sin(er) * UP)
                cam = Camera.look_at(eye, center, cfg.width, cfg.height, cfg.fov_y_deg,
                                     name=f"r{r:g}_e{e:g}_a{a:g}")
                cam.meta.update(radius=float(r), elevation_deg=float(e), azimuth_deg=float(a))
                cams.append(cam)
    return cams


def _pixels_in_view(uv: np.ndarray, z: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M,) ``ok`` (finite, in front of the camera, inside an (H, W) image) and the row and column of
    each projected point ``uv`` (M, 2) pixels at camera depth ``z`` (M,); -1 where not ok."""
    H, W = shape
    uv = np.asarray(uv, np.float64)
    ok = np.isfinite(uv).all(axis=1) & (z > 0)
    col = np.floor(np.where(ok, uv[:, 0], -1)).astype(int)
    row = np.floor(np.where(ok, uv[:, 1], -1)).astype(int)
    ok &= (col >= 0) & (col < W) & (row >= 0) & (row < H)
    return ok, row, col


def joint_visibility(joints_uv: np.ndarray, joints_z: np.ndarray, depth_scene: np.ndarray, depth_human: np.ndarray,
                     eps: float = 0.05) -> np.ndarray:
    """Which joints are seen (C.3's Ω test).

    Args:
        joints_uv: (J, 2) projected joints (pixels). joints_z: (J,) their camera depths.
        depth_scene: (H, W) scene depth (``inf`` where empty). depth_human: (H, W) the human alone.
        eps: ε (metres).

    Returns:
        (J,) bool: in front of the camera, inside the image, and at its pixel ``|D − D_H| < ε`` with
        ``D = min(D_S, D_H)`` (nothing of the scene in front of the human's surface). A joint whose
        pixel misses the human's silhouette (a thin limb at low resolution) is tested against the
        scene depth directly: seen when ``D_S > z_joint``.
    """
    z = np.asarray(joints_z, np.float64)
    ok, row, col = _pixels_in_view(joints_uv, z, depth_scene.shape)
    out = np.zeros(len(z), bool)
    r, c = row[ok], col[ok]
    ds, dh = depth_scene[r, c], depth_human[r, c]
    on_human = np.isfinite(dh)
    with np.errstate(invalid="ignore"):  # inf - inf off the silhouette; that branch is not used there
        seen = np.where(on_human, np.abs(np.minimum(ds, dh) - dh) < eps, ds > z[ok])
    out[np.flatnonzero(ok)] = seen
    return out


def points_visibility(points_uv: np.ndarray, points_z: np.ndarray, depth_full: np.ndarray, eps: float = 0.05) -> np.ndarray:
    """(M,) bool: points in the image and not behind the rendered depth by more than ``eps``."""
    z = np.asarray(points_z, np.float64)
    ok, row, col = _pixels_in_view(points_uv, z, depth_full.shape)
    out = np.zeros(len(z), bool)
    out[ok] = z[ok] <= depth_full[row[ok], col[ok]] + eps
    return out


DepthFn = Callable[[Camera], np.ndarray]
"""``camera -> (H, W)`` depth map in metres (``inf`` where nothing is hit)."""


def mesh_depth_fn(scene, renderer=None) -> DepthFn:
    """A :data:`DepthFn` rendering a mesh scene (``SceneMesh`` / ``MeshPart`` / list) with the mesh renderer."""
    from inhabit.render.mesh import default_renderer

    r = renderer or default_renderer()
    return lambda cam: r.render(cam, scene, ("depth",)).depth


def splat_depth_fn(gaussians, splatter=None, alpha_min: float = 0.5) -> DepthFn:
    """A :data:`DepthFn` for a Gaussian scene: the splatter's expected depth where alpha ≥ ``alpha_min``."""
    import torch

    from inhabit.render.splat import get_splatter

    spl = splatter or get_splatter(device=gaussians.device)

    def fn(cam: Camera) -> np.ndarray:
        with torch.no_grad():
            out = spl.render(gaussians, cam)
        d = out.depth.cpu().numpy().astype(np.float64)
        d[out.alpha.cpu().numpy() < alpha_min] = np.inf
        return d

    return fn


def select_initial_camera(scene, body, object_points: np.ndarray | None = None,
                          cfg: CameraArrayConfig = CameraArrayConfig(), renderer=None,
                          human_depth_fn: DepthFn | None = None, facing: np.ndarray | None = None) -> Camera:
    """Pick the initial camera T_0 (C.3).

    Args:
        scene: a mesh scene (``SceneMesh``, ``MeshPart`` or a list) or a :data:`DepthFn`.
        body: a :class:`~inhabit.body.protocol.BodyOutput` with batch 1 (the initial human).
        object_points: (M, 3) the dynamic object's particles in the world, or None.
        cfg: the array.
        renderer: a :class:`~inhabit.render.mesh.MeshRenderer` (default: the process-wide one).
        human_depth_fn: depth of the human alone (default: its mesh through ``renderer``).
        facing: (3,) the human's facing direction (default: from its hips and shoulders).

    Returns:
        The chosen :class:`Camera` at ``cfg.width × cfg.height``; ``camera.meta`` adds ``n_visible``,
        ``object_visible`` (fraction), ``center`` and ``scores`` (every candidate's
        ``(name, n_visible, object_visible)``).

    Raises:
        InputError: no candidate sees any joint (the person is enclosed by geometry).
    """
    from inhabit.render.mesh import default_renderer, mesh_from_arrays

    verts = np.asarray(body.vertices[0].detach().cpu().numpy() if hasattr(body.vertices, "detach") else body.vertices[0])
    joints = np.asarray(body.joints[0].detach().cpu().numpy() if hasattr(body.joints, "detach") else body.joints[0])
    faces = np.asarray(body.faces.detach().cpu().numpy() if hasattr(body.faces, "detach") else body.faces)
    if joints.shape[0] < 22:
        raise InputError(f"select_initial_camera needs the 22 body joints, got {joints.shape[0]}")
    joints = joints[:22]
    d = facing_direction(joints) if facing is None else np.asarray(facing, np.float64)
    obj = None if object_points is None or len(object_points) == 0 else np.asarray(object_points, np.float64)
    center = sphere_center(joints[0], d, obj, cfg.center_height_offset)
    if callable(scene) and not hasattr(scene, "parts"):
        scene_depth = scene
    else:
        scene_depth = mesh_depth_fn(scene, renderer)
    if human_depth_fn is None:
        r = renderer or default_renderer()
        human_mesh = mesh_from_arrays(verts, faces, name="human")
        human_depth_fn = lambda cam: r.render(cam, human_mesh, ("depth",)).depth  # noqa: E731
    if obj is not None and len(obj) > 2000:
        obj = obj[np.linspace(0, len(obj) - 1, 2000).astype(int)]
    s = cfg.test_size / max(cfg.width, cfg.height)
    tw, th = max(1, round(cfg.width * s)), max(1, round(cfg.height * s))
    best_key, best_cam, scores = None, None, []
    for cam in camera_array(center, d, cfg):
        small = cam.resized(tw, th)
        ds = np.asarray(scene_depth(small), np.float64)
        dh = np.asarray(human_depth_fn(small), np.float64)
        uv, z = small.project(joints)
        n_vis = int(joint_visibility(uv, z, ds, dh, cfg.depth_eps).sum())
        obj_vis = 0.0
        if obj is not None:
            ouv, oz = small.project(obj)
            obj_vis = float(points_visibility(ouv, oz, np.minimum(ds, dh), cfg.depth_eps).mean())
        m = cam.meta
        scores.append((cam.name, n_vis, obj_vis))
        key = (n_vis, -abs(m["elevation_deg"]), round(obj_vis, 3),
               -abs(abs(m["azimuth_deg"]) - cfg.preferred_azimuth_deg), -m["radius"])
        if best_key is None or key > best_key:
            best_key, best_cam = key, cam
    if best_cam is None or best_key[0] == 0:
        raise InputError("no camera of the initial-view array sees any body joint: the person is enclosed by scene "
                         "geometry at the given position (check the initial translation)")
    best_cam.meta.update(n_visible=int(best_key[0]), object_visible=float(best_key[2]), center=center.tolist(),
                         scores=scores)
    return best_cam


__all__ = ["CameraArrayConfig", "DepthFn", "camera_array", "facing_direction", "joint_visibility", "mesh_depth_fn",
           "points_visibility", "select_initial_camera", "sphere_center", "splat_depth_fn"]
