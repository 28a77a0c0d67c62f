"""Choosing the views that look at an interaction point (GenZI §2, every number of the authors' code).

Candidates: ``num_candidates`` (256) directions on a Fibonacci sphere, the camera ``distance``
(2.0 m) from the point ``p``, looking at it with a 60° field of view. Kept when the angle between the
direction and the scene's up is strictly within (60°, 90°) — 0–30° above the horizontal — and, with
the normal filter on, when its angle to the surface normal at ``p`` is below 135°. Each survivor
renders the scene's face ids at 512² with the local surface patch (:mod:`inhabit.scene.patch`)
re-meshed in; a patch triangle is *visible* when it covers at least one pixel and faces the camera
((eye − centroid) · normal > 0) — triangles thinner than a pixel, which may cover no pixel centre
although nothing hides them, are judged by the pixel under their centroid instead
(:func:`seen_triangles`). ``vis_ratio`` = visible patch area ÷ patch area. Views are sorted
by ratio (highest first), those above 0.4 kept, at most 16.

The sphere: point ``i`` of ``N`` is ``y = 1 − 2i/(N−1)``, ``r = √(1−y²)``, ``θ = i·π(√5−1)``,
``(x, z) = r(cos θ, sin θ)`` — verbatim, the formula's pole is its y axis. GenZI applies it as is and
measures the band against the scene's up (+Z in both of its datasets), which keeps 63 of 256.
Here the formula's points are taken in a frame whose z axis is the scene's up: for inhabit's
+Z-up world that is the formula verbatim (63 of 256, as GenZI); another ``up`` rotates the sphere
rigidly by the smallest rotation taking +Z to it, so the same 63 directions result.

Which side of the surface is free (:attr:`SurfacePatch.side`): when the point is off the surface
the patch normal already points towards it; when it is on the surface the normal filter and the
front-facing test are evaluated for both sides and the side whose views see more of the patch
(sum of ratios) wins — for a seat, a floor or a table that is the top.

GenZI's initial body translation is ``t0 = ½ (mean eye + p)``, and ``t0 = p`` for explicit views.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from inhabit.camera.pinhole import Camera, intrinsics_from_fov, invert_rigid, look_at
from inhabit.conventions import UP
from inhabit.errors import InputError
from inhabit.scene.mesh import MeshPart, SceneMesh
from inhabit.scene.patch import SurfacePatch, format_point, local_surface_patch, point_triangle_distances


@dataclass(frozen=True)
class ViewSelectionConfig:
    """GenZI's view selection numbers (``data.*`` of the authors' configs).

    Attributes:
        num_candidates: points on the Fibonacci sphere (256).
        distance: camera distance from the point, metres (2.0).
        fov_deg: vertical field of view of the selected cameras (60).
        image_size: side of the selected cameras' images, pixels (512).
        min_angle_to_up_deg, max_angle_to_up_deg: the direction's angle to up must be strictly
            inside this interval (60°, 90°): 0–30° above the horizontal.
        use_normal_filter: drop directions at ``max_angle_to_normal_deg`` or more from the normal.
        max_angle_to_normal_deg: 135.
        patch_radius: local surface patch radius, metres (0.15).
        min_vis_ratio: keep views whose visible patch fraction is above this (0.4).
        max_views: keep at most this many views (16).
        raster_size: side of the face-id renders used to test visibility (512).
        on_surface_tolerance: a point closer than this to the surface is on it (metres).
    """

    num_candidates: int = 256
    distance: float = 2.0
    fov_deg: float = 60.0
    image_size: int = 512
    min_angle_to_up_deg: float = 60.0
    max_angle_to_up_deg: float = 90.0
    use_normal_filter: bool = True
    max_angle_to_normal_deg: float = 135.0
    patch_radius: float = 0.15
    min_vis_ratio: float = 0.4
    max_views: int = 16
    raster_size: int = 512
    on_surface_tolerance: float = 0.02

    def __post_init__(self) -> None:
        positive = ("num_candidates", "distance", "fov_deg", "image_size", "patch_radius", "max_views", "raster_size")
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float | int) and not isinstance(v, bool) and not math.isfinite(v):
                raise InputError(f"ViewSelectionConfig.{f.name} must be finite, got {v}")
        for name in positive:
            if not getattr(self, name) > 0:
                raise InputError(f"ViewSelectionConfig.{name} must be positive, got {getattr(self, name)}")
        if self.num_candidates < 2:
            raise InputError(f"ViewSelectionConfig.num_candidates must be at least 2, got {self.num_candidates}")
        if not 0 < self.fov_deg < 180:
            raise InputError(f"ViewSelectionConfig.fov_deg must be in (0, 180), got {self.fov_deg}")
        if not 0 <= self.min_angle_to_up_deg < self.max_angle_to_up_deg <= 180:
            raise InputError(
                "ViewSelectionConfig needs 0 <= min_angle_to_up_deg < max_angle_to_up_deg <= 180, got "
                f"({self.min_angle_to_up_deg}, {self.max_angle_to_up_deg})"
            )
        if not 0 <= self.min_vis_ratio < 1:
            raise InputError(f"ViewSelectionConfig.min_vis_ratio must be in [0, 1), got {self.min_vis_ratio}")


@dataclass
class CandidateInfo:
    """Every candidate direction and what happened to it.

    Attributes:
        directions: (N, 3) unit directions from the point (the whole sphere).
        in_band: (N,) bool, inside the elevation band.
        passes_normal: (N,) bool, passes the normal filter (all true when it is off).
        vis_ratio: (N,) visible patch fraction (NaN where not rendered).
        order: (k,) candidate indices of the selected views, best first.
    """

    directions: np.ndarray
    in_band: np.ndarray
    passes_normal: np.ndarray
    vis_ratio: np.ndarray
    order: np.ndarray

    @property
    def num_rendered(self) -> int:
        return int(np.isfinite(self.vis_ratio).sum())


@dataclass
class ViewSelection:
    """The selected views.

    Attributes:
        cameras: OpenCV cameras named ``view000``…, best first (``meta["vis_ratio"]`` on each).
        vis_ratio: (k,) visible patch fraction of each view.
        normal: (3,) unit surface normal at the point, on the free side.
        patch: the local surface patch.
        point: (3,) the interaction point (the cameras' look-at target).
        t0: (3,) GenZI's initial body translation (:func:`initial_translation`, or ``point`` for
            explicit views).
        candidates: what happened to each candidate (None for explicit views).
    """

    cameras: list[Camera]
    vis_ratio: np.ndarray
    normal: np.ndarray
    patch: SurfacePatch
    point: np.ndarray
    t0: np.ndarray
    candidates: CandidateInfo | None = None
    config: ViewSelectionConfig = field(default_factory=ViewSelectionConfig)

    @property
    def eyes(self) -> np.ndarray:
        """(k, 3) camera centres."""
        return np.array([c.center for c in self.cameras]).reshape(-1, 3)

    def __len__(self) -> int:
        return len(self.cameras)


# --- candidates -------------------------------------------------------------------------------------


def fibonacci_sphere(n: int) -> np.ndarray:
    """GenZI's Fibonacci sphere, verbatim: (n, 3) unit points, pole along the formula's y axis.

    ``y = 1 − 2i/(n−1)``, ``r = √(1−y²)``, ``θ = i·π(√5−1)``, ``(x, z) = r (cos θ, sin θ)``.
    """
    if n < 2:
        raise ValueError("fibonacci_sphere needs n >= 2")
    i = np.arange(n, dtype=np.float64)
    y = 1.0 - 2.0 * i / (n - 1)
    r = np.sqrt(np.clip(1.0 - y * y, 0.0, None))
    th = i * math.pi * (math.sqrt(5.0) - 1.0)
    return np.stack([r * np.cos(th), y, r * np.sin(th)], axis=1)


def rotation_z_to(up: np.ndarray) -> np.ndarray:
    """(3, 3) smallest rotation taking +Z to the unit vector ``up`` (identity for +Z)."""
    u = np.asarray(up, np.float64)
    u = u / np.linalg.norm(u)
    z = np.array([0.0, 0.0, 1.0])
    c = float(z @ u)
    if c > 1.0 - 1e-12:
        return np.eye(3)
    if c < -1.0 + 1e-12:
        return np.diag([1.0, -1.0, -1.0])  # 180° about x
    v = np.cross(z, u)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


def candidate_directions(n: int = 256, up: np.ndarray = UP) -> np.ndarray:
    """(n, 3) GenZI candidate directions for a scene whose up is ``up`` (module docstring)."""
    return fibonacci_sphere(n) @ rotation_z_to(up).T


def angle_deg(dirs: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """(N,) angle in degrees between unit directions (N, 3) and a unit axis (3,)."""
    a = np.asarray(axis, np.float64)
    a = a / np.linalg.norm(a)
    return np.degrees(np.arccos(np.clip(dirs @ a, -1.0, 1.0)))


def elevation_band(dirs: np.ndarray, up: np.ndarray, cfg: ViewSelectionConfig) -> np.ndarray:
    """(N,) bool: angle to ``up`` strictly inside (min_angle_to_up_deg, max_angle_to_up_deg)."""
    a = angle_deg(dirs, up)
    return (a > cfg.min_angle_to_up_deg) & (a < cfg.max_angle_to_up_deg)


def initial_translation(eyes: np.ndarray, point: np.ndarray) -> np.ndarray:
    """GenZI's initial body translation: ``½ (mean of the eyes (k, 3) + point (3,))``."""
    eyes = np.asarray(eyes, np.float64).reshape(-1, 3)
    return 0.5 * (eyes.mean(axis=0) + np.asarray(point, np.float64))


