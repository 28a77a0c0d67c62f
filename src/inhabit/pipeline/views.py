"""``inhabit views``: select the views around an interaction point and write their renders.

Output folder::

    view000.png … viewNNN.png   scene renders, best view first
    contact_sheet.png           all views, labelled with name and visible-patch ratio
    cameras.json                the cameras (inhabit.cameras/1) + vis ratios, normal, t0

``cameras.json`` is written last: it is the index of a finished run, and an old one is removed
before anything else is written, so a crashed run never leaves a cameras.json that points at a
mix of old and new pictures. Stale ``viewNNN.png`` of an earlier run with more views are removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inhabit.camera.io import write_cameras_json
from inhabit.camera.views import ViewSelection, ViewSelectionConfig, select_views
from inhabit.errors import InputError
from inhabit.io import write_image
from inhabit.scene.mesh import SceneMesh
from inhabit.scene.patch import format_point

SHEET_NAME = "contact_sheet.png"
CAMERAS_NAME = "cameras.json"
_VIEW_PNG = re.compile(r"^view\d{3}\.png$")


@dataclass
class ViewsResult:
    """What :func:`write_views` produced."""

    selection: ViewSelection
    images: list[Path]
    cameras_json: Path
    contact_sheet: Path
    backend: str


def check_point_in_scene(scene: SceneMesh, point: np.ndarray, margin: float = 0.15) -> None:
    """InputError when ``point`` lies outside the scene's bounding box grown by ``margin`` metres."""
    lo, hi = scene.bounds.astype(np.float64)
    p = np.asarray(point, np.float64)
    if np.any(p < lo - margin) or np.any(p > hi + margin):
        raise InputError(
            f"point {format_point(p)} is outside the scene, whose bounds are {format_point(lo)} to {format_point(hi)} "
            f"(metres, +Z up): give a point on a surface of the scene"
        )


def parse_eyes(texts: list[str] | tuple[str, ...]) -> np.ndarray | None:
    """``["x,y,z", ...]`` -> (k, 3), or None when empty."""
    if not texts:
        return None
    out = []
    for t in texts:
        parts = [s for s in re.split(r"[,\s]+", str(t).strip()) if s]
        try:
            xyz = [float(s) for s in parts]
        except ValueError:
            xyz = []
        if len(xyz) != 3 or not np.all(np.isfinite(xyz)):
            raise InputError(f"--eyes entry {t!r} is not three numbers x,y,z (metres)")
        out.append(xyz)
    return np.array(out)


def write_views(
    scene: SceneMesh,
    point: np.ndarray,
    out: Path,
    cfg: ViewSelectionConfig | None = None,
    eyes: np.ndarray | None = None,
    renderer=None,
    settings=None,
) -> ViewsResult:
    """Select views (or use ``eyes``), render them and write the output folder (module docstring)."""
    from inhabit.progress import track
    from inhabit.render.mesh import RenderSettings, default_renderer
    from inhabit.render.sheets import contact_sheet

    cfg = cfg or ViewSelectionConfig()
    check_point_in_scene(scene, point, margin=cfg.patch_radius)
    renderer = renderer or default_renderer()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"output folder {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / CAMERAS_NAME).unlink(missing_ok=True)

    sel = select_views(scene, point, cfg, renderer=renderer, eyes=eyes)
    # 2x supersampling costs little with GL and 4x the rays with the ray caster.
    st = settings or RenderSettings(supersample=2 if renderer.backend_name == "gl" else 1)
    images, pictures = [], []
    for cam in track(sel.cameras, desc="render views", total=len(sel.cameras)):
        r = renderer.render(cam, scene, passes=("rgb",), settings=st)
        path = write_image(out / f"{cam.name}.png", r.rgb)
        images.append(path)
        pictures.append(r.rgb)
    keep = {p.name for p in images}
    for f in out.iterdir():
        if _VIEW_PNG.match(f.name) and f.name not in keep:
            f.unlink()
    labels = [f"{c.name}  {v:.2f}" for c, v in zip(sel.cameras, sel.vis_ratio)]
    sheet = write_image(out / SHEET_NAME, contact_sheet(pictures, labels))
    extra = {
        "normal": [float(x) for x in sel.normal],
        "t0": [float(x) for x in sel.t0],
        "patch_radius": cfg.patch_radius,
        "selection": "explicit" if eyes is not None else "genzi",
        "scene": str(scene.source) if scene.source is not None else scene.name,
    }
    cj = write_cameras_json(out / CAMERAS_NAME, sel.cameras, sel.point, images=[p.name for p in images], extra=extra)
    return ViewsResult(sel, images, cj, sheet, renderer.backend_name)


def run(args) -> int:
    """``inhabit views`` (arguments: :class:`inhabit.cli.Views`)."""
    from inhabit.scene.load import parse_point, resolve_scene

    scene = resolve_scene(str(args.scene), up_axis=args.up_axis, scale=args.scale)
    point = parse_point(args.at, scene)
    cfg = ViewSelectionConfig(max_views=args.num_views, image_size=args.size)
    eyes = parse_eyes(getattr(args, "eyes", ()) or ())
    res = write_views(scene, point, Path(args.out), cfg, eyes=eyes)
    sel = res.selection
    print(
        f"{len(sel.cameras)} views of point {format_point(sel.point)} (normal {format_point(sel.normal)}, "
        f"visible fraction {sel.vis_ratio.min():.2f}–{sel.vis_ratio.max():.2f}, {res.backend} renderer) "
        f"written to {Path(args.out)}"
    )
    return 0
