"""Signed distance to scenes: exact queries, dense local grids with a differentiable lookup, GenZI files.

Conventions
    Distances in metres, **negative inside** (or behind a single-sided surface), as GenZI/PROX.
    Grids are ``values[i, j, k]`` at ``bbox_min + (i, j, k) * (bbox_max - bbox_min) / (D - 1)``:
    array axis 0 is x, 1 is y, 2 is z; the first and last samples sit *on* the bounding box
    (``align_corners=True``).

Sign rule (``sign="scene"``, the default; see :mod:`inhabit.scene._topology`)
    The mesh is split once into *solids* (closed or nearly closed, outward-oriented connected
    components) and *shells* (open sheets such as single-sided floors and walls, inward-facing
    room boxes). A point is inside when the generalized winding number of the solids exceeds 0.5
    (robust to holes, self-intersections and interpenetrating parts) or when it is behind its
    nearest shell face within that shell's extent. ``sign="winding"`` is the plain winding number
    of the whole mesh (libigl's rule), which fails inside furniture standing in an inward-facing
    room: the room's winding number is added to the furniture's.

Exactness
    :func:`mesh_signed_distance` and :class:`MeshSDF` are exact (float32 closest point from warp's
    BVH). :func:`build_local_sdf` is exact for every sample within ``band`` of the surface and
    interpolated farther away (see :mod:`inhabit.scene._sdf_grid`); the sign is exact everywhere
    except within one cell of an inside/outside transition that no sample sees.

The fast path is warp (CPU; CUDA when present), in :mod:`inhabit.scene._sdf_warp`; the readable
brute-force reference is :func:`inhabit.scene._sdf_reference.signed_distance_reference`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from inhabit.errors import InputError

if TYPE_CHECKING:
    import torch

    from inhabit.scene.mesh import SceneMesh

SDF_FORMAT_VERSION = 1
"""Bumped whenever cached grids would differ (part of the cache key)."""

DEFAULT_EXTENT = 2.5
"""Side of the default local grid (metres). A person is at most ~1.9 m tall and GenZI starts the
body with its pelvis at the interaction point, so a 2.5 m cube centred there holds every vertex
of a body whose pelvis stays within ~0.3 m of the point in any pose (a limb reaches ~1.0 m from
the pelvis). Queries outside the grid read the border value."""
DEFAULT_VOXEL = 0.02
"""Grid spacing (metres): 126^3 samples for the default extent."""
DEFAULT_BAND = 0.05
"""Samples closer than this to the surface are always exact (penetration and contact live here)."""
COARSE_CELL = 0.08
"""Side (metres) of the first exact lattice of the hierarchical build (a power-of-two stride)."""
MAX_DIM = 512


@runtime_checkable
class SceneSDF(Protocol):
    """A differentiable signed distance: ``sdf(points (N, 3) torch) -> (N,)``, negative inside."""

    def __call__(self, points: torch.Tensor) -> torch.Tensor: ...


# --------------------------------------------------------------------------------------------
# input checks


def _as_mesh_arrays(vertices, faces) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(vertices.detach().cpu().numpy() if hasattr(vertices, "detach") else vertices)
    f = np.asarray(faces.detach().cpu().numpy() if hasattr(faces, "detach") else faces)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise InputError(f"mesh vertices must be a non-empty (V, 3) array, got shape {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise InputError(f"mesh faces must be a non-empty (F, 3) integer array, got shape {f.shape}")
    if not np.issubdtype(f.dtype, np.integer):
        raise InputError(f"mesh faces must hold integer vertex indices, got dtype {f.dtype}")
    if f.min() < 0 or f.max() >= len(v):
        raise InputError(f"mesh faces index vertices outside 0..{len(v) - 1} (found {f.min()}..{f.max()})")
    bad = ~np.isfinite(v).all(axis=1)
    if bad.any():
        n = int(bad.sum())
        raise InputError(f"mesh has {n} {'vertex' if n == 1 else 'vertices'} with NaN or infinite coordinates")
    return v.astype(np.float32), f.astype(np.int32)


def _as_points(points, name: str = "points") -> np.ndarray:
    p = np.asarray(points.detach().cpu().numpy() if hasattr(points, "detach") else points, dtype=np.float64)
    if p.ndim == 1 and p.shape[0] == 3:
        p = p[None]
    if p.ndim != 2 or p.shape[1] != 3:
        raise InputError(f"{name} must be an (N, 3) array, got shape {p.shape}")
    bad = ~np.isfinite(p).all(axis=1)
    if bad.any():
        raise InputError(f"{name}: {int(bad.sum())} of {len(p)} query points are NaN or infinite")
    return p


def _mesh_of(scene_or_mesh) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(vertices, faces, precomputed hash or None) of a SceneMesh or a (vertices, faces) pair."""
    if hasattr(scene_or_mesh, "vertices") and hasattr(scene_or_mesh, "geometry_hash"):
        return scene_or_mesh.vertices, scene_or_mesh.faces, scene_or_mesh.geometry_hash()
    try:
        vertices, faces = scene_or_mesh
    except (TypeError, ValueError):
        raise InputError("expected a SceneMesh or a (vertices, faces) pair for the signed distance") from None
    v, f = _as_mesh_arrays(vertices, faces)
    return v, f, None


