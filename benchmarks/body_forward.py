"""Body-model forward and forward+backward time, float32 CPU, batch 1 and 16.

Peers in one process: anny with warp skinning (the default), anny with dense torch LBS (the
reference), and SMPL-X through the synthetic model file (same vertex count as anny, 13,718).
Correctness columns, against references the project computes itself: the largest vertex difference
between the warp path and the torch reference for the same random parameters, and the largest
error of the anny pose round trip (SMPL-X rotvec -> anny -> SMPL-X).

    python benchmarks/body_forward.py [--quick] [--threads N]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common


def _params(model, B, seed):
    import torch

    from inhabit.rotations import rotmat_to_rotation6d, rotvec_to_rotmat

    g = torch.Generator().manual_seed(seed)
    p = model.default_params(B)
    return p.replace(
        global_orient=rotmat_to_rotation6d(rotvec_to_rotmat(torch.randn(B, 3, generator=g))),
        transl=torch.randn(B, 3, generator=g),
        body_pose=model.body_pose_from_smplx_rotvec(0.3 * torch.randn(B, 21, 3, generator=g)),
        shape=0.5 * torch.randn(B, model.shape_dim, generator=g),
    )


def _time(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def main(argv=None) -> int:
    args = _common.parse_args(__doc__.splitlines()[0], argv, extra=lambda p: p.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"))
    _common.setup_env()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from inhabit.body import load_body_model
    from inhabit.body.synthetic import synthetic_smplx_dir

    repeats = 5 if args.quick else 20
    models = {
        "anny (warp_lbs)": load_body_model("anny", skinning="warp_lbs"),
        "anny (torch lbs)": load_body_model("anny", skinning="lbs"),
        "smplx (synthetic)": load_body_model("smplx", model_path=synthetic_smplx_dir(0)),
    }
    rows = []
    for B in (1, 16):
        ref_out = None
        for name, model in models.items():
            p = _params(model, B, seed=B)

            def fwd(model=model, p=p):
                with torch.no_grad():
                    return model(p)

            def fwd_bwd(model=model, p=p):
                q = p.map(lambda t: t.detach().clone().requires_grad_(True))
                out = model(q)
                (out.vertices.square().sum() + out.joints.sum() + out.keypoints.sum()).backward()

            t_f = _time(fwd, repeats)
            t_fb = _time(fwd_bwd, repeats)
            row = {"model": name, "batch": B, "forward_ms": t_f, "fwd_bwd_ms": t_fb,
                   "forward_per_body_ms": t_f / B}
            if name.startswith("anny"):
                out = fwd()
                if ref_out is None:
                    ref_out = (name, out)
                else:
                    row["max_dvert_vs_warp_m"] = float((out.vertices - ref_out[1].vertices).abs().max())
                rv = 0.5 * torch.randn(B, 21, 3, generator=torch.Generator().manual_seed(7))
                back = model.body_pose_to_smplx_rotvec(model.body_pose_from_smplx_rotvec(rv))
                row["pose_round_trip_err_rad"] = float((back - rv).abs().max())
            rows.append(row)
    cols = ["model", "batch", "forward_ms", "fwd_bwd_ms", "forward_per_body_ms", "max_dvert_vs_warp_m",
            "pose_round_trip_err_rad"]
    _common.print_table(rows, cols, title=f"body forward, float32 CPU, {torch.get_num_threads()} thread(s), "
                                          f"median of {repeats}")
    _common.write_results("body_forward", {"quick": args.quick, "repeats": repeats,
                                           "threads": torch.get_num_threads(), "rows": rows}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
