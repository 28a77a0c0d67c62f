"""Local SDF grid build: speed and accuracy of inhabit's hierarchical warp build against peers.

For each demo scene (``detail=2``: ~150k triangles) and a few named interaction points it builds
the default local grid (2.5 m cube, 2 cm voxels, 126^3 = 2.0 M samples) and compares

* ``inhabit hierarchical`` -- :func:`inhabit.scene.sdf.build_local_sdf` (the default),
* ``inhabit dense`` -- the same with every sample evaluated exactly (``method="dense"``),
* ``inhabit hierarchical, sign=winding`` -- plain winding-number sign (libigl's rule),
* ``plain warp`` -- the single-threaded kernel of stack.md §8 on every sample (peer),
* ``libigl FWN`` -- ``igl.signed_distance(..., FAST_WINDING_NUMBER)`` on every sample (peer),

against a ground truth computed with libigl on a stratified subset of the samples: exact
``|d|`` from ``igl.point_mesh_squared_distance`` and the sign from ``igl.winding_number``
(> 0.5) -- of the solid sub-mesh plus the shell "behind" rule for ``sign="scene"``, of the whole
mesh for the winding-number rows. Reported: wall and CPU seconds (CPU sums both threads, and is
the fairer figure on a shared machine), sign agreement, ``|d|`` error near the surface
(``|d| <= band``) and far from it.

Run: ``.venv/bin/python benchmarks/sdf_build.py [--quick]``.
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

_common.setup_env()

SCENES_FULL = {"room": ("sit_sofa", "lie_bed", "lean_counter"), "outdoor": ("sit_bench", "step_stairs")}
SCENES_QUICK = {"room": ("sit_sofa",), "outdoor": ("sit_bench",)}


def plain_warp(vertices, faces, points):
    """The stack.md §8 kernel: winding-number sign + unbounded closest point, one launch, 1 thread."""
    import warp as wp

    from inhabit.scene import _sdf_warp  # noqa: F401  (initialises warp quietly, sets the cache)

    @wp.kernel(module="unique", enable_backward=False)
    def sdf(mesh: wp.uint64, pts: wp.array(dtype=wp.vec3), out: wp.array(dtype=float)):
        i = wp.tid()
        q = wp.mesh_query_point_sign_winding_number(mesh, pts[i], 1.0e6, 2.0, 0.5)
        if q.result:
            out[i] = q.sign * wp.length(wp.mesh_eval_position(mesh, q.face, q.u, q.v) - pts[i])

    m = wp.Mesh(points=wp.array(vertices.astype(np.float32), dtype=wp.vec3),
                indices=wp.array(faces.reshape(-1).astype(np.int32), dtype=wp.int32), support_winding_number=True)
    pts = wp.array(points.astype(np.float32), dtype=wp.vec3)
    out = wp.zeros(len(points), dtype=float)
    wp.launch(sdf, dim=1, inputs=[m.id, pts, out])  # compile outside the timing
    t, c = time.perf_counter(), time.process_time()
    wp.launch(sdf, dim=len(points), inputs=[m.id, pts, out])
    wp.synchronize()
    return out.numpy(), time.perf_counter() - t, time.process_time() - c


def reference(scene_v, scene_f, pts, split):
    """Ground truth on ``pts`` with libigl: exact |d|, and both sign rules."""
    import igl

    from inhabit.scene._sdf_reference import behind_shell

    V, F = scene_v.astype(np.float64), scene_f.astype(np.int64)
    d = np.sqrt(igl.point_mesh_squared_distance(pts, V, F)[0])
    inside_winding = igl.winding_number(V, F, pts) > 0.5
    inside = np.zeros(len(pts), bool)
    if len(split.solid_faces):
        inside |= igl.winding_number(split.solid_vertices.astype(np.float64), split.solid_faces.astype(np.int64),
                                     pts) > 0.5
    if len(split.shell_faces):
        hv, hf = split.shell_vertices.astype(np.float64), split.shell_faces.astype(np.int64)
        _, face, closest = igl.point_mesh_squared_distance(pts, hv, hf)
        tri = hv[hf[face]]
        # Barycentric coordinates of the closest points, for the open-boundary test.
        e0, e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], closest - tri[:, 0]
        d00, d01, d11 = (e0 * e0).sum(1), (e0 * e1).sum(1), (e1 * e1).sum(1)
        d20, d21 = (e2 * e0).sum(1), (e2 * e1).sum(1)
        den = d00 * d11 - d01 * d01
        b1 = (d11 * d20 - d01 * d21) / den
        b2 = (d00 * d21 - d01 * d20) / den
        bary = np.stack([1 - b1 - b2, b1, b2], 1)
        inside |= behind_shell(pts, face, bary, closest, hv, hf, split.shell_flags)
    return d, np.where(inside, -d, d), np.where(inside_winding, -d, d)


def metrics(values, ref_signed, band):
    d = np.abs(ref_signed)
    clear = d > 1e-4  # the sign of points on the surface is not defined
    err = np.abs(np.abs(values) - d)
    near, far = d <= band, d > band
    return {
        "sign_agree_%": 100.0 * float(np.mean((values[clear] < 0) == (ref_signed[clear] < 0))),
        "near_err_mean_mm": 1e3 * float(err[near].mean()) if near.any() else float("nan"),
        "near_err_max_mm": 1e3 * float(err[near].max()) if near.any() else float("nan"),
        "far_err_mean_mm": 1e3 * float(err[far].mean()) if far.any() else float("nan"),
        "far_err_p99_mm": 1e3 * float(np.percentile(err[far], 99)) if far.any() else float("nan"),
    }


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def main(argv=None) -> int:
    args = _common.parse_args(__doc__.splitlines()[0], argv)
    import igl

    from inhabit.scene import _sdf_warp
    from inhabit.scene.demo import make_demo_scene
    from inhabit.scene.sdf import DEFAULT_BAND, DEFAULT_EXTENT, build_local_sdf

    detail, voxel, n_ref = (0, 0.04, 20_000) if args.quick else (2, 0.02, 120_000)
    scenes = SCENES_QUICK if args.quick else SCENES_FULL
    rng = np.random.default_rng(0)
    rows = []
    print(f"load average before: {os.getloadavg()}", flush=True)
    for name, centres in scenes.items():
        scene = make_demo_scene(name, detail)
        V, F = scene.vertices, scene.faces
        w, setup_wall, setup_cpu = timed(partial(_sdf_warp.prepared, V, F, key=scene.geometry_hash()))
        w.evaluate(np.zeros((2, 3)))  # kernel load, outside the timings
        rows.append({"scene": name, "centre": "-", "method": "setup: split + BVH", "triangles": len(F),
                     "grid": "-", "wall_s": setup_wall, "cpu_s": setup_cpu})
        for k, centre_name in enumerate(centres):
            centre = scene.points[centre_name]
            kw = dict(extent=DEFAULT_EXTENT, voxel=voxel, use_cache=False)
            g, wall, cpu = timed(partial(build_local_sdf, scene, centre, **kw))
            pts_all = g.sample_points()
            vals = {"inhabit hierarchical": (g.values.reshape(-1), wall, cpu)}
            gd, wall, cpu = timed(partial(build_local_sdf, scene, centre, method="dense", **kw))
            vals["inhabit dense"] = (gd.values.reshape(-1), wall, cpu)
            gw, wall, cpu = timed(partial(build_local_sdf, scene, centre, sign="winding", **kw))
            vals["inhabit hierarchical, sign=winding"] = (gw.values.reshape(-1), wall, cpu)
            if k == 0:
                v, wall, cpu = plain_warp(V, F, pts_all)
                vals["plain warp (stack.md, 1 thread)"] = (v, wall, cpu)
                res, wall, cpu = timed(partial(igl.signed_distance, pts_all, V.astype(np.float64),
                                               F.astype(np.int64),
                                               sign_type=igl.SIGNED_DISTANCE_TYPE_FAST_WINDING_NUMBER))
                vals["libigl FWN signed_distance"] = (np.asarray(res[0]), wall, cpu)
            # Stratified ground-truth subset: half near the surface, half anywhere.
            dense_abs = np.abs(gd.values.reshape(-1))
            near_idx = np.flatnonzero(dense_abs <= DEFAULT_BAND)
            pick = np.concatenate([rng.choice(near_idx, min(len(near_idx), n_ref // 2), replace=False),
                                   rng.choice(len(pts_all), n_ref // 2, replace=False)])
            (_, s_scene, s_wind), ref_wall, _ = timed(partial(reference, V, F, pts_all[pick], w.split))
            for method, (v, wall, cpu) in vals.items():
                ref = s_wind if ("winding" in method or "plain" in method or "libigl" in method) else s_scene
                rows.append({"scene": name, "centre": centre_name, "method": method, "triangles": len(F),
                             "grid": f"{g.dims[0]}^3", "wall_s": wall, "cpu_s": cpu,
                             "sign_rule": "winding" if ref is s_wind else "scene",
                             **metrics(v[pick], ref, DEFAULT_BAND)})
            print(f"  {name}/{centre_name}: reference on {len(pick)} samples took {ref_wall:.1f} s", flush=True)
    cols = ["scene", "centre", "method", "triangles", "grid", "wall_s", "cpu_s", "sign_rule", "sign_agree_%",
            "near_err_mean_mm", "near_err_max_mm", "far_err_mean_mm", "far_err_p99_mm"]
    table = _common.print_table(rows, cols, title=f"SDF grid build (voxel {voxel} m, extent {DEFAULT_EXTENT} m, "
                                f"band {DEFAULT_BAND} m){' [quick]' if args.quick else ''}")
    print(f"load average after: {os.getloadavg()}")
    _common.write_results("sdf_build", {"quick": args.quick, "voxel": voxel, "detail": detail, "rows": rows,
                                        "table": table, "loadavg": os.getloadavg()}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