# --------------------------------------------------------------------------------------------
# exact queries


def _warp_sdf(vertices, faces, sign: str, device: str | None, key: str | None = None):
    from inhabit.scene._sdf_warp import prepared

    if sign not in ("scene", "winding"):
        raise InputError(f"sign must be 'scene' or 'winding', got {sign!r}")
    v, f = _as_mesh_arrays(vertices, faces)
    try:
        return prepared(v, f, sign=sign, device=device, key=key)
    except ValueError as e:
        raise InputError(f"cannot build a signed distance for this mesh: {e}") from None


def mesh_signed_distance(vertices, faces, points, sign: str = "scene", device: str | None = None) -> np.ndarray:
    """Exact signed distance of ``points`` to a triangle mesh (warp; chunked, progress bar).

    Args:
        vertices: (V, 3) float array (numpy or torch).
        faces: (F, 3) int array.
        points: (N, 3) query points (numpy or torch).
        sign: ``"scene"`` (solids + shells, default) or ``"winding"`` (plain winding number).
        device: warp device; default CUDA when available, else CPU.

    Returns:
        (N,) float32, negative inside. Exact up to float32 rounding of the closest point; the sign
        uses warp's fast winding number (dipole approximation, accuracy 2), which can differ from
        the exact winding number within ~1e-3 of the 0.5 level set (near holes).
    """
    pts = _as_points(points)
    w = _warp_sdf(vertices, faces, sign, device)
    return w.evaluate(pts, progress="signed distance").signed


class _MeshSDFFunction:
    """torch autograd for :class:`MeshSDF` (built lazily so importing this module needs no torch)."""

    _cls = None

    @classmethod
    def get(cls):
        if cls._cls is None:
            import torch

            class Fn(torch.autograd.Function):
                @staticmethod
                def forward(ctx, points, warp_sdf):
                    r = warp_sdf.evaluate(points.detach().cpu().numpy().astype(np.float32))
                    d = torch.as_tensor(r.signed, dtype=points.dtype, device=points.device)
                    grad = _unit_gradient(points.detach().cpu().numpy(), r)
                    ctx.save_for_backward(torch.as_tensor(grad, dtype=points.dtype, device=points.device))
                    return d

                @staticmethod
                def backward(ctx, grad_out):
                    (g,) = ctx.saved_tensors
                    return grad_out[:, None] * g, None

            cls._cls = Fn
        return cls._cls


def _unit_gradient(points: np.ndarray, r) -> np.ndarray:
    """(N, 3) gradient of the signed distance: ``sign * (p - c) / |p - c|``.

    Within 10 µm of the surface the direction ``p - c`` is float32 rounding noise (the closest
    point is float32), so the closest face's normal is used there instead.
    """
    diff = np.asarray(points, np.float64) - r.closest
    n = np.linalg.norm(diff, axis=1, keepdims=True)
    sgn = np.where(r.inside, -1.0, 1.0)[:, None]
    on_surface = n[:, 0] < 1e-5
    g = np.where(on_surface[:, None], r.normal, sgn * diff / np.where(n > 0, n, 1.0))
    return g.astype(np.float32)


