"""Splatting speed: forward + backward iterations per second at 256² for 50k and 200k Gaussians.

Scenes (both built by the project itself, deterministic):

* ``room``  — the bundled demo room (``make_demo_scene("room")``, textured) turned into N Gaussians
  by :func:`~inhabit.scene.gaussians_mesh.gaussians_from_mesh`, seen from a corner (a camera inside
  a scene: about half the Gaussians are in view, surfaces occlude each other — the motion job's case).
* ``cloud`` — N random Gaussians in a 1.6 m ball entirely in front of the camera (object-centric,
  every Gaussian on screen, many overlapping splats per pixel: a harder case for the compositor).

Columns: median forward and backward wall time, iterations per second (wall), the process's CPU
time per iteration (all threads; less sensitive to other jobs on a shared machine), (tile,
Gaussian) pairs composited and Gaussians in view. The JSON records the load average.

One iteration = render (SH deg-1 colours, depth) + an L1 loss to a fixed target + backward to every
Gaussian field *and* a camera-pose delta — what camera tracking and pose fitting do per step.
Backends: ``native`` (C++ compositor, the CPU default), ``torch`` (the readable pure-PyTorch
reference), ``gsplat`` (CUDA only, when present). Peer: the dense all-pairs prototype (no tiles)
at 1000 Gaussians and 64², against the tiled backends on the same input (the prototype of
``shared/reference/stack.md`` §7 took 0.70 s/iteration there).

    .venv/bin/python benchmarks/splat_speed.py [--quick] [--iters 7] [--threads 1,2] [--no-torch]

On a shared machine whose cores are busy, torch's OpenMP threads spin and wait for each other:
two threads can then be several times *slower* than one (measured here), so both are timed.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parse_args, print_table, setup_env, write_results

GOAL_IT_S = 5.0


def room_gaussians(n: int, seed: int = 0):
    """(GaussianSet with SH degree 1, Camera factory) for the demo room with about n Gaussians."""
    import torch

    from inhabit.camera.pinhole import Camera
    from inhabit.scene.demo import make_demo_scene
    from inhabit.scene.gaussians_mesh import gaussians_from_mesh

    scene = make_demo_scene("room")
    area = sum(0.5 * np.linalg.norm(np.cross(p.vertices[p.faces[:, 1]] - p.vertices[p.faces[:, 0]],
                                              p.vertices[p.faces[:, 2]] - p.vertices[p.faces[:, 0]]), axis=1).sum()
               for p in scene.parts)
    gs = gaussians_from_mesh(scene, spacing=math.sqrt(area / n), seed=seed).with_sh_degree(1)
    g = torch.Generator().manual_seed(seed)
    gs.colors[:, 1:] = 0.05 * torch.randn(gs.colors[:, 1:].shape, generator=g)  # a little view dependence
    lo, hi = scene.bounds
    c = (lo + hi) / 2

    def camera(res: int) -> Camera:
        return Camera.look_at(np.array([lo[0] + 0.4, lo[1] + 0.4, 1.6]), np.array([c[0], c[1], 0.6]), res, res,
                              fov_y_deg=70)

    return gs, camera


def cloud_gaussians(n: int, seed: int = 0):
    """(GaussianSet, Camera factory): n random Gaussians in a ball 3 m in front of the camera, sized so
    that the ball's surface is about covered (scale ∝ n^-1/2)."""
    import torch

    from inhabit.camera.pinhole import Camera
    from inhabit.scene.gaussians import GaussianSet

    g = torch.Generator().manual_seed(seed)
    d = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    means = d * 0.8 * torch.rand(n, 1, generator=g) ** (1 / 3)
    s = 2.0 * 0.8 / math.sqrt(n)
    log_scales = torch.log(s * (0.5 + torch.rand(n, 3, generator=g)))
    sh = torch.randn(n, 4, 3, generator=g) * torch.tensor([1.0, 0.1, 0.1, 0.1])[None, :, None]
    gs = GaussianSet(means, torch.randn(n, 4, generator=g), log_scales, torch.randn(n, generator=g) + 1.0, sh)

    def camera(res: int) -> Camera:
        return Camera.look_at(np.array([0.0, -3.0, 0.3]), np.zeros(3), res, res, fov_y_deg=45)

    return gs, camera


