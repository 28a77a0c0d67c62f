"""``metrics.json`` and ``report.html`` of a pose run, built from the run folder's files alone.

``metrics.json`` has the layout ``inhabit eval`` writes (``format: inhabit.metrics/1``, a
``summary`` over every result of the run and one entry per result under ``items``), so the two
agree, plus a ``job`` block only the pose job knows: the chosen result and its metrics, the
ranking of each stage, every fit's final energies and view weights, dropped views, stage timings.
Physical metrics use the exact mesh signed distance (``inhabit.scene.sdf.MeshSDF``) with GenZI's
evaluation threshold 0, as ``inhabit eval`` does; CLIP scores are the ranking scores (mean cosine
over the views) when a CLIP model was available.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.export.report import (
    Links,
    Section,
    Table,
    figure_if_exists,
    format_value,
    read_json_dict,
    read_yaml_dict,
    write_report,
)
from inhabit.pipeline.hypotheses import FitSet


def _stages(root: Path) -> list[int]:
    out = []
    for s in range(4):
        if (root / f"stage{s}" / "lift" / "lift.json").is_file():
            out.append(s)
    return out




def _clean(v: Any) -> Any:
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def compute_pose_metrics(root: Path, scene, sdf, cameras: Sequence, notes: Sequence[str] = ()) -> dict:
    """The contents of ``metrics.json`` for the run at ``root`` (see the module docstring).

    Args:
        scene: the run's scene; sdf: an exact SDF callable ``(N,3) torch -> (N,)`` of it.
        cameras: the run's views (names for the view weights).
        notes: sentences the job collected (dropped views, fallbacks).
    """
    from inhabit.evaluate.suite import DEFAULT_SETTINGS, pose_body_metrics, pose_set_metrics
    from inhabit.export.results import load_result

    cfg = read_yaml_dict(root / "config.yaml")
    inputs = cfg.get("inputs", {})
    interaction = str(inputs.get("id", root.name))
    items, per_body, poses, clip_scores = [], [], [], []
    fit_energies, view_weights, ranking, dropped = {}, {}, {}, {}
    for s in _stages(root):
        fits = FitSet.load(root / f"stage{s}" / "lift" / "lift.json")
        ranks = read_json_dict(root / f"stage{s}" / "rank" / "ranks.json")
        kp = read_json_dict(root / f"stage{s}" / "keypoints" / "keypoints.json")
        dropped[f"stage{s}"] = {h: v.get("dropped", {}) for h, v in kp.get("hypotheses", {}).items()}
        ranking[f"stage{s}"] = {k: ranks.get(k) for k in ("method", "rule", "order", "kept", "values", "clip_text")}
        for rec in fits.records:
            r = load_result(root / rec.result)
            m = pose_body_metrics(r.vertices, sdf, DEFAULT_SETTINGS)
            cpv = (ranks.get("clip_per_view") or {}).get(rec.id)
            clip = float(np.mean(cpv)) if cpv else None
            if clip is not None:
                m.values["clip"] = clip
            m.values["energy_total"] = rec.energy_total
            per_body.append(m)
            poses.append(r.body_pose_smplx)
            clip_scores.append(clip)
            key = f"stage{s}/{rec.id}"
            fit_energies[key] = rec.energies
            view_weights[key] = rec.view_weights
            items.append({"path": rec.result, "kind": "pose", "group": interaction, "body_model": r.body_model,
                          "stage": s, "hypothesis": rec.id, "parent": rec.parent,
                          "metrics": {k: _clean(v) for k, v in m.values.items()}, "notes": m.notes})
    summary = pose_set_metrics(per_body, poses, [interaction] * len(per_body),
                               clip_scores if any(c is not None for c in clip_scores) else None, DEFAULT_SETTINGS)
    choice = read_json_dict(root / "final" / "choice.json")
    final = next((dict(it["metrics"]) for it in items if it["path"] == choice.get("result")), {})
    if choice:
        final["view_weights"] = view_weights.get(f"stage{choice['stage']}/{choice['id']}", {})
    timings = stage_timings(root)
    return {
        "format": "inhabit.metrics/1",
        "run": root.name,
        "kind": "pose",
        "scene": inputs.get("scene"),
        "scene_sdf": "exact mesh signed distance (inhabit.scene.sdf.MeshSDF), threshold 0",
        "settings": asdict(DEFAULT_SETTINGS),
        "summary": {k: _clean(v) for k, v in summary.values.items()},
        "notes": summary.notes,
        "items": items,
        "job": {
            "chosen": choice, "final": final, "ranking": ranking, "fit_energies": fit_energies,
            "view_weights": view_weights, "dropped_views": dropped, "timings_s": timings,
            "cameras": [c.name for c in cameras], "notes": list(dict.fromkeys(notes)),
        },
    }


def stage_timings(root: Path) -> dict[str, float]:
    """Seconds each finished stage took when it was computed (from the done-markers)."""
    out = {}
    for marker in sorted([*root.rglob("_done.json"), *root.glob(".*_done.json")]):
        d = read_json_dict(marker)
        if "seconds" in d:
            out[str(d.get("stage", marker.parent.name))] = round(float(d["seconds"]), 3)
    return out








def pose_report_sections(root: Path) -> tuple[str, list[str], list[Section]]:
    """Title, subtitle lines and sections of the report of the run at ``root``."""
    cfg = read_yaml_dict(root / "config.yaml")
    inputs = cfg.get("inputs", {})
    metrics = read_json_dict(root / "metrics.json")
    job = metrics.get("job", {})
    choice = job.get("chosen") or read_json_dict(root / "final" / "choice.json")
    final = job.get("final", {})
    scene = inputs.get("scene", {})
    point = inputs.get("point")
    title = f"inhabit pose — {inputs.get('prompt') or '(user images)'}"
    sub = [f"scene {scene.get('path')}  ·  point {_fmt_point(point)}  ·  preset {cfg.get('preset')}  ·  "
           f"body {cfg.get('body', {}).get('model')}  ·  seed {cfg.get('seed')}"]
    if inputs.get("images"):
        sub.append(f"hypotheses: user images from {inputs['images']} (no inpainting)")
    sections: list[Section] = []

    # --- result
    sec = Section("Result", choice.get("reason", ""))
    rows = [["non-collision", format_value(final.get("non_collision"))], ["contact", format_value(final.get("contact"), 0)],
            ["penetrating vertices (%)", format_value(final.get("pene_pct"), 2)],
            ["deepest penetration (m)", format_value(final.get("depth_max"))],
            ["CLIP score (mean over views)", format_value(final.get("clip"))],
            ["final fit energy", format_value(final.get("energy_total"), 4)]]
    sec.items.append(Table(["metric", choice.get("id", "")], rows, "the chosen body"))
    sec.items += figure_if_exists(root, "final/renders_sheet.png", "the chosen body rendered into every view")
    links = [(n, root / n) for n in ("result.npz", "scene_with_human.glb", "human.obj", "human.ply", "metrics.json",
                                     "config.yaml", "views/cameras.json", "manifest.json") if (root / n).exists()]
    sec.items.append(Links(links))
    sec.text += ("\n\nscene_with_human.glb is +Y up (glTF); Blender's importer turns it back to +Z up. "
                 "human.obj/human.ply are in the world frame, +Z up.")
    sections.append(sec)

    # --- views
    cams = read_json_dict(root / "views" / "cameras.json")
    vw = final.get("view_weights", {})
    sec = Section("Views", f"{len(cams.get('views', []))} views looking at the point "
                  f"({cams.get('selection', 'genzi')} selection).")
    sec.items.append(Table(["view", "visible patch fraction", "final view weight"],
                           [[v["name"], format_value(v.get("vis_ratio")), format_value(vw.get(v["name"]))] for v in cams.get("views", [])]))
    sec.items += figure_if_exists(root, "views/contact_sheet.png", "scene renders of the selected views")
    sections.append(sec)

    # --- stages
    summary_rows = []
    for it in metrics.get("items", []):
        m = it["metrics"]
        ranks = job.get("ranking", {}).get(f"stage{it['stage']}", {})
        kept = "yes" if it["hypothesis"] in (ranks.get("kept") or []) else ""
        chosen = "chosen" if it["path"] == choice.get("result") else kept
        summary_rows.append([f"stage{it['stage']}/{it['hypothesis']}", it.get("parent") or "",
                             format_value(m.get("energy_total"), 4), format_value(m.get("clip")), format_value(m.get("non_collision")),
                             format_value(m.get("contact"), 0), chosen])
    for s in sorted({it["stage"] for it in metrics.get("items", [])} | set(_stage_dirs(root))):
        sd = f"stage{s}"
        ranks = job.get("ranking", {}).get(sd, {})
        text = ("Refinement: each kept body's unoccluded silhouette, dilated, is the inpainting mask; "
                "each refined fit starts from its parent." if s > 0 else
                "Hypotheses: one image per view (the k-th inpainting of every view); dynamic masks outlined.")
        sec = Section(f"Stage {s}", text)
        if s > 0:
            sec.items += figure_if_exists(root, f"{sd}/masks/masks_sheet.png", "refinement masks over the scene renders")
        sec.items += figure_if_exists(root, f"{sd}/inpaint/inpaint_sheet.png",
                          "inpaintings: one row per view, one column per hypothesis; masks outlined")
        sec.items += figure_if_exists(root, f"{sd}/keypoints/keypoints_sheet.png",
                          "2D keypoints; green frame = accepted by GenZI's rule, red = dropped")
        drops = job.get("dropped_views", {}).get(sd, {})
        drop_rows = [[h, v, why] for h, d in drops.items() for v, why in d.items()]
        if drop_rows:
            sec.items.append(Table(["hypothesis", "view", "dropped because"], drop_rows, "dropped views"))
        stage_rows = [r for r in summary_rows if r[0].startswith(f"{sd}/")]
        if stage_rows:
            sec.items.append(Table(["result", "parent", "fit energy", "CLIP", "non-collision", "contact", ""],
                                   stage_rows, f"ranked by {ranks.get('rule', '?')}"))
        lift = read_json_dict(root / sd / "lift" / "lift.json")
        for f in lift.get("fits", []):
            hid = f["id"]
            sec.items += figure_if_exists(root, f"{sd}/lift/{hid}/overlays.png",
                              f"{hid}: detected (palette) vs fitted (magenta) keypoints, learnt view weights")
            sec.items += figure_if_exists(root, f"{sd}/rank/{hid}_renders.png", f"{hid}: the fitted body in every view")
            sec.items += figure_if_exists(root, f"{sd}/lift/{hid}/loss.png", f"{hid}: weighted energy terms during the fit")
        sections.append(sec)

    # --- timings and notes
    man = read_json_dict(root / "manifest.json")
    secs = stage_timings(root)
    t_rows = [[st["name"], st["status"], format_value(secs.get(st["name"]), 1)] for st in man.get("stages", [])]
    if t_rows:
        sections.append(Section("Stages", "'skipped' = reused from an earlier invocation (its key matched).",
                                [Table(["stage", "this run", "seconds when computed"], t_rows)]))
    notes = list(job.get("notes", [])) + list(metrics.get("notes", []))
    if notes:
        sections.append(Section("Notes", "\n".join(f"• {n}" for n in dict.fromkeys(notes))))
    return title, sub, sections


def _stage_dirs(root: Path) -> list[int]:
    return [s for s in range(4) if (root / f"stage{s}").is_dir()]


def _fmt_point(p: Any) -> str:
    if not p:
        return "?"
    return "(" + ", ".join(f"{float(x):.3f}" for x in p) + ")"


def write_pose_report(root: Path, embed: bool = False, extra_sections: Sequence[Section] = ()) -> Path:
    """Write ``report.html`` of the run at ``root``; ``extra_sections`` go right after the result."""
    root = Path(root).resolve()  # figures are built as root / rel: a relative root would be joined twice
    title, sub, sections = pose_report_sections(root)
    sections = sections[:1] + list(extra_sections) + sections[1:]
    return write_report(root / "report.html", title, sub, sections, embed=embed)