class MeshSDF:
    """Exact, differentiable signed distance to a whole mesh (no grid): a :class:`SceneSDF`.

    The gradient with respect to the points is the unit vector from the closest point,
    sign-corrected (the face normal for points on the surface). Use it for whole-scene metrics
    where a dense grid would be too large; it is exact but costs a BVH query per call.

    Args:
        vertices: (V, 3); faces: (F, 3) -- or pass a ``SceneMesh`` as ``vertices``.
        sign: ``"scene"`` or ``"winding"`` (see the module docstring).
        device: warp device (default: CUDA when available).
    """

    def __init__(self, vertices, faces=None, sign: str = "scene", device: str | None = None) -> None:
        key = None
        if faces is None:
            vertices, faces, key = _mesh_of(vertices)
        self._warp = _warp_sdf(vertices, faces, sign, device, key=key)

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """points: (N, 3) torch -> (N,) signed distances (differentiable w.r.t. the points)."""
        _as_points(points)
        return _MeshSDFFunction.get().apply(points, self._warp)

    def gradient(self, points: torch.Tensor) -> torch.Tensor:
        """points: (N, 3) -> (N, 3) unit gradient (outward normal direction of the level set)."""
        import torch

        p = _as_points(points)
        r = self._warp.evaluate(p.astype(np.float32))
        return torch.as_tensor(_unit_gradient(p, r), dtype=points.dtype, device=points.device)

    def closest_points(self, points: torch.Tensor) -> torch.Tensor:
        """points: (N, 3) -> (N, 3) closest surface points (no gradient)."""
        import torch

        r = self._warp.evaluate(_as_points(points).astype(np.float32))
        return torch.as_tensor(r.closest, dtype=points.dtype, device=points.device)


# --------------------------------------------------------------------------------------------
# dense grids


def trilinear_reference(values: np.ndarray, bbox_min, bbox_max, points) -> np.ndarray:
    """Readable trilinear interpolation with border clamping (numpy, float64): the test oracle.

    Args:
        values: (Dx, Dy, Dz) samples, axis 0 = x.
        bbox_min, bbox_max: (3,) positions of samples (0,0,0) and (Dx-1, Dy-1, Dz-1).
        points: (N, 3).

    Returns:
        (N,) interpolated values; points outside the box take the value at their projection on it.
    """
    vals = np.asarray(values, np.float64)
    dims = np.array(vals.shape)
    lo, hi = np.asarray(bbox_min, np.float64), np.asarray(bbox_max, np.float64)
    p = np.clip(np.asarray(points, np.float64), lo, hi)
    g = (p - lo) / (hi - lo) * (dims - 1)  # continuous sample index per axis
    i0 = np.clip(np.floor(g).astype(np.int64), 0, dims - 2)
    t = g - i0
    out = np.zeros(len(p))
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                w = ((t[:, 0] if dx else 1 - t[:, 0]) * (t[:, 1] if dy else 1 - t[:, 1])
                     * (t[:, 2] if dz else 1 - t[:, 2]))
                out += w * vals[i0[:, 0] + dx, i0[:, 1] + dy, i0[:, 2] + dz]
    return out


