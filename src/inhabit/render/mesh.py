"""Headless mesh rendering: RGB, depth, mask, face ids and normals of scenes and bodies.

One :class:`MeshRenderer` front end, two backends that give the same pictures:

* ``"gl"`` — moderngl on an EGL standalone context (:mod:`inhabit.render.gl`), about 15 ms per
  512² frame of 110k triangles on CPU Mesa (llvmpipe), faster on a GPU;
* ``"raycast"`` — warp BVH ray casting (:mod:`inhabit.render.raycast`), GL-free, with the shading
  written in plain numpy (:mod:`inhabit.render.shading`): the readable reference of the GL shaders.

The backend is picked once per process: ``INHABIT_RENDER_BACKEND=gl|raycast|auto`` (default
``auto``: GL when an EGL context starts, ray casting otherwise).

Conventions (see :mod:`inhabit.conventions`):

* cameras are OpenCV :class:`~inhabit.camera.pinhole.Camera` s; the OpenGL projection is built
  inside the GL backend from ``K`` (any principal point, skew, the pixel-corner origin);
* a pixel shows what the ray through its *centre* hits (no anti-aliasing unless
  ``RenderSettings.supersample > 1``, which only smooths the RGB pass);
* ``depth`` is the camera-frame z in metres (not the distance along the ray), ``inf`` where
  nothing was hit; ``face_id`` indexes the faces of everything rendered, concatenated in the
  order given (for one :class:`SceneMesh` that is ``SceneMesh.faces``), ``-1`` where empty;
  ``normal`` is the world-frame shading normal turned towards the camera, 0 where empty;
* lighting: ambient + a directional headlight along the camera's viewing direction, Lambert and
  two-sided (``|n·forward|``), so the winding of the file never makes a surface black;
  albedo = ``base_color`` × vertex colour × texture (sRGB values multiplied as they are);
* texels with alpha below ``alpha_cutoff`` are holes (foliage cut-outs), in every pass.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inhabit.camera.pinhole import Camera
from inhabit.errors import InputError
from inhabit.scene.mesh import MeshPart, SceneMesh

PASSES = ("rgb", "depth", "mask", "face_id", "normal")
"""The passes a renderer can produce."""

Renderable = SceneMesh | MeshPart
"""A scene (all its parts, face ids as in ``SceneMesh.faces``) or one mesh part (e.g. a body)."""


@dataclass(frozen=True)
class RenderSettings:
    """How renders look. Geometry passes (depth, mask, face ids) ignore the lighting fields.

    Attributes:
        background: RGB in [0, 1] where nothing is hit.
        ambient: ambient light intensity.
        headlight: intensity of the directional light along the camera's viewing direction.
        flat_shading: shade with face normals (faceted look) instead of smoothed normals.
        crease_angle_deg: smoothed normals are averaged only over faces whose normals are within
            this angle, so a box stays a box and a body stays smooth.
        alpha_cutoff: texels/vertices with alpha below this are holes; ``None`` = all opaque.
        near: nearest rendered distance (m); the far plane is fitted to the geometry.
        supersample: render RGB at this factor and box-filter down (anti-aliasing).
    """

    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    ambient: float = 0.45
    headlight: float = 0.6
    flat_shading: bool = False
    crease_angle_deg: float = 40.0
    alpha_cutoff: float | None = 0.5
    near: float = 0.01
    supersample: int = 1

    def __post_init__(self) -> None:
        if len(self.background) != 3 or not all(0.0 <= float(c) <= 1.0 for c in self.background):
            raise InputError(f"RenderSettings.background must be 3 numbers in [0, 1], got {self.background!r}")
        if not (self.near > 0):
            raise InputError(f"RenderSettings.near must be positive, got {self.near}")
        if int(self.supersample) != self.supersample or self.supersample < 1:
            raise InputError(f"RenderSettings.supersample must be a positive integer, got {self.supersample}")


@dataclass
class RenderOutput:
    """The passes of one view. Arrays are ``None`` for passes not requested (``mask`` always exists).

    Attributes:
        camera: the camera rendered.
        mask: (H, W) bool, something was hit.
        rgb: (H, W, 3) uint8.
        depth: (H, W) float32 camera-frame z in metres, ``inf`` where empty.
        face_id: (H, W) int32 index into the concatenated faces of the rendered meshes, -1 where empty.
        normal: (H, W, 3) float32 world-frame unit normal facing the camera, 0 where empty.
        face_ranges: ``(start, stop)`` face-id range of each mesh given to the renderer.
        backend: which backend rendered it.
    """

    camera: Camera
    mask: np.ndarray
    rgb: np.ndarray | None = None
    depth: np.ndarray | None = None
    face_id: np.ndarray | None = None
    normal: np.ndarray | None = None
    face_ranges: tuple[tuple[int, int], ...] = ()
    backend: str = ""

    def mesh_mask(self, k: int) -> np.ndarray:
        """(H, W) bool: pixels showing the ``k``-th mesh given to the renderer (needs ``face_id``)."""
        if self.face_id is None:
            raise ValueError("mesh_mask needs the face_id pass")
        a, b = self.face_ranges[k]
        return (self.face_id >= a) & (self.face_id < b)


@dataclass
class Composite:
    """A human rendered into a scene view (GenZI §3 composite).

    Attributes:
        rgb: (H, W, 3) uint8 composite.
        human_visible: (H, W) bool, the human is in front where it covers the scene.
        human_silhouette: (H, W) bool, the human alone, unoccluded (GenZI stage-1 masks).
        depth: (H, W) float32 composite depth (``inf`` where empty).
    """

    rgb: np.ndarray
    human_visible: np.ndarray
    human_silhouette: np.ndarray
    depth: np.ndarray


# --- raw arrays -> MeshPart ----------------------------------------------------------------------


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def mesh_from_arrays(
    vertices: Any,
    faces: Any,
    colors: Any = None,
    uv: Any = None,
    texture: Any = None,
    name: str = "mesh",
) -> MeshPart:
    """A renderable part from raw arrays (e.g. a body mesh; torch tensors are accepted).

    Args:
        vertices: (V, 3) world positions.
        faces: (F, 3) vertex indices.
        colors: None (grey 0.5, GenZI's untextured human), one colour (3,)/(4,), or per-vertex
            (V, 3)/(V, 4); floats in [0, 1] or uint8.
        uv: (V, 2) texture coordinates (v up), with ``texture`` (H, W, 3|4) uint8.
    """
    v = _np(vertices).astype(np.float32).reshape(-1, 3)
    f = _np(faces)
    if f.ndim != 2 or f.shape[1] != 3:
        raise ValueError(f"faces must be (F, 3), got {f.shape}")
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise ValueError(f"faces index vertices 0..{len(v) - 1} but contain {int(f.min())}..{int(f.max())}")
    if not np.all(np.isfinite(v)):
        raise ValueError("vertices contain NaN or inf")
    base = np.array([0.5, 0.5, 0.5, 1.0])
    vc = None
    if colors is not None:
        c = _np(colors)
        if c.ndim == 1:
            c = c.astype(np.float64) / (255.0 if c.dtype == np.uint8 else 1.0)
            base = np.append(c, 1.0) if len(c) == 3 else c.astype(np.float64)
        elif c.ndim == 2 and len(c) == len(v) and c.shape[1] in (3, 4):
            vc, base = c, np.ones(4)
        else:
            raise ValueError(f"colors must be (3,), (4,), or (V, 3|4) with V = {len(v)}, got {c.shape}")
    return MeshPart(v, f.astype(np.int32), vertex_colors=vc, uv=None if uv is None else _np(uv),
                    texture=None if texture is None else _np(texture), base_color=base, name=name)


# --- per-part preparation shared by both backends ---------------------------------------------------


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of an integer array (N, K), deduplicated: ``(first, inverse)`` with ``a[first][inverse] == a``.

    A lexicographic sort of the columns: several times faster than ``np.unique(axis=0)``, which
    sorts opaque row views.
    """
    if len(a) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort(a.T[::-1])
    sa = a[order]
    new = np.ones(len(a), bool)
    new[1:] = np.any(sa[1:] != sa[:-1], axis=1)
    group = np.cumsum(new) - 1
    inverse = np.empty(len(a), np.int64)
    inverse[order] = group
    return order[new], inverse


def corner_normals(vertices: np.ndarray, faces: np.ndarray, crease_angle_deg: float = 40.0,
                   max_fan: int = 64) -> np.ndarray:
    """Smoothed normals per face corner, averaged only across faces within the crease angle.

    Vertices at the same position are welded first (1 µm), so UV seams do not show. Neighbour
    normals are sign-aligned before averaging, so inconsistent winding does not cancel them.

    Args:
        vertices: (V, 3); faces: (F, 3).
        crease_angle_deg: faces meeting at a sharper angle keep separate normals.
        max_fan: corners of vertices shared by more faces (cone apexes, cap centres) take their
            face normal: the all-pairs comparison is quadratic in the fan size.

    Returns:
        (F, 3, 3) unit normals (the face normal for degenerate neighbourhoods).
    """
    V = np.asarray(vertices, np.float64)
    F = np.asarray(faces, np.int64)
    nF = len(F)
    if nF == 0:
        return np.zeros((0, 3, 3), np.float32)
    cr = np.cross(V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]])
    area2 = np.linalg.norm(cr, axis=1)
    fn = np.where(area2[:, None] > 0, cr / np.maximum(area2, 1e-300)[:, None], 0.0)
    _, weld = unique_rows(np.round(V / 1e-6).astype(np.int64))
    cw = weld.reshape(-1)[F.reshape(-1)]  # welded vertex of each corner, corner c = 3 f + k
    cface = np.repeat(np.arange(nF), 3)
    order = np.argsort(cw, kind="stable")
    sw = cw[order]
    starts = np.flatnonzero(np.r_[True, sw[1:] != sw[:-1]])
    sizes = np.diff(np.r_[starts, len(sw)])
    group_of_sorted = np.repeat(np.arange(len(starts)), sizes)
    out = np.repeat(fn[:, None, :], 3, axis=1).reshape(-1, 3)  # default: face normal
    cos_t = np.cos(np.radians(crease_angle_deg))
    small = sizes[group_of_sorted] <= max_fan
    corners = np.flatnonzero(small)  # positions in sorted order
    chunk = max(1, 4_000_000 // max(1, int(sizes[sizes <= max_fan].max(initial=1))))
    for s in range(0, len(corners), chunk):
        ci = corners[s:s + chunk]
        g = group_of_sorted[ci]
        reps = sizes[g]
        i_sorted = np.repeat(ci, reps)
        offs = np.arange(len(i_sorted)) - np.repeat(np.cumsum(reps) - reps, reps)
        j_sorted = np.repeat(starts[g], reps) + offs
        fi, fj = cface[order[i_sorted]], cface[order[j_sorted]]
        d = np.einsum("ij,ij->i", fn[fi], fn[fj])
        w = np.where(np.abs(d) >= cos_t, np.sign(d) * area2[fj], 0.0)
        owner = np.repeat(np.arange(len(ci)), reps)
        acc = np.stack([np.bincount(owner, fn[fj, k] * w, minlength=len(ci)) for k in range(3)], axis=1)
        norm = np.linalg.norm(acc, axis=1)
        ok = norm > 1e-20
        tgt = order[ci]
        out[tgt[ok]] = acc[ok] / norm[ok, None]
    return out.reshape(nF, 3, 3).astype(np.float32)


class PreparedPart:
    """A :class:`MeshPart` ready for the backends (computed once, cached per part).

    Attributes:
        vertices (V, 3) float32, faces (F, 3) int32: the part's own indexed geometry.
        bounds (2, 3): axis-aligned box.
        opaque: no vertex/base/texture alpha is below the cutoff (alpha tests can be skipped).
        base_color (4,), vertex_colors (V, 4) float32 in [0, 1] or None, uv (V, 2) or None,
        texture (H, W, 4) uint8 or None.
        Split vertex arrays (one vertex per distinct corner normal, see :func:`corner_normals`),
        made on first use by :meth:`split`: ``s_vertices, s_faces, s_normals, s_colors`` (albedo
        RGBA = base colour × vertex colour), ``s_uv``. Geometry passes never need them.
    """

    def __init__(self, part: MeshPart, crease_angle_deg: float, alpha_cutoff: float | None):
        self.name = part.name
        self.vertices = np.ascontiguousarray(part.vertices, np.float32)
        self.faces = np.ascontiguousarray(part.faces, np.int32)
        self.num_faces = len(self.faces)
        self.bounds = (np.stack([self.vertices.min(0), self.vertices.max(0)]) if len(self.vertices)
                       else np.zeros((2, 3), np.float32))
        self.base_color = np.asarray(part.base_color, np.float64).reshape(4)
        self.vertex_colors = None if part.vertex_colors is None else part.vertex_colors.astype(np.float32) / 255.0
        self.uv = None if part.uv is None else np.ascontiguousarray(part.uv, np.float32)
        tex = part.texture
        if tex is not None and self.uv is not None:
            tex = np.asarray(tex)
            if tex.dtype != np.uint8:
                tex = (np.clip(tex, 0, 1) * 255 + 0.5).astype(np.uint8)
            if tex.ndim == 2:
                tex = np.repeat(tex[..., None], 3, axis=2)
            if tex.shape[2] == 3:
                tex = np.concatenate([tex, np.full((*tex.shape[:2], 1), 255, np.uint8)], axis=2)
            self.texture = np.ascontiguousarray(tex[..., :4])
        else:
            self.texture = None
        self.crease_angle_deg = crease_angle_deg
        cut = -1.0 if alpha_cutoff is None else float(alpha_cutoff)
        alpha_min = self.base_color[3]
        if self.vertex_colors is not None and len(self.vertex_colors):
            alpha_min *= float(self.vertex_colors[:, 3].min())
        if self.texture is not None:
            alpha_min *= float(self.texture[..., 3].min()) / 255.0
        self.opaque = alpha_min >= cut
        self._split: tuple | None = None
        self.lock = threading.Lock()

    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """``(s_vertices, s_faces, s_normals, s_colors, s_uv)``: vertices duplicated where corner normals differ."""
        with self.lock:
            if self._split is None:
                cn = corner_normals(self.vertices, self.faces, self.crease_angle_deg).reshape(-1, 3)
                vid = self.faces.reshape(-1).astype(np.int64)
                q = np.round(cn.astype(np.float64) * 1e4).astype(np.int64)
                key = np.concatenate([vid[:, None], q], axis=1)
                first, inv = unique_rows(key)
                src = vid[first]
                s_v = self.vertices[src]
                s_n = cn[first]
                col = np.tile(self.base_color.astype(np.float32), (len(src), 1))
                if self.vertex_colors is not None:
                    col = col * self.vertex_colors[src]
                s_uv = None if self.uv is None else self.uv[src]
                self._split = (np.ascontiguousarray(s_v), inv.reshape(-1, 3).astype(np.int32),
                               np.ascontiguousarray(s_n, np.float32), np.ascontiguousarray(col, np.float32),
                               None if s_uv is None else np.ascontiguousarray(s_uv))
            return self._split


_PREP_LOCK = threading.Lock()
_PREPARED: dict[tuple[int, float, float | None], tuple[weakref.ref, tuple, PreparedPart]] = {}


def _identity(part: MeshPart) -> tuple:
    return (part.vertices, part.faces, part.vertex_colors, part.uv, part.texture, tuple(np.asarray(part.base_color).ravel()))


def _same(a: tuple, b: tuple) -> bool:
    return all(x is y for x, y in zip(a[:5], b[:5])) and a[5] == b[5]


def prepare(part: MeshPart, settings: RenderSettings) -> PreparedPart:
    """The cached :class:`PreparedPart` of ``part``.

    Cached while ``part`` is alive and its arrays are the same objects; arrays modified *in place*
    are not noticed (assign new arrays, or build a new part, when geometry changes).
    """
    key = (id(part), float(settings.crease_angle_deg), settings.alpha_cutoff)
    ident = _identity(part)
    with _PREP_LOCK:
        hit = _PREPARED.get(key)
        if hit is not None and hit[0]() is part and _same(hit[1], ident):
            return hit[2]
        prep = PreparedPart(part, settings.crease_angle_deg, settings.alpha_cutoff)
        if hit is None or hit[0]() is not part:
            weakref.finalize(part, _PREPARED.pop, key, None)
        _PREPARED[key] = (weakref.ref(part), ident, prep)
        return prep


def _as_parts(mesh: Renderable) -> list[MeshPart]:
    if isinstance(mesh, SceneMesh):
        return list(mesh.parts)
    if isinstance(mesh, MeshPart):
        return [mesh]
    raise TypeError(f"cannot render {type(mesh).__name__}: give a SceneMesh or a MeshPart (see mesh_from_arrays)")


# --- backends ----------------------------------------------------------------------------------------


class Backend:
    """What a backend implements (see :mod:`inhabit.render.gl`, :mod:`inhabit.render.raycast`)."""

    name = "base"

    def render(self, camera: Camera, groups: list[list[PreparedPart]], offsets: list[list[int]],
               passes: frozenset[str], settings: RenderSettings, near: float, far: float) -> dict[str, np.ndarray]:
        """Render at ``camera``'s size. Returns ``face_id`` (always; -1 empty) and the requested of
        ``rgb`` (H,W,3) shaded albedo (uint8, or float32 in [0, 1]; anything where empty),
        ``depth`` (H,W) (inf empty), ``normal`` (H,W,3)."""
        raise NotImplementedError


_BACKENDS: dict[str, Backend] = {}
_BACKEND_ERRORS: dict[str, str] = {}
_BACKEND_LOCK = threading.Lock()


def _make_backend(name: str) -> Backend:
    with _BACKEND_LOCK:
        if name in _BACKENDS:
            return _BACKENDS[name]
        if name in _BACKEND_ERRORS:
            raise RuntimeError(_BACKEND_ERRORS[name])
        try:
            if name == "gl":
                from inhabit.render.gl import GLBackend

                be: Backend = GLBackend()
            elif name == "raycast":
                from inhabit.render.raycast import RaycastBackend

                be = RaycastBackend()
            else:
                raise ValueError(name)
        except Exception as e:
            _BACKEND_ERRORS[name] = f"{type(e).__name__}: {e}".strip()
            raise RuntimeError(_BACKEND_ERRORS[name]) from e
        _BACKENDS[name] = be
        return be


def requested_backend() -> str:
    """``INHABIT_RENDER_BACKEND`` (``gl``, ``raycast`` or ``auto``; default ``auto``)."""
    val = os.environ.get("INHABIT_RENDER_BACKEND", "auto").strip().lower() or "auto"
    if val not in ("auto", "gl", "raycast"):
        raise InputError(f"INHABIT_RENDER_BACKEND must be 'gl', 'raycast' or 'auto', got {val!r}")
    return val


def get_backend(name: str | None = None) -> Backend:
    """The backend ``name`` (``gl``/``raycast``/``auto``/None = the environment's choice).

    ``auto`` tries GL once per process and falls back to ray casting with a warning.

    Raises:
        InputError: a backend was asked for by name and cannot start (the sentence says why).
    """
    choice = requested_backend() if name is None else name
    if choice == "auto":
        try:
            return _make_backend("gl")
        except RuntimeError as e:
            if "gl" not in _WARNED:
                import warnings

                warnings.warn(f"OpenGL (EGL) rendering is unavailable ({e}); using the slower ray-casting "
                              f"renderer", RuntimeWarning, stacklevel=2)
                _WARNED.add("gl")
            choice = "raycast"
    try:
        return _make_backend(choice)
    except RuntimeError as e:
        hint = " (unset INHABIT_RENDER_BACKEND to fall back automatically)" if choice == "gl" else ""
        raise InputError(f"the {choice!r} render backend cannot start: {e}{hint}") from None


_WARNED: set[str] = set()


# --- the front end ----------------------------------------------------------------------------------


class MeshRenderer:
    """Render scenes and bodies from OpenCV cameras.

    Args:
        backend: ``"gl"``, ``"raycast"``, ``"auto"`` or None (``INHABIT_RENDER_BACKEND``, else auto).
        settings: default :class:`RenderSettings`.

    Meshes are prepared and uploaded once per :class:`MeshPart` object and reused, so rendering
    16 views of a scene costs 16 draws. Not thread-safe for concurrent renders (one GL context per
    process): use one renderer per process.
    """

    def __init__(self, backend: str | None = None, settings: RenderSettings | None = None):
        self.backend = get_backend(backend)
        self.settings = settings or RenderSettings()

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def render(
        self,
        camera: Camera,
        meshes: Renderable | Sequence[Renderable],
        passes: Sequence[str] = ("rgb", "depth", "face_id"),
        settings: RenderSettings | None = None,
    ) -> RenderOutput:
        """Render ``meshes`` (one or several, drawn together with a depth test) from ``camera``.

        Args:
            camera: OpenCV camera; the output has its ``height`` × ``width``.
            meshes: a SceneMesh, a MeshPart, or a list of them (face ids concatenate in this order).
            passes: any of :data:`PASSES` (``mask`` is always returned).
        """
        st = settings or self.settings
        wanted = frozenset(passes)
        bad = wanted - set(PASSES)
        if bad:
            raise ValueError(f"unknown render passes {sorted(bad)}; choose from {PASSES}")
        items = [meshes] if isinstance(meshes, SceneMesh | MeshPart) else list(meshes)
        groups, offsets, ranges, off = [], [], [], 0
        for m in items:
            parts = [prepare(p, st) for p in _as_parts(m)]
            start = off
            offs = []
            for p in parts:
                offs.append(off)
                off += p.num_faces
            groups.append(parts)
            offsets.append(offs)
            ranges.append((start, off))
        near, far = _near_far(camera, [p for g in groups for p in g], st.near)
        geo = set(wanted) - {"rgb"}
        need_rgb = "rgb" in wanted
        s = int(st.supersample)
        if need_rgb and s > 1:
            out = self.backend.render(camera, groups, offsets, frozenset(geo), st, near, far)
            hi = self.backend.render(camera.resized(camera.width * s, camera.height * s), groups, offsets,
                                     frozenset({"rgb"}), st, near, far)
            rgb_hi = _with_background(hi["rgb"], hi["face_id"] >= 0, st.background).astype(np.float32)
            H, W = camera.height, camera.width
            out["rgb"] = (rgb_hi.reshape(H, s, W, s, 3).mean(axis=(1, 3)) + 0.5).astype(np.uint8)
        else:
            out = self.backend.render(camera, groups, offsets, wanted, st, near, far)
            if need_rgb:
                out["rgb"] = _with_background(out["rgb"], out["face_id"] >= 0, st.background)
        fid = out["face_id"]
        res = RenderOutput(camera=camera, mask=fid >= 0, face_ranges=tuple(ranges), backend=self.backend.name)
        if need_rgb:
            res.rgb = out["rgb"]
        if "depth" in wanted:
            res.depth = out["depth"].astype(np.float32)
        if "face_id" in wanted:
            res.face_id = fid.astype(np.int32)
        if "normal" in wanted:
            res.normal = out["normal"].astype(np.float32)
        return res

    def render_views(
        self,
        cameras: Sequence[Camera],
        meshes: Renderable | Sequence[Renderable],
        passes: Sequence[str] = ("rgb", "depth", "face_id"),
        settings: RenderSettings | None = None,
        desc: str | None = None,
    ) -> list[RenderOutput]:
        """:meth:`render` for each camera (with a progress bar labelled ``desc`` when given)."""
        it: Any = cameras
        if desc:
            from inhabit.progress import track

            it = track(cameras, desc=desc, total=len(cameras))
        return [self.render(c, meshes, passes, settings) for c in it]


def _with_background(rgb: np.ndarray, mask: np.ndarray, background: Sequence[float]) -> np.ndarray:
    """(H, W, 3) uint8: ``rgb`` (uint8, or floats in [0, 1]) where ``mask``, ``background`` elsewhere."""
    if rgb.dtype != np.uint8:
        rgb = (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif not rgb.flags.writeable:
        rgb = rgb.copy()
    rgb[~mask] = (np.clip(np.asarray(background, np.float64), 0, 1) * 255.0 + 0.5).astype(np.uint8)
    return rgb


def _near_far(camera: Camera, parts: list[PreparedPart], near_min: float) -> tuple[float, float]:
    """Clip planes that enclose every part's bounding box (so nothing is clipped at the far end).

    ``near`` is ``near_min`` unless all geometry is farther (then 0.9× the nearest box corner, which
    improves depth-buffer precision); the depth *pass* does not depend on these values.
    """
    if not parts:
        return near_min, near_min * 2 + 1.0
    b = np.concatenate([p.bounds for p in parts if len(p.vertices)] or [np.zeros((2, 3))]).astype(np.float64)
    lo, hi = b.min(0), b.max(0)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    z = corners @ camera.T_cam_world[2, :3] + camera.T_cam_world[2, 3]
    far = float(z.max()) * 1.01 + 1e-3
    near = max(near_min, 0.9 * float(z.min())) if z.min() > 0 else near_min
    if far <= near * 1.001:
        far = near * 2.0 + 1e-3
    return near, far


_DEFAULT: dict[str, MeshRenderer] = {}


def default_renderer(backend: str | None = None) -> MeshRenderer:
    """A process-wide :class:`MeshRenderer` (one per backend choice), created on first use."""
    key = requested_backend() if backend is None else backend
    r = _DEFAULT.get(key)
    if r is None:
        r = _DEFAULT[key] = MeshRenderer(key)
    return r


def render_mesh(
    camera: Camera,
    meshes: Renderable | Sequence[Renderable],
    passes: Sequence[str] = ("rgb", "depth", "face_id"),
    settings: RenderSettings | None = None,
    backend: str | None = None,
) -> RenderOutput:
    """:meth:`MeshRenderer.render` with the process-wide renderer."""
    return default_renderer(backend).render(camera, meshes, passes, settings)


# --- human + scene ------------------------------------------------------------------------------------


def composite_human_scene(human: RenderOutput, scene: RenderOutput) -> Composite:
    """Composite a human render over a scene render of the same view (GenZI §3).

    A pixel shows the human where only the human covers it, or where both do and the human's depth
    is ≤ the scene's; otherwise the scene.

    Args:
        human: the human rendered alone, with ``rgb`` and ``depth``.
        scene: the scene alone, with ``rgb`` and ``depth``, same size.
    """
    for name, r in (("human", human), ("scene", scene)):
        if r.rgb is None or r.depth is None:
            raise ValueError(f"composite_human_scene needs the rgb and depth passes of the {name} render")
    if human.rgb.shape != scene.rgb.shape:
        raise ValueError(f"human render {human.rgb.shape[:2]} and scene render {scene.rgb.shape[:2]} differ in size")
    visible = human.mask & (~scene.mask | (human.depth <= scene.depth))
    rgb = np.where(visible[..., None], human.rgb, scene.rgb)
    depth = np.where(visible, human.depth, scene.depth).astype(np.float32)
    return Composite(rgb=rgb, human_visible=visible, human_silhouette=human.mask.copy(), depth=depth)


def render_human_in_scene(
    camera: Camera,
    scene: Renderable | Sequence[Renderable],
    human: MeshPart,
    renderer: MeshRenderer | None = None,
    scene_render: RenderOutput | None = None,
) -> Composite:
    """Render ``human`` and ``scene`` separately from ``camera`` and composite them.

    Pass ``scene_render`` (rgb + depth of the same camera) to reuse a scene render across bodies.
    """
    r = renderer or default_renderer()
    sc = scene_render if scene_render is not None else r.render(camera, scene, ("rgb", "depth"))
    hu = r.render(camera, human, ("rgb", "depth"))
    return composite_human_scene(hu, sc)