def cameras_looking_at(
    point: np.ndarray,
    eyes: np.ndarray,
    fov_deg: float = 60.0,
    size: int | tuple[int, int] = 512,
    up: np.ndarray = UP,
    names: Sequence[str] | None = None,
) -> list[Camera]:
    """OpenCV cameras at ``eyes`` (k, 3) looking at ``point`` (3,), image up as close to ``up`` as possible.

    A camera looking straight along ±up has no defined roll; it gets image up along world +Y
    (or +X when up is ±Y).

    Raises:
        InputError: an eye coincides with the point.
    """
    W, H = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    K = intrinsics_from_fov(fov_deg, W, H)
    p = np.asarray(point, np.float64)
    eyes = np.asarray(eyes, np.float64).reshape(-1, 3)
    out = []
    for i, e in enumerate(eyes):
        if np.linalg.norm(e - p) < 1e-9:
            raise InputError(f"camera eye {format_point(e)} coincides with the point it should look at")
        try:
            T_world_cam = look_at(e, p, up)
        except ValueError:
            alt = np.array([0.0, 1.0, 0.0]) if abs(float(np.asarray(up) @ [0, 1, 0])) < 0.9 else np.array([1.0, 0, 0])
            T_world_cam = look_at(e, p, alt)
        name = names[i] if names is not None else f"view{i:03d}"
        out.append(Camera(K.copy(), invert_rigid(T_world_cam), W, H, name))
    return out