@dataclass(eq=False)
class LocalSDFGrid:
    """A dense signed-distance grid over an axis-aligned box: a :class:`SceneSDF`.

    Attributes:
        values: (Dx, Dy, Dz) float32 signed distances, array axis 0 = x, 1 = y, 2 = z.
        bbox_min: (3,) world position of ``values[0, 0, 0]``.
        bbox_max: (3,) world position of ``values[-1, -1, -1]``.

    Calling it on torch points ``(N, 3)`` returns ``(N,)`` trilinear interpolations,
    differentiable with respect to the points. **Points outside the box read the value at their
    projection onto the box** (GenZI's border clamping), so their gradient along the clamped
    axes is zero; use :meth:`inside_bounds` to tell them apart.
    """

    values: np.ndarray
    bbox_min: np.ndarray
    bbox_max: np.ndarray

    def __post_init__(self) -> None:
        self.values = np.ascontiguousarray(self.values, dtype=np.float32)
        self.bbox_min = np.asarray(self.bbox_min, dtype=np.float64).reshape(-1)
        self.bbox_max = np.asarray(self.bbox_max, dtype=np.float64).reshape(-1)
        if self.values.ndim != 3 or min(self.values.shape) < 2:
            raise InputError(f"SDF grid values must be a (Dx, Dy, Dz) array with every D >= 2, got {self.values.shape}")
        if self.bbox_min.shape != (3,) or self.bbox_max.shape != (3,):
            raise InputError("SDF grid bbox_min and bbox_max must each hold 3 numbers")
        if not (np.isfinite(self.bbox_min).all() and np.isfinite(self.bbox_max).all()) or not (
            self.bbox_max > self.bbox_min
        ).all():
            raise InputError(f"SDF grid bbox_max {self.bbox_max.tolist()} must exceed bbox_min "
                             f"{self.bbox_min.tolist()} on every axis")
        n_bad = int((~np.isfinite(self.values)).sum())
        if n_bad:
            raise InputError(f"SDF grid holds {n_bad} NaN or infinite values")
        self._torch_cache: dict = {}

    @property
    def dims(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.values.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> np.ndarray:
        """(3,) distance between neighbouring samples along each axis."""
        return (self.bbox_max - self.bbox_min) / (np.array(self.values.shape) - 1)

    def sample_points(self) -> np.ndarray:
        """(Dx*Dy*Dz, 3) world positions of the samples, in ``values.reshape(-1)`` order."""
        axes = [np.linspace(self.bbox_min[a], self.bbox_max[a], self.values.shape[a]) for a in range(3)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)

    def _volume(self, dtype, device):
        import torch

        key = (dtype, str(device))
        if key not in self._torch_cache:
            self._torch_cache[key] = torch.as_tensor(self.values, dtype=dtype, device=device)[None, None]
        return self._torch_cache[key]

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """points: (N, 3) world -> (N,) signed distance, trilinear, border-clamped, differentiable.

        Implemented with ``grid_sample(align_corners=True, padding_mode="border")`` on the volume
        ``(1, 1, Dx, Dy, Dz)``; grid_sample reads its last coordinate as the *first* spatial axis,
        so the normalised point is fed as (z, y, x). :func:`trilinear_reference` is the explicit
        version it is tested against.
        """
        import torch
        import torch.nn.functional as F

        if points.ndim != 2 or points.shape[-1] != 3:
            raise InputError(f"SDF query points must be an (N, 3) tensor, got shape {tuple(points.shape)}")
        dtype = points.dtype if points.dtype in (torch.float32, torch.float64) else torch.float32
        vol = self._volume(dtype, points.device)
        lo = torch.as_tensor(self.bbox_min, dtype=dtype, device=points.device)
        hi = torch.as_tensor(self.bbox_max, dtype=dtype, device=points.device)
        q = 2.0 * (points.to(dtype) - lo) / (hi - lo) - 1.0
        grid = q.flip(-1).reshape(1, -1, 1, 1, 3)
        out = F.grid_sample(vol, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return out.reshape(-1)

    def gradient(self, points: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        """points: (N, 3) -> (N, 3) spatial gradient of the interpolated field (autograd).

        Near the surface its length is ~1 and it points outward (a normal); with ``normalize`` it
        is scaled to unit length (zero vectors stay zero). Zero along axes where a point is clamped.
        """
        import torch

        with torch.enable_grad():
            p = points.detach().clone().requires_grad_(True)
            (g,) = torch.autograd.grad(self(p).sum(), p)
        if normalize:
            g = g / g.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return g

    def inside_bounds(self, points: torch.Tensor) -> torch.Tensor:
        """points: (N, 3) -> (N,) bool, True where the point lies in the grid's box (borders included)."""
        import torch

        lo = torch.as_tensor(self.bbox_min, dtype=points.dtype, device=points.device)
        hi = torch.as_tensor(self.bbox_max, dtype=points.dtype, device=points.device)
        return ((points >= lo) & (points <= hi)).all(dim=-1)


def _grid_layout(center, extent, voxel) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    c = _as_points(center, "center")[0]
    ext = np.broadcast_to(np.asarray(extent, np.float64), (3,)).copy()
    if not np.isfinite(voxel) or voxel <= 0:
        raise InputError(f"SDF voxel size must be a positive number of metres, got {voxel}")
    if not np.isfinite(ext).all() or (ext <= 0).any():
        raise InputError(f"SDF extent must be positive (metres), got {ext.tolist()}")
    dims = np.ceil(ext / voxel - 1e-9).astype(np.int64) + 1
    if (dims > MAX_DIM).any():
        raise InputError(f"SDF grid of {dims.tolist()} samples exceeds {MAX_DIM} per axis; "
                         f"raise the voxel size ({voxel} m) or shrink the extent ({ext.tolist()} m)")
    dims = np.maximum(dims, 2)
    half = (dims - 1) * voxel / 2.0
    return c - half, c + half, tuple(int(d) for d in dims)  # type: ignore[return-value]


def _cache_key(geom_hash: str, bmin, bmax, dims, band, sign, method) -> str:
    h = hashlib.sha256()
    h.update(f"v{SDF_FORMAT_VERSION}|{geom_hash}|{sign}|{method}|{band:.9g}|{dims}|".encode())
    h.update(np.round(np.concatenate([bmin, bmax]), 9).tobytes())
    return h.hexdigest()[:32]


def build_local_sdf(
    scene_or_mesh: SceneMesh | tuple,
    center,
    extent: float | tuple[float, float, float] = DEFAULT_EXTENT,
    voxel: float = DEFAULT_VOXEL,
    cache_dir: str | Path | None = None,
    *,
    band: float = DEFAULT_BAND,
    sign: str = "scene",
    method: str = "hierarchical",
    use_cache: bool = True,
    device: str | None = None,
) -> LocalSDFGrid:
    """A dense signed-distance grid of ``extent`` metres around ``center``, cached on disk.

    The grid has ``D = ceil(extent / voxel) + 1`` samples per axis spaced exactly ``voxel`` apart
    and centred on ``center`` (so it covers at least ``extent``).

    Args:
        scene_or_mesh: a :class:`~inhabit.scene.mesh.SceneMesh` or a ``(vertices (V,3), faces (F,3))`` pair.
        center: (3,) world point (e.g. the interaction point).
        extent: side of the box (metres), or one per axis. See :data:`DEFAULT_EXTENT`.
        voxel: sample spacing (metres).
        cache_dir: where grids are cached (default ``inhabit.paths.cache_dir() / "sdf"``).
        band: samples within this distance of the surface are exact (``method="hierarchical"``).
        sign: ``"scene"`` or ``"winding"`` (see the module docstring).
        method: ``"hierarchical"`` (exact near the surface, fast) or ``"dense"`` (every sample exact).
        use_cache: read and write the on-disk cache.
        device: warp device (default CUDA when available).

    Returns:
        A :class:`LocalSDFGrid`. The cache key is the mesh content hash plus every parameter above
        that changes the values; files are written atomically.

    The build needs about 25 bytes per sample (50 MB for the default 126^3 grid); the warp
    queries run on ``$INHABIT_SDF_THREADS`` threads (default: the usable cores, at most 8).
    """
    if method not in ("hierarchical", "dense"):
        raise InputError(f"SDF method must be 'hierarchical' or 'dense', got {method!r}")
    if sign not in ("scene", "winding"):
        raise InputError(f"sign must be 'scene' or 'winding', got {sign!r}")
    if not math.isfinite(band) or band < 0:
        raise InputError(f"SDF band must be a non-negative number of metres, got {band}")
    vertices, faces, geom_hash = _mesh_of(scene_or_mesh)
    bmin, bmax, dims = _grid_layout(center, extent, voxel)
    if geom_hash is None:
        from inhabit.scene._sdf_warp import mesh_key

        geom_hash = mesh_key(vertices, faces)
    path = None
    if use_cache:
        from inhabit.paths import cache_dir as default_cache

        root = Path(cache_dir) if cache_dir is not None else default_cache() / "sdf"
        path = root / f"{_cache_key(geom_hash, bmin, bmax, dims, band if method == 'hierarchical' else 0.0, sign, method)}.npz"
        cached = _read_cached(path, dims)
        if cached is not None:
            return cached
    values = _compute_grid(vertices, faces, bmin, bmax, dims, band, sign, method, device, geom_hash)
    grid = LocalSDFGrid(values, bmin, bmax)
    if path is not None:
        from inhabit.io import write_npz

        write_npz(path, values=grid.values, bbox_min=grid.bbox_min, bbox_max=grid.bbox_max,
                  meta=np.array(json.dumps({"version": SDF_FORMAT_VERSION, "geometry": geom_hash, "sign": sign,
                                            "method": method, "band": band})))
    return grid


def _read_cached(path: Path, dims) -> LocalSDFGrid | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            grid = LocalSDFGrid(z["values"], z["bbox_min"], z["bbox_max"])
    except Exception:  # a damaged cache entry is recomputed (and overwritten)
        return None
    return grid if grid.dims == tuple(dims) else None


def _compute_grid(vertices, faces, bmin, bmax, dims, band, sign, method, device, geom_hash) -> np.ndarray:
    """The grid values (no caching): hierarchical or dense warp evaluation."""
    from inhabit.progress import bar
    from inhabit.scene._sdf_grid import build_grid_hierarchical

    w = _warp_sdf(vertices, faces, sign, device, key=geom_hash)
    spacing = (bmax - bmin) / (np.array(dims) - 1)
    if method == "dense":
        axes = [np.linspace(bmin[a], bmax[a], dims[a]) for a in range(3)]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
        return w.evaluate(pts, progress="SDF grid (dense)").signed.reshape(dims)

    def evaluate(pts, b_solid, b_shell):
        r = w.evaluate(pts, b_solid, b_shell)
        return {"signed": r.signed, "d_solid": r.d_solid, "d_shell": r.d_shell, "winding": r.winding,
                "inside": r.inside}

    stride = coarse_stride(float(spacing.max()))
    # One bounds-only level above the coarse lattice keeps its searches short.
    with bar(round(math.log2(stride)) + 2, "SDF grid (levels)") as pb:
        values, _ = build_grid_hierarchical(evaluate, bmin, spacing, dims, has_solid=w.has_solid,
                                            has_shell=w.has_shell, band=band, progress=pb.update,
                                            coarse_stride=2 * stride, settle_stride=stride)
    return values


def coarse_stride(voxel: float) -> int:
    """The hierarchical build's first stride: the largest power of two with stride * voxel <= COARSE_CELL."""
    s = 1
    while s * 2 * voxel <= COARSE_CELL + 1e-12 and s < 16:
        s *= 2
    return s


# --------------------------------------------------------------------------------------------
# GenZI grid files


def _genzi_npy_path(json_path: Path) -> Path:
    return json_path.with_name(f"{json_path.stem}_sdf.npy")


def save_genzi_sdf(grid: LocalSDFGrid, json_path: str | Path) -> Path:
    """Write ``grid`` in GenZI's format: ``{"dim": D, "min": [..], "max": [..]}`` plus ``<stem>_sdf.npy``.

    The npy holds the (D, D, D) float32 values with array axis 0 = x, 1 = y, 2 = z, negative
    inside. Both files are written atomically, the npy first (the JSON marks a complete pair).
    The format has one ``dim``, so the grid must be cubic.
    """
    from inhabit.io import atomic_path, write_json

    json_path = Path(json_path)
    d = grid.dims
    if not (d[0] == d[1] == d[2]):
        raise InputError(f"the GenZI SDF format needs a cubic grid (D x D x D), this grid is {d}")
    with atomic_path(_genzi_npy_path(json_path), suffix=".npy") as tmp:
        np.save(tmp, grid.values.astype(np.float32))
    write_json(json_path, {"dim": d[0], "min": grid.bbox_min.tolist(), "max": grid.bbox_max.tolist()})
    return json_path


def load_genzi_sdf(json_path: str | Path) -> LocalSDFGrid:
    """Read a GenZI SDF (JSON + sibling ``<stem>_sdf.npy``) into a :class:`LocalSDFGrid`.

    Raises:
        InputError: naming the file and what was expected (missing file, bad JSON field, a npy
            whose size is not ``dim**3``, non-finite values).
    """
    from inhabit.io import read_json_object

    json_path = Path(json_path)
    meta = read_json_object(json_path, "GenZI SDF file", "a JSON object with 'dim', 'min' and 'max'")
    for key in ("dim", "min", "max"):
        if key not in meta:
            raise InputError(f"GenZI SDF file {json_path} lacks the field {key!r} (expected 'dim', 'min', 'max')")
    dim = meta["dim"]
    if isinstance(dim, bool) or not isinstance(dim, int | float) or int(dim) != dim or dim < 2:
        raise InputError(f"GenZI SDF file {json_path}: 'dim' must be an integer >= 2, got {dim!r}")
    dim = int(dim)
    bounds = {}
    for key in ("min", "max"):
        try:
            b = np.asarray(meta[key], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            b = np.zeros(0)
        if b.shape != (3,) or not np.isfinite(b).all():
            raise InputError(f"GenZI SDF file {json_path}: {key!r} must be 3 finite numbers, got {meta[key]!r}")
        bounds[key] = b
    npy = _genzi_npy_path(json_path)
    if not npy.is_file():
        raise InputError(f"GenZI SDF values file {npy} (next to {json_path.name}) does not exist")
    try:
        arr = np.load(npy, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputError(f"GenZI SDF values file {npy} could not be read as a .npy array ({e})") from None
    if arr.size != dim**3:
        raise InputError(f"GenZI SDF values file {npy} holds {arr.size} values with shape {arr.shape}, "
                         f"expected dim**3 = {dim**3} for dim {dim} from {json_path.name}")
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"GenZI SDF values file {npy} must hold numbers, got dtype {arr.dtype}")
    try:
        return LocalSDFGrid(arr.reshape(dim, dim, dim).astype(np.float32), bounds["min"], bounds["max"])
    except InputError as e:
        raise InputError(f"GenZI SDF {json_path}: {e}") from None
