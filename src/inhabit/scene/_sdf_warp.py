"""The fast exact signed-distance evaluator: warp BVH queries on CPU (and CUDA when present).

One kernel evaluates, per point, the exact closest point on the solid and on the shell part of a
mesh (see :mod:`inhabit.scene._topology`), the generalized winding number of the solids (warp's
fast winding number, dipole approximation with accuracy ``beta = 2``) and whether the point is
behind its closest shell face. :mod:`inhabit.scene._sdf_reference` is the readable brute-force
version of the same computation.

Each closest-point search can be limited by a per-point upper bound on the distance; the
hierarchical grid builder passes bounds derived from coarser samples, which keeps the searches
short. The winding number is read through warp's native ``mesh_query_winding_number`` (the
public query only returns it together with an unbounded closest-point search); if a warp version
lacks it, the public query is used instead, which is slower and yields only the inside bit.
"""

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from inhabit.paths import configure_third_party_caches
from inhabit.scene._topology import MeshSplit, split_solids_shells

configure_third_party_caches()
import warp as wp  # noqa: E402  (after the cache location is set)

# Quiet: no banner or per-module compile lines (warp >= 1.10 has log levels, older ones `quiet`).
if hasattr(wp, "LOG_WARNING") and hasattr(wp.config, "log_level"):
    wp.config.log_level = max(wp.config.log_level, wp.LOG_WARNING)
else:  # pragma: no cover - older warp
    wp.config.quiet = True

UNBOUNDED = 1.0e18
"""A search radius that never limits (its square still fits in float32)."""
CHUNK = 1 << 18
"""Points per kernel launch (bounds memory and drives the progress bar)."""

_LOCK = threading.Lock()
_STATE: dict = {}


def _wp():
    """warp, initialised once (quietly)."""
    if "init" not in _STATE:
        wp.init()
        _STATE["init"] = True
    return wp