# --- visibility -------------------------------------------------------------------------------------


def visibility_mesh(scene: SceneMesh | tuple[np.ndarray, np.ndarray], patch: SurfacePatch,
                    reach: float | None = None) -> tuple[MeshPart, int]:
    """The scene with the faces under the patch replaced by the patch's refined triangles.

    Args:
        reach: keep only the scene faces within this distance of the point. A camera at distance
            ``d`` sees a patch point through the segment between them, which stays within
            ``max(d, patch extent)`` of the point, so nothing farther can hide the patch:
            ``reach = d + patch extent`` drops geometry that cannot matter (exactly).

    Returns:
        the mesh (one part, geometry only) and the face index of the first refined triangle: a
        rendered face id ``f >= offset`` is patch triangle ``f - offset``.
    """
    if isinstance(scene, SceneMesh):
        V, F = scene.vertices, scene.faces
    else:
        V, F = np.asarray(scene[0], np.float32), np.asarray(scene[1], np.int32)
    keep = np.ones(len(F), bool)
    keep[patch.replaced_faces] = False
    if reach is not None and len(F):
        tri = V[F].astype(np.float64)
        lo, hi = tri.min(axis=1), tri.max(axis=1)
        p = patch.point
        near = np.linalg.norm(np.maximum(0.0, np.maximum(lo - p, p - hi)), axis=1) <= reach
        idx = np.flatnonzero(near & keep)
        d = point_triangle_distances(p, tri[idx])
        keep[:] = False
        keep[idx[d <= reach]] = True
    T = len(patch.triangles)
    used = np.unique(F[keep])
    remap = np.full(len(V), -1, np.int64)
    remap[used] = np.arange(len(used))
    verts = np.concatenate([V[used], patch.triangles.reshape(-1, 3).astype(np.float32)])
    faces = np.concatenate([remap[F[keep]], len(used) + np.arange(3 * T).reshape(T, 3)]).astype(np.int32)
    return MeshPart(verts, faces, name="visibility"), int(keep.sum())


