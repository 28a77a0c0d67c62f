"""``metrics.json``, per-frame plots and ``report.html`` of a motion run.

``metrics.json`` has the layout ``inhabit eval`` writes (``format: inhabit.metrics/1``, ``summary``,
one entry per result under ``items``) so the two agree, plus a ``job`` block only the motion job
knows: per clip the prompt, the video's source and checks, the initial camera choice and the frame
statuses; per frame the fit losses; the stage timings and the notes. Physical metrics are
:func:`inhabit.evaluate.suite.motion_metrics` (ZeroHSI's penetration, foot sliding, hand-object
contact) with the run's scene SDF; CLIP metrics (ZeroHSI's CLIP score and consistency) are computed
on the reconstruction frames when a CLIP model is available.

The report reuses the pose job's page machinery (:mod:`inhabit.export.report`): plain HTML that
opens offline, pictures linked inside the run folder (or embedded).
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


def _clean(v: Any) -> Any:
    if isinstance(v, float | np.floating) and not np.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v




def series_plot(series: dict[str, np.ndarray], title: str = "", ylabel: str = "", log: bool = True,
                size: tuple[int, int] = (640, 320)) -> np.ndarray:
    """A line plot of per-frame values (NaNs skipped) as an (H, W, 3) uint8 image."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for name, vals in series.items():
        y = np.asarray(vals, np.float64)
        x = np.arange(len(y))
        ok = np.isfinite(y) & ((y > 0) if log else True)
        if ok.sum() >= 1:
            ax.plot(x[ok], y[ok], marker="." if ok.sum() < 40 else None, label=name)
    if log and ax.lines:
        ax.set_yscale("log")
    ax.set_xlabel("frame")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7)
    fig.tight_layout()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def status_counts(status: Sequence[str]) -> dict[str, int]:
    """How many frames have each status (``init``, ``ok``, ``skipped``, ``failed``, ``pending``)."""
    names, counts = np.unique(np.asarray(status).astype(str), return_counts=True)
    return {str(n): int(c) for n, c in zip(names, counts)}


def compute_motion_metrics(root: Path, vertices: np.ndarray, joints: np.ndarray, fps: float, scene_sdf,
                           sdf_description: str, hand_mask: np.ndarray | None, obj=None, clip_metrics=None,
                           job: dict | None = None, notes: Sequence[str] = ()) -> dict:
    """The contents of ``metrics.json`` (see the module docstring).

    Args:
        vertices: (T, V, 3); joints: (T, 22, 3) named by ``BODY_JOINT_NAMES``.
        scene_sdf: the scene's SDF callable. hand_mask: (V,) bool or None.
        obj: :class:`~inhabit.evaluate.suite.MovingObject` or None.
        clip_metrics: :class:`~inhabit.evaluate.suite.Metrics` of the CLIP scores, or None.
        job: the job block (clips, per-frame values, timings).
        notes: sentences the job collected.
    """
    from inhabit.evaluate.suite import DEFAULT_SETTINGS, motion_metrics

    m = motion_metrics(vertices, joints, fps, scene_sdf, hand_mask=hand_mask, obj=obj)
    if clip_metrics is not None:
        m.update(clip_metrics)
    cfg = read_yaml_dict(root / "config.yaml")
    inputs = cfg.get("inputs", {})
    values = {k: _clean(v) for k, v in m.values.items()}
    return {
        "format": "inhabit.metrics/1",
        "run": root.name,
        "kind": "motion",
        "scene": inputs.get("scene"),
        "scene_sdf": sdf_description,
        "settings": asdict(DEFAULT_SETTINGS),
        "summary": values,
        "notes": m.notes,
        "items": [{"path": "motion.npz", "kind": "motion", "group": inputs.get("id", root.name),
                   "body_model": cfg.get("body", {}).get("model"), "metrics": values, "notes": m.notes}],
        "job": {**(job or {}), "notes": list(dict.fromkeys(notes))},
    }








_METRIC_ROWS = (
    ("pene_pct", "penetrating vertices (% per frame)", 3),
    ("pene_mean", "penetration depth, summed per frame (m, mean)", 4),
    ("pene_max", "penetration depth, summed per frame (m, worst)", 4),
    ("depth_max", "deepest penetrating vertex (m)", 4),
    ("foot_sliding_cm_s", "foot sliding (cm/s)", 2),
    ("foot_contact_ratio", "frames × feet in contact", 3),
    ("contact_ratio", "hand-object contact ratio", 3),
    ("hand_object_distance", "hand-object distance (m, mean)", 3),
    ("pene_obj", "body inside the object (m, mean)", 4),
    ("obj_scene_pene_pct", "object vertices inside the scene (%)", 3),
    ("clip_score", "CLIP score (×100)", 2),
    ("clip_consistency", "CLIP consistency", 4),
)