def default_threads() -> int:
    """Threads for CPU queries: ``$INHABIT_SDF_THREADS``, else the usable cores (at most 8)."""
    env = os.environ.get("INHABIT_SDF_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            from inhabit.errors import InputError

            raise InputError(f"INHABIT_SDF_THREADS must be a whole number of threads, got {env!r}") from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def default_device() -> str:
    wp = _wp()
    return "cuda:0" if wp.is_cuda_available() else "cpu"


def _build_kernel(native_winding: bool):
    if native_winding:

        @wp.func_native("return wp::mesh_query_winding_number(id, p, accuracy);")
        def winding(id: wp.uint64, p: wp.vec3, accuracy: float) -> float: ...

    else:

        @wp.func
        def winding(id: wp.uint64, p: wp.vec3, accuracy: float) -> float:
            q = wp.mesh_query_point_sign_winding_number(id, p, 1.0e18, accuracy, 0.5)
            w = float(0.0)  # noqa: UP018  (warp: a typed, mutable local)
            if q.result and q.sign < 0.0:
                w = 1.0
            return w

    @wp.func
    def on_boundary(flag: int, b0: float, b1: float, b2: float, eps: float) -> bool:
        on = False
        if b0 < eps and (flag & 1) != 0:
            on = True
        if b1 < eps and (flag & 2) != 0:
            on = True
        if b2 < eps and (flag & 4) != 0:
            on = True
        if b0 > 1.0 - eps and (flag & 8) != 0:
            on = True
        if b1 > 1.0 - eps and (flag & 16) != 0:
            on = True
        if b2 > 1.0 - eps and (flag & 32) != 0:
            on = True
        if (flag & 64) != 0:
            on = True
        return on

    @wp.kernel(enable_backward=False, module="unique")
    def evaluate(
        solid: wp.uint64,
        has_solid: int,
        shell: wp.uint64,
        has_shell: int,
        shell_flags: wp.array(dtype=wp.int32),
        pts: wp.array(dtype=wp.vec3),
        bound_solid: wp.array(dtype=float),
        bound_shell: wp.array(dtype=float),
        accuracy: float,
        bary_eps: float,
        d_solid: wp.array(dtype=float),
        d_shell: wp.array(dtype=float),
        wn: wp.array(dtype=float),
        behind: wp.array(dtype=wp.int32),
        closest: wp.array(dtype=wp.vec3),
        normal: wp.array(dtype=wp.vec3),
    ):
        i = wp.tid()
        p = pts[i]
        best = float(1.0e30)  # noqa: UP018  (warp: a typed, mutable local)
        cp = p
        nrm = wp.vec3(0.0, 0.0, 0.0)
        ds = float(-1.0)  # noqa: UP018  (warp: a typed, mutable local)
        w = float(0.0)  # noqa: UP018  (warp: a typed, mutable local)
        if has_solid != 0:
            q = wp.mesh_query_point_no_sign(solid, p, bound_solid[i])
            if q.result:
                c = wp.mesh_eval_position(solid, q.face, q.u, q.v)
                ds = wp.length(p - c)
                best = ds
                cp = c
                nrm = wp.mesh_eval_face_normal(solid, q.face)
            w = winding(solid, p, accuracy)
        dh = float(-1.0)  # noqa: UP018  (warp: a typed, mutable local)
        bh = int(0)  # noqa: UP018, RUF046  (warp: a typed, mutable local)
        if has_shell != 0:
            qh = wp.mesh_query_point_no_sign(shell, p, bound_shell[i])
            if qh.result:
                ch = wp.mesh_eval_position(shell, qh.face, qh.u, qh.v)
                dh = wp.length(p - ch)
                nh = wp.mesh_eval_face_normal(shell, qh.face)
                if wp.dot(p - ch, nh) < 0.0:
                    if not on_boundary(shell_flags[qh.face], qh.u, qh.v, 1.0 - qh.u - qh.v, bary_eps):
                        bh = 1
                if dh < best:
                    best = dh
                    cp = ch
                    nrm = nh
        d_solid[i] = ds
        d_shell[i] = dh
        wn[i] = w
        behind[i] = bh
        closest[i] = cp
        normal[i] = nrm

    return evaluate


def _kernel():
    """The evaluation kernel, compiled once (native winding number when this warp has it)."""
    with _LOCK:
        if "kernel" not in _STATE:
            wp = _wp()
            for native in (True, False):
                k = _build_kernel(native)
                try:
                    # Compile now with a tiny dummy launch so a failing native snippet is detected.
                    _launch_dummy(wp, k)
                except Exception:
                    if not native:
                        raise
                    continue
                _STATE["kernel"], _STATE["native_winding"] = k, native
                break
        return _STATE["kernel"]


def _launch_dummy(wp, kernel) -> None:
    v = wp.array(np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32), dtype=wp.vec3, device="cpu")
    f = wp.array(np.array([0, 1, 2], np.int32), dtype=wp.int32, device="cpu")
    mesh = wp.Mesh(points=v, indices=f, support_winding_number=True)
    one = wp.array(np.ones(1, np.float32), dtype=float, device="cpu")
    outs = _alloc(wp, 1, "cpu")
    wp.launch(kernel, dim=1, device="cpu",
              inputs=[mesh.id, 1, mesh.id, 1, wp.zeros(1, dtype=wp.int32, device="cpu"),
                      wp.zeros(1, dtype=wp.vec3, device="cpu"), one, one, 2.0, 1e-4, *outs])
    wp.synchronize_device("cpu")


def _alloc(wp, n: int, device: str):
    return [wp.zeros(n, dtype=float, device=device), wp.zeros(n, dtype=float, device=device),
            wp.zeros(n, dtype=float, device=device), wp.zeros(n, dtype=wp.int32, device=device),
            wp.zeros(n, dtype=wp.vec3, device=device), wp.zeros(n, dtype=wp.vec3, device=device)]