def covered_triangles(face_ids: np.ndarray, offset: int, num_triangles: int) -> np.ndarray:
    """(T,) bool: patch triangles covering at least one pixel of a face-id image (H, W)."""
    ids = face_ids[face_ids >= offset] - offset
    out = np.zeros(num_triangles, bool)
    out[ids] = True
    return out


def seen_triangles(face_ids: np.ndarray, depth: np.ndarray, camera: Camera, patch: SurfacePatch, offset: int,
                   thin_px: float = 1.5) -> np.ndarray:
    """(T,) bool: patch triangles seen in one face-id raster.

    GenZI's rule: the triangle covers at least one pixel centre. Triangles too thin to be sure of
    covering one even when seen face-on (smallest altitude below ``thin_px`` pixels at their
    depth, as in finely tessellated scans and cylinder slivers) count as seen when the pixel under
    their centroid shows the patch at the centroid's depth, within the depth spread of one pixel
    of the surface shown there (``2 · z/f · (1 + tan θ)``, θ its angle to the ray, tan θ ≤ 20). An
    occluded triangle fails that test: the pixel shows a surface in front of it. Triangles that
    are thin only because they are seen edge-on keep GenZI's rule.

    Args:
        face_ids: (H, W) face ids of :func:`visibility_mesh` rendered from ``camera``.
        depth: (H, W) the matching depth (inf where empty).
        camera: the camera of the raster (possibly a crop).
        offset: face id of the first patch triangle.
    """
    T = len(patch.triangles)
    seen = covered_triangles(face_ids, offset, T)
    cand = np.flatnonzero(patch.in_patch & ~seen)
    if len(cand) == 0:
        return seen
    # Thin at their depth? The depth of the patch varies little: test with its nearest box corner.
    z_near = camera.project(patch.patch_box)[1].min()
    cand = cand[patch.min_altitudes[cand] * camera.K[0, 0] < thin_px * max(z_near, 1e-9) * 1.5]
    if len(cand) == 0:
        return seen
    c = patch.centroids[cand]
    uv, z = camera.project(c)
    thin = (z > 0) & (patch.min_altitudes[cand] * camera.K[0, 0] < thin_px * np.maximum(z, 1e-12))
    cand, c, uv, z = cand[thin], c[thin], uv[thin], z[thin]
    if len(cand) == 0:
        return seen
    H, W = face_ids.shape
    j, i = np.floor(uv[:, 0]).astype(np.int64), np.floor(uv[:, 1]).astype(np.int64)
    inside = (i >= 0) & (i < H) & (j >= 0) & (j < W) & (z > 0)
    cand, c, z, i, j = cand[inside], c[inside], z[inside], i[inside], j[inside]
    f = face_ids[i, j] - offset
    shows_patch = f >= 0
    f = np.where(shows_patch, f, 0)
    shows_patch &= patch.in_patch[f]
    ray = c - camera.center
    ray /= np.linalg.norm(ray, axis=1, keepdims=True)
    cos = np.clip(np.abs(np.einsum("nc,nc->n", patch.triangle_normals[f], ray)), 0.05, 1.0)
    tan = np.minimum(np.sqrt(1.0 - cos**2) / cos, 20.0)
    tol = 2.0 * z / camera.K[0, 0] * (1.0 + tan)
    ok = shows_patch & (np.abs(depth[i, j] - z) <= tol)
    seen[cand[ok]] = True
    return seen