def motion_report_sections(root: Path) -> tuple[str, list[str], list[Section]]:
    """Title, subtitle lines and sections of the report of the motion run at ``root``."""
    cfg = read_yaml_dict(root / "config.yaml")
    inputs = cfg.get("inputs", {})
    metrics = read_json_dict(root / "metrics.json")
    job = metrics.get("job", {})
    summary = metrics.get("summary", {})
    scene = inputs.get("scene") or {}
    title = f"inhabit motion — {inputs.get('prompt', '')}"
    sub = [f"scene {scene.get('path')}  ·  preset {cfg.get('preset')}  ·  body {cfg.get('body', {}).get('model')}  ·  "
           f"seed {cfg.get('seed')}  ·  {job.get('num_frames', '?')} frames at {format_value(job.get('fps'), 2)} fps"]
    sections: list[Section] = []

    # --- result
    sec = Section("Result", "motion.npz holds the body parameters, vertices, joints, the camera and the object pose of "
                            "every frame. motion.glb is +Y up (glTF; Blender's importer turns it back to +Z up); the "
                            "body is animated by morph targets, one key per frame at the clip's frame rate.")
    rows = [[label, format_value(summary.get(key), d)] for key, label, d in _METRIC_ROWS if summary.get(key) is not None]
    counts = job.get("status", {})
    if counts:
        rows.append(["frames fitted / skipped / failed",
                     f"{counts.get('ok', 0)} / {counts.get('skipped', 0)} / {counts.get('failed', 0)}"])
    sec.items.append(Table(["metric", "value"], rows, f"scene distance: {metrics.get('scene_sdf', '?')}"))
    links = [(n, root / n) for n in ("motion.npz", "motion.glb", "videos/comparison.mp4", "videos/input.mp4",
                                     "videos/reconstruction.mp4", "videos/side.mp4", "metrics.json", "config.yaml",
                                     "frame0.png", "manifest.json") if (root / n).exists()]
    sec.items.append(Links(links))
    sections.append(sec)

    # --- videos
    sec = Section("Input and reconstruction", "Rows: the input clip, the reconstruction rendered from the tracked "
                                              "video camera, and a fixed side view.")
    sec.items += figure_if_exists(root, "videos/contact_sheet.png", "input vs reconstruction vs side view")
    sections.append(sec)

    # --- clips
    for k, clip in enumerate(job.get("clips", [])):
        d = f"clip{k}"
        cam = clip.get("camera", {})
        text = (f"prompt: {clip.get('prompt')!r}\nvideo: {clip.get('source')} ({clip.get('frames')} frames at "
                f"{format_value(clip.get('fps'), 2)} fps; source {clip.get('source_frames')} frames at "
                f"{format_value(clip.get('source_fps'), 2)} fps)\nfirst frame vs frame0.png: mean difference "
                f"{format_value(clip.get('first_frame_mae'), 1)}/255")
        sec = Section(f"Clip {k}", text)
        sec.items.append(Table(["initial camera", "value"], [
            ["chosen", str(cam.get("name", ""))], ["how", str(cam.get("how", ""))],
            ["visible body joints", format_value(cam.get("n_visible"))], ["elevation (deg)", format_value(cam.get("elevation_deg"), 1)],
            ["azimuth from facing (deg)", format_value(cam.get("azimuth_deg"), 1)], ["radius (m)", format_value(cam.get("radius"), 2)],
        ]))
        sec.items += figure_if_exists(root, f"{d}/init/frame0.png", "the rendered initial frame (what the video starts from)")
        sec.items += figure_if_exists(root, f"{d}/video/first_frame.png", "frame0.png, the clip's first frame, their difference")
        sec.items += figure_if_exists(root, f"{d}/masks/masks_sheet.png",
                          "masks: human (magenta), object (cyan), excluded from camera tracking (grey, Eq. 8)")
        sec.items += figure_if_exists(root, f"{d}/keypoints/keypoints_sheet.png", "2D keypoints initialising the body pose")
        sec.items += figure_if_exists(root, f"{d}/track/losses.png", "per-frame fit: photometric loss and camera loss")
        sec.items += figure_if_exists(root, f"{d}/refine/refine.png", "refinement: joint distance to the per-frame fit")
        st = clip.get("status", {})
        if st:
            sec.items.append(Table(["frame status", "frames"], [[k2, str(v)] for k2, v in st.items()]))
        sections.append(sec)

    # --- timings and notes
    man = read_json_dict(root / "manifest.json")
    t_rows = [[s["name"], s["status"], format_value(job.get("timings_s", {}).get(s["name"]), 1)] for s in man.get("stages", [])]
    if t_rows:
        sections.append(Section("Stages", "'skipped' = reused from an earlier invocation (its key matched).",
                                [Table(["stage", "this run", "seconds when computed"], t_rows)]))
    notes = list(job.get("notes", [])) + list(metrics.get("notes", []))
    if notes:
        sections.append(Section("Notes", "\n".join(f"• {n}" for n in dict.fromkeys(notes))))
    return title, sub, sections


def write_motion_report(root: Path, embed: bool = False) -> Path:
    """Write ``report.html`` of the motion run at ``root`` (from its files)."""
    root = Path(root).resolve()  # figures are built as root / rel: a relative root would be joined twice
    title, sub, sections = motion_report_sections(root)
    return write_report(root / "report.html", title, sub, sections, embed=embed)


def stage_timings(root: Path) -> dict[str, float]:
    """Seconds each finished stage took when it was computed (from the done-markers)."""
    out = {}
    for marker in sorted(Path(root).rglob("_done.json")):
        d = read_json_dict(marker)
        if "seconds" in d:
            out[d.get("stage", marker.parent.name)] = round(float(d["seconds"]), 3)
    return out


__all__ = ["compute_motion_metrics", "motion_report_sections", "series_plot", "stage_timings", "status_counts",
           "write_motion_report"]
