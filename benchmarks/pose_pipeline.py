"""Benchmark: the pose job's lifting half end to end, against a known body (the ``inhabit demo`` setup).

For each interaction of the demo room, a known body is rendered into the selected views (25 % of
them corrupted: mirrored, shifted or another pose) and the ``--images`` path of ``inhabit pose``
runs on the renders: keypoints, GenZI's acceptance rule, lifting, ranking, export. Two detectors
run on the same images, in the same process:

* ``blazepose`` — the default detector on the pixels (what a user gets);
* ``oracle`` — the exact 2D keypoints of the person each image shows (projection of the rendered
  body, mirrored where the image is), which isolates the lifting from the detector.

Reported per run: MPJPE / PA-MPJPE of the 22 joints (mm), pelvis error (cm), non-collision,
contact, view-weight ROC AUC (clean vs corrupted views), median detector error on accepted clean
views (px), seconds per stage, total, and the time of an immediate re-run (every stage resumed).

    python benchmarks/pose_pipeline.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import parse_args, print_table, setup_env, write_results


class OracleDetector:
    """Returns ``truth/keypoints2d.npz`` of the demo run (the pose job calls it once per hypothesis,
    with the images in camera order)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def detect(self, images):
        from inhabit.structures import Keypoints2D

        z = np.load(self.root / "truth" / "keypoints2d.npz")
        if len(images) != len(z["xy"]):
            raise RuntimeError(f"oracle: {len(images)} images for {len(z['xy'])} views")
        return Keypoints2D(z["xy"], z["conf"])


def detector_error(root: Path, corrupted: dict[str, str]) -> float:
    """Median pixel error of the stage-0 detections on accepted clean views (NaN if none)."""
    k = np.load(root / "stage0" / "keypoints" / "keypoints.npz")
    t = np.load(root / "truth" / "keypoints2d.npz")
    names = [str(v) for v in t["views"]]
    errs = []
    for v, n in enumerate(names):
        if n in corrupted or not k["accepted"][0, v]:
            continue
        ok = (t["conf"][v] > 0) & (k["conf"][0, v] >= 0.25)
        errs.append(np.linalg.norm(k["xy"][0, v][ok] - t["xy"][v][ok], axis=-1))
    return float(np.median(np.concatenate(errs))) if errs else float("nan")


def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    setup_env()
    import torch

    from inhabit.body import load_body_model
    from inhabit.pipeline.demo import DemoSettings, run_demo
    from inhabit.pipeline.pose import PoseComponents
    from inhabit.render.mesh import default_renderer

    torch.set_num_threads(1)  # small tensors; on a shared 2-core machine one thread is fastest
    interactions = ["sit_bench"] if args.quick else ["sit_bench", "sit_chair", "lean_counter", "lie_bed"]
    settings = dict(num_views=8, size=256, phase_iters=30) if args.quick else dict(num_views=12, size=384,
                                                                                    phase_iters=150)
    model = load_body_model("anny")
    renderer = default_renderer()
    rows = []
    with tempfile.TemporaryDirectory(prefix="inhabit_pose_bench_") as tmp:
        for inter in interactions:
            for det_name in ("blazepose", "oracle"):
                root = Path(tmp) / f"{inter}_{det_name}"
                det = OracleDetector(root) if det_name == "oracle" else None
                s = DemoSettings(interaction=inter, **settings)
                t0 = time.perf_counter()
                res = run_demo(s, root, PoseComponents(body_model=model, renderer=renderer, detector=det))
                total = time.perf_counter() - t0
                t1 = time.perf_counter()
                again = run_demo(s, root, PoseComponents(body_model=model, renderer=renderer, detector=det))
                resume = time.perf_counter() - t1
                assert set(again.run.stages.values()) <= {"skipped", "ran"}
                tim = res.run.metrics["job"]["timings_s"]
                e = res.errors
                rows.append({
                    "interaction": inter, "detector": det_name, "views": s.num_views,
                    "corrupted": len(res.corrupted), "mpjpe_mm": e["mpjpe_mm"], "pa_mpjpe_mm": e["pa_mpjpe_mm"],
                    "pelvis_cm": e["pelvis_error_cm"], "non_coll": e["non_collision"], "contact": e["contact"],
                    "auc": e.get("view_weight_auc", float("nan")),
                    "det_err_px": detector_error(root, res.corrupted) if det_name == "blazepose" else 0.0,
                    "t_views": tim.get("views", float("nan")), "t_keypoints": tim.get("stage0/keypoints", float("nan")),
                    "t_lift": tim.get("stage0/lift", float("nan")), "t_rank": tim.get("stage0/rank", float("nan")),
                    "t_total": total, "t_resume": resume,
                    "resumed_stages": sum(v == "skipped" for v in again.run.stages.values()),
                })
    cols = ["interaction", "detector", "views", "corrupted", "mpjpe_mm", "pa_mpjpe_mm", "pelvis_cm", "non_coll",
            "contact", "auc", "det_err_px", "t_views", "t_keypoints", "t_lift", "t_rank", "t_total", "t_resume",
            "resumed_stages"]
    print_table(rows, cols, title=f"pose pipeline (demo room, 25 % corrupted views, fast preset, "
                                  f"4 x {settings['phase_iters']} iterations)")
    write_results("pose_pipeline", {"quick": args.quick, "settings": settings,
                                    "rows": rows}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