def visible_ratio(covered: np.ndarray, eye: np.ndarray, patch: SurfacePatch, sign: float = 1.0) -> float:
    """Visible patch area fraction for one camera at ``eye`` (3,).

    Args:
        covered: (T,) bool, triangle seen in the raster (:func:`seen_triangles`).
        sign: +1 to test against the patch's normals, −1 for the other side of the surface.
    """
    c = patch.centroids
    front = sign * np.einsum("tc,tc->t", np.asarray(eye, np.float64)[None] - c, patch.triangle_normals) > 0
    vis = covered & front & patch.in_patch
    total = patch.triangle_areas[patch.in_patch].sum()
    return float(patch.triangle_areas[vis].sum() / total) if total > 0 else 0.0


def _renderer(renderer):
    if renderer is not None:
        return renderer
    # camera sits below render in the layering; the renderer is only needed at call time.
    from inhabit.render.mesh import default_renderer

    return default_renderer()


def patch_window(camera: Camera, patch: SurfacePatch) -> tuple[int, int, int, int] | None:
    """Pixel window ``(x0, y0, width, height)`` holding every pixel centre the patch can cover.

    A triangle in front of the camera projects inside the convex hull of its projected corners,
    so no pixel outside the projected bounding box of the patch can show it: rendering only this
    window gives exactly the coverage of the full raster, 30–50× cheaper. Returns None when the box
    is not entirely in front of the camera (render the full frame) and an empty window when the
    patch is outside the image.
    """
    # The projection of the patch's bounding box contains the projection of the patch (when the box
    # is in front of the camera): 8 points instead of every triangle corner.
    uv, z = camera.project(patch.patch_box)
    if not np.all(z > 1e-6):
        return None
    x0 = max(0, int(np.floor(uv[:, 0].min() - 0.5)))
    x1 = min(camera.width - 1, int(np.ceil(uv[:, 0].max() - 0.5)))
    y0 = max(0, int(np.floor(uv[:, 1].min() - 0.5)))
    y1 = min(camera.height - 1, int(np.ceil(uv[:, 1].max() - 0.5)))
    return x0, y0, max(0, x1 - x0 + 1), max(0, y1 - y0 + 1)


def _coverage(renderer, mesh: MeshPart, offset: int, patch: SurfacePatch, eyes: np.ndarray, point: np.ndarray,
              cfg: ViewSelectionConfig, up: np.ndarray, crop: bool = True) -> np.ndarray:
    """(M, T) bool: patch triangles seen from each eye (:func:`seen_triangles`, raster ``cfg.raster_size``)."""
    from inhabit.progress import track

    cams = cameras_looking_at(point, eyes, cfg.fov_deg, cfg.raster_size, up)
    T = len(patch.triangles)
    out = np.zeros((len(cams), T), bool)
    for i, cam in enumerate(track(cams, desc="view visibility", total=len(cams))):
        win = patch_window(cam, patch) if crop else None
        if win is not None:
            if win[2] == 0 or win[3] == 0:
                continue
            cam = cam.cropped(*win)
        r = renderer.render(cam, mesh, passes=("face_id", "depth"))
        out[i] = seen_triangles(r.face_id, r.depth, cam, patch, offset)
    return out