def time_iterations(splatter, gs, cam, iters: int, warmup: int = 1) -> dict:
    """Median timings of render + L1 + backward (Gaussians and camera delta)."""
    import torch

    from inhabit.rotations import rigid_from_rotation6d, rotmat_to_rotation6d

    T0 = torch.as_tensor(cam.T_cam_world, dtype=gs.dtype, device=gs.device)
    with torch.no_grad():
        target = splatter.render(gs, cam).rgb.flip(1)
    g = gs.clone().requires_grad_()
    r6 = rotmat_to_rotation6d(torch.eye(3, dtype=gs.dtype, device=gs.device)).requires_grad_()
    t = torch.zeros(3, dtype=gs.dtype, device=gs.device, requires_grad=True)
    fwd, bwd, cpu, out = [], [], [], None
    sync = torch.cuda.synchronize if gs.device.type == "cuda" else (lambda: None)
    for i in range(warmup + iters):
        for p in (*g.tensors().values(), r6, t):
            p.grad = None
        sync()
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = splatter.render(g, cam, T_cam_world=rigid_from_rotation6d(r6, t) @ T0)
        loss = (out.rgb - target).abs().mean() + 0.01 * out.depth.mean()
        sync()
        t1 = time.perf_counter()
        loss.backward()
        sync()
        t2 = time.perf_counter()
        if i >= warmup:
            fwd.append(t1 - t0)
            bwd.append(t2 - t1)
            cpu.append(time.process_time() - c0)
    total = [a + b for a, b in zip(fwd, bwd)]
    return {
        "fwd_ms": 1e3 * statistics.median(fwd),
        "bwd_ms": 1e3 * statistics.median(bwd),
        "it_per_s": 1.0 / statistics.median(total),
        # CPU time of this process per iteration (all threads): on a shared, loaded machine the
        # wall-clock figures above are inflated; this one much less so.
        "cpu_ms": 1e3 * statistics.median(cpu),
        "pairs": out.num_pairs,
        "visible": int(out.visible.sum()),
    }


def main(argv=None) -> dict:
    setup_env()

    def extra(p):
        p.add_argument("--iters", type=int, default=None, help="timed iterations per case")
        p.add_argument("--no-torch", action="store_true", help="skip the (slow) pure-torch reference")
        p.add_argument("--threads", default="1,2",
                       help="comma-separated torch/native thread counts to time the native backend with "
                            "(the torch reference runs with the first)")

    args = parse_args(__doc__.splitlines()[0], argv, extra)
    import torch

    thread_counts = [int(t) for t in str(args.threads).split(",") if t.strip()]

    from inhabit.render.splat import NativeSplatter, TorchSplatter, gsplat_available

    sizes = [10_000] if args.quick else [50_000, 200_000]
    res = 128 if args.quick else 256
    iters = args.iters or (3 if args.quick else 7)
    rows = []
    for scene_name, make in (("room", room_gaussians), ("cloud", cloud_gaussians)):
        for n in sizes:
            gs, camera = make(n)
            cam = camera(res)
            cases = [("native", NativeSplatter(), iters, th) for th in thread_counts]
            if not args.no_torch:
                cases.append(("torch", TorchSplatter(), max(2, iters // 3), thread_counts[0]))
            if gsplat_available():
                from inhabit.render.splat_gsplat import GsplatSplatter

                cases.append(("gsplat", GsplatSplatter(), iters, thread_counts[0]))
            for name, sp, k, th in cases:
                torch.set_num_threads(th)
                g = gs.to("cuda") if name == "gsplat" else gs
                r = time_iterations(sp, g, cam, k)
                rows.append({"scene": scene_name, "gaussians": len(gs), "res": res, "backend": name, "threads": th,
                             **r})
                print_table([rows[-1]])

    # Peer: the dense all-pairs prototype vs the tiled backends, 1000 Gaussians at 64².
    gs, camera = cloud_gaussians(1000, seed=1)
    cam = camera(64)
    torch.set_num_threads(thread_counts[0])
    for name, sp in (("dense", TorchSplatter(tiled=False)), ("torch", TorchSplatter()), ("native", NativeSplatter())):
        r = time_iterations(sp, gs, cam, 3 if args.quick else 5)
        rows.append({"scene": "cloud", "gaussians": 1000, "res": 64, "backend": name, "threads": thread_counts[0],
                     **r})

    cols = ["scene", "gaussians", "res", "backend", "threads", "fwd_ms", "bwd_ms", "it_per_s", "cpu_ms", "pairs",
            "visible"]
    print()
    print_table(rows, cols, title="Splatting forward + L1 + backward (Gaussians and camera delta)")
    goal_rows = [r for r in rows if r["scene"] == "room" and r["gaussians"] >= 45_000 and r["res"] == 256
                 and r["backend"] == "native"]
    verdict = None
    if goal_rows:
        best = max(goal_rows, key=lambda r: r["it_per_s"])
        verdict = best["it_per_s"] >= GOAL_IT_S
        print(f"goal >= {GOAL_IT_S} it/s at 256² with 50k Gaussians (native, room): best {best['it_per_s']:.1f} it/s "
              f"with {best['threads']} thread(s) -> {'met' if verdict else 'NOT met'}")
    try:
        import os

        load = os.getloadavg()
    except OSError:
        load = None
    payload = {"rows": rows, "goal_it_per_s": GOAL_IT_S, "goal_met": verdict, "load_average": load,
               "quick": args.quick}
    write_results("splat_speed", payload, args.out)
    return payload


if __name__ == "__main__":
    main()