@dataclass
class Samples:
    """Per-point results of :meth:`WarpSDF.evaluate` (numpy).

    Attributes:
        d_solid: (N,) exact distance to the solids; ``-1`` where none was found within the bound
            (or there are no solids).
        d_shell: (N,) the same for the shells.
        winding: (N,) generalized winding number of the solids.
        behind: (N,) bool, behind the closest shell face within its extent.
        closest: (N, 3) the closest point found (solid or shell).
        normal: (N, 3) unit normal of the face holding ``closest``.
    """

    d_solid: np.ndarray
    d_shell: np.ndarray
    winding: np.ndarray
    behind: np.ndarray
    closest: np.ndarray
    normal: np.ndarray

    @property
    def inside(self) -> np.ndarray:
        """(N,) bool: the scene sign rule (winding number of solids > 0.5, or behind a shell)."""
        return (self.winding > 0.5) | self.behind

    @property
    def distance(self) -> np.ndarray:
        """(N,) unsigned distance: the smaller of the two found distances (inf if none found)."""
        ds = np.where(self.d_solid >= 0, self.d_solid, np.inf)
        dh = np.where(self.d_shell >= 0, self.d_shell, np.inf)
        return np.minimum(ds, dh)

    @property
    def signed(self) -> np.ndarray:
        d = self.distance
        return np.where(self.inside, -d, d).astype(np.float32)