def select_views(
    scene: SceneMesh | tuple[np.ndarray, np.ndarray],
    point: Sequence[float] | np.ndarray,
    cfg: ViewSelectionConfig | None = None,
    renderer=None,
    eyes: np.ndarray | None = None,
    up: np.ndarray = UP,
) -> ViewSelection:
    """GenZI's automatic view selection around ``point`` (see the module docstring).

    Args:
        scene: the scene (SceneMesh, or ``(vertices, faces)``).
        point: (3,) interaction point, world frame.
        cfg: the numbers (GenZI's by default).
        renderer: a :class:`~inhabit.render.mesh.MeshRenderer` for the face-id renders (default:
            the process-wide one).
        eyes: (k, 3) explicit camera positions (a task file's viewpoints): no selection, every eye
            is kept in the given order with its ratio, and ``t0 = point`` as in GenZI.
        up: the scene's up (inhabit's world is +Z up).

    Raises:
        InputError: no surface near the point, or no candidate sees the patch well enough.
    """
    cfg = cfg or ViewSelectionConfig()
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    if eyes is not None:
        eyes = np.asarray(eyes, np.float64).reshape(-1, 3)
        if len(eyes) == 0 or not np.all(np.isfinite(eyes)):
            raise InputError("explicit camera eyes must be a non-empty list of finite (x, y, z) positions")
    patch = local_surface_patch(scene, point, cfg.patch_radius, cfg.on_surface_tolerance)
    p = patch.point
    r = _renderer(renderer)
    # Only geometry within reach of the cameras' lines of sight can hide the patch.
    extent = float(np.linalg.norm(patch.triangles[patch.in_patch].reshape(-1, 3) - p, axis=1).max())
    far_eye = cfg.distance if eyes is None else float(np.linalg.norm(eyes - p, axis=1).max())
    mesh, offset = visibility_mesh(scene, patch, reach=max(far_eye, extent) + 1e-3)

    if eyes is not None:
        cov = _coverage(r, mesh, offset, patch, eyes, p, cfg, up)
        if patch.side == "winding":
            s_pos = sum(visible_ratio(c, e, patch, +1.0) for c, e in zip(cov, eyes))
            s_neg = sum(visible_ratio(c, e, patch, -1.0) for c, e in zip(cov, eyes))
            patch = patch.flipped() if s_neg > s_pos else patch.with_side("visibility")
        ratios = np.array([visible_ratio(c, e, patch) for c, e in zip(cov, eyes)])
        cams = cameras_looking_at(p, eyes, cfg.fov_deg, cfg.image_size, up)
        for c, v in zip(cams, ratios):
            c.meta["vis_ratio"] = float(v)
        return ViewSelection(cams, ratios, patch.normal.copy(), patch, p, p.copy(), None, cfg)

    dirs = candidate_directions(cfg.num_candidates, up)
    band = elevation_band(dirs, up, cfg)

    def normal_ok(n: np.ndarray) -> np.ndarray:
        if not cfg.use_normal_filter:
            return np.ones(len(dirs), bool)
        return angle_deg(dirs, n) < cfg.max_angle_to_normal_deg

    sides = [1.0] if patch.side == "point" else [1.0, -1.0]
    render_mask = np.zeros(len(dirs), bool)
    for s in sides:
        render_mask |= band & normal_ok(s * patch.normal)
    idx = np.flatnonzero(render_mask)
    cand_eyes = p[None] + cfg.distance * dirs[idx]
    cov = _coverage(r, mesh, offset, patch, cand_eyes, p, cfg, up) if len(idx) else np.zeros((0, 0), bool)

    best = None
    for s in sides:
        ok = band & normal_ok(s * patch.normal)
        ratios = np.full(len(dirs), np.nan)
        for row, ci in enumerate(idx):
            if ok[ci]:
                ratios[ci] = visible_ratio(cov[row], cand_eyes[row], patch, s)
        score = float(np.nansum(ratios))
        if best is None or score > best[0] + 1e-12:
            best = (score, s, ratios, ok)
    _, s, ratios, ok = best
    if s < 0:
        patch = patch.flipped()
    elif patch.side == "winding":
        patch = patch.with_side("visibility")

    scored = np.flatnonzero(np.isfinite(ratios))
    order = scored[np.argsort(-ratios[scored], kind="stable")]
    order = order[ratios[order] > cfg.min_vis_ratio][: cfg.max_views]
    info = CandidateInfo(dirs, band, ok, ratios, order)
    if len(order) == 0:
        seen = float(np.nanmax(ratios)) if np.isfinite(ratios).any() else 0.0
        raise InputError(
            f"no camera {cfg.distance:g} m from point {format_point(p)} sees the surface around it "
            f"(best visible fraction {seen:.2f}, needed > {cfg.min_vis_ratio:g}): is the point inside a wall "
            f"or an object?"
        )
    eyes_sel = p[None] + cfg.distance * dirs[order]
    cams = cameras_looking_at(p, eyes_sel, cfg.fov_deg, cfg.image_size, up)
    for c, ci in zip(cams, order):
        c.meta["vis_ratio"] = float(ratios[ci])
        c.meta["candidate"] = int(ci)
    return ViewSelection(cams, ratios[order].copy(), patch.normal.copy(), patch, p, initial_translation(eyes_sel, p),
                         info, cfg)