class WarpSDF:
    """Exact signed distance to one triangle mesh with warp (kept alive for repeated queries).

    Args:
        vertices: (V, 3) float; faces: (F, 3) int.
        sign: ``"scene"`` (solids + shells, the default) or ``"winding"`` (plain winding number).
        device: warp device (``"cpu"``, ``"cuda:0"``); default CUDA when available.
        accuracy: fast-winding-number accuracy ``beta`` (warp's default 2.0; larger is more exact).
        threads: CPU threads for queries (default: ``INHABIT_SDF_THREADS`` or the usable cores, at most 8).
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, sign: str = "scene", device: str | None = None,
                 accuracy: float = 2.0, threads: int | None = None) -> None:
        wp = _wp()
        self.device = device or default_device()
        self.threads = max(1, int(threads or default_threads()))
        self.accuracy = float(accuracy)
        self.split: MeshSplit = split_solids_shells(vertices, faces, mode=sign)
        s = self.split
        if len(s.solid_faces) == 0 and len(s.shell_faces) == 0:
            raise ValueError("the mesh has no non-degenerate triangles")
        self._solid = self._mesh(s.solid_vertices, s.solid_faces, winding=True)
        self._shell = self._mesh(s.shell_vertices, s.shell_faces, winding=False)
        flags = s.shell_flags if len(s.shell_flags) else np.zeros(1, np.int32)
        self._flags = wp.array(flags.astype(np.int32), dtype=wp.int32, device=self.device)

    def _mesh(self, v: np.ndarray, f: np.ndarray, winding: bool):
        wp = _wp()
        if len(f) == 0:
            return None
        return wp.Mesh(points=wp.array(v, dtype=wp.vec3, device=self.device),
                       indices=wp.array(f.reshape(-1).astype(np.int32), dtype=wp.int32, device=self.device),
                       support_winding_number=winding)

    @property
    def has_solid(self) -> bool:
        return self._solid is not None

    @property
    def has_shell(self) -> bool:
        return self._shell is not None

    def evaluate(self, points: np.ndarray, bound_solid: np.ndarray | None = None,
                 bound_shell: np.ndarray | None = None, progress: str | None = None) -> Samples:
        """Evaluate ``points`` (N, 3); ``bound_*`` (N,) limit the closest-point searches.

        A point farther than its bound from a part gets ``d_* = -1`` for that part; the winding
        number and the behind test are computed regardless of the bounds. On the CPU the points
        are split over :attr:`threads` threads (warp releases the GIL inside a launch).
        """
        pts = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, 3)
        n = len(pts)
        bs = np.full(n, UNBOUNDED, np.float32) if bound_solid is None else np.asarray(bound_solid, np.float32)
        bh = np.full(n, UNBOUNDED, np.float32) if bound_shell is None else np.asarray(bound_shell, np.float32)
        out = {k: np.empty(n, np.float32) for k in ("d_solid", "d_shell", "winding")}
        out["behind"] = np.empty(n, np.int32)
        out["closest"] = np.empty((n, 3), np.float32)
        out["normal"] = np.empty((n, 3), np.float32)
        threads = self.threads if self.device == "cpu" else 1
        # Several chunks per thread balance the load (near-surface points cost more).
        chunk = min(CHUNK, max(2048, -(-n // (4 * threads))))
        starts = list(range(0, n, chunk))
        pb = None
        if progress is not None and n > CHUNK:
            from inhabit.progress import bar

            pb = bar(n, progress)

        def run(s: int) -> int:
            m = min(chunk, n - s)
            self._launch(pts[s : s + m], bs[s : s + m], bh[s : s + m], {k: v[s : s + m] for k, v in out.items()})
            return m

        try:
            if threads > 1 and len(starts) > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(threads) as ex:
                    for m in ex.map(run, starts):
                        if pb is not None:
                            pb.update(m)
            else:
                for s in starts:
                    m = run(s)
                    if pb is not None:
                        pb.update(m)
        finally:
            if pb is not None:
                pb.close()
        return Samples(out["d_solid"], out["d_shell"], out["winding"], out["behind"].astype(bool),
                       out["closest"], out["normal"])

    def _launch(self, pts: np.ndarray, bs: np.ndarray, bh: np.ndarray, dest: dict) -> None:
        """One kernel launch over a chunk; results are copied into the ``dest`` views."""
        wp = _wp()
        m = len(pts)
        if m == 0:
            return
        outs = _alloc(wp, m, self.device)
        dummy = self._solid or self._shell
        wp.launch(_kernel(), dim=m, device=self.device, inputs=[
            (self._solid or dummy).id, int(self.has_solid), (self._shell or dummy).id, int(self.has_shell),
            self._flags, wp.array(pts, dtype=wp.vec3, device=self.device),
            wp.array(bs, dtype=float, device=self.device), wp.array(bh, dtype=float, device=self.device),
            self.accuracy, 1e-4, *outs])
        for key, arr in zip(("d_solid", "d_shell", "winding", "behind", "closest", "normal"), outs):
            dest[key][...] = arr.numpy()


_PREPARED: OrderedDict[str, WarpSDF] = OrderedDict()
_PREPARED_MAX = 4


def mesh_key(vertices: np.ndarray, faces: np.ndarray) -> str:
    """A content hash of a mesh's arrays (float32 vertices, int32 faces)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(vertices, dtype=np.float32).tobytes())
    h.update(np.ascontiguousarray(faces, dtype=np.int32).tobytes())
    return h.hexdigest()[:24]


def prepared(vertices: np.ndarray, faces: np.ndarray, sign: str = "scene", device: str | None = None,
             accuracy: float = 2.0, key: str | None = None) -> WarpSDF:
    """A :class:`WarpSDF` for this mesh, reused across calls (small in-memory LRU)."""
    dev = device or default_device()
    k = f"{key or mesh_key(vertices, faces)}:{sign}:{dev}:{accuracy}"
    with _LOCK:
        if k in _PREPARED:
            _PREPARED.move_to_end(k)
            return _PREPARED[k]
    obj = WarpSDF(vertices, faces, sign=sign, device=dev, accuracy=accuracy)
    with _LOCK:
        _PREPARED[k] = obj
        while len(_PREPARED) > _PREPARED_MAX:
            _PREPARED.popitem(last=False)
    return obj
