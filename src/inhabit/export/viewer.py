"""``inhabit view RUN``: the scene, the bodies and the cameras of a pose run in a web browser.

Uses viser (Apache-2.0, the ``viewer`` extra: ``pip install "inhabit[viewer]"``), imported only
here and only when a viewer starts. The page shows

* the scene (textures and colours kept), world +Z up as in inhabit;
* the chosen body (``result.npz``) and every hypothesis of every stage
  (``stage*/lift/*/result.npz``), each with a checkbox (and, for ``inhabit demo`` runs, the known
  body the hypotheses were rendered from);
* the cameras as frustums (OpenCV convention, as in ``cameras.json``) coloured from red (view
  weight 0) to green (weight 1) by the chosen body's learnt view weights, labelled with the
  name and weight, with the scene render of each view on its far plane;
* the interaction point.

:func:`load_run_content` reads the run folder (no body model, no renderer);
:func:`start_viewer` serves it and returns at once; ``run`` blocks until Ctrl-C.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.errors import InputError

FINAL_COLOR = (235, 130, 60)
TRUTH_COLOR = (60, 200, 90)
HYPOTHESIS_COLORS = ((80, 150, 230), (120, 200, 120), (190, 120, 220), (230, 200, 80))


@dataclass
class ViewerBody:
    """A body to show: ``vertices (V,3)``, ``faces (F,3)`` in the world frame."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    color: tuple[int, int, int]
    visible: bool = True
    opacity: float | None = None


@dataclass
class ViewerContent:
    """Everything the viewer shows (world frame, +Z up, metres)."""

    scene: Any = None
    bodies: list[ViewerBody] = field(default_factory=list)
    cameras: list = field(default_factory=list)
    view_weights: np.ndarray | None = None
    view_images: list[np.ndarray | None] = field(default_factory=list)
    point: np.ndarray | None = None
    title: str = "inhabit"


def import_viser():
    """The viser module, or an InputError saying how to install it."""
    try:
        import viser
    except ImportError:
        raise InputError('the viewer needs viser, which is not installed; run `pip install "inhabit[viewer]"` '
                         "(or `pip install viser`)") from None
    return viser


def load_run_content(run: str | Path, load_scene: bool = True) -> ViewerContent:
    """Read a pose run folder into a :class:`ViewerContent`.

    Raises:
        InputError: the folder is missing or holds no result.npz.
    """
    from inhabit.export.results import load_result

    root = Path(run)
    if not root.is_dir():
        raise InputError(f"run folder {root} does not exist")
    results = sorted(root.glob("stage*/lift/*/result.npz"))
    if not (root / "result.npz").is_file() and not results:
        raise InputError(f"{root} holds no result.npz; expected the folder of an `inhabit pose` run")
    content = ViewerContent(title=f"inhabit: {root.name}")
    cfg = _read_yaml(root / "config.yaml")
    inputs = cfg.get("inputs", {}) if isinstance(cfg, dict) else {}
    scene_spec = (cfg.get("scene") or inputs.get("scene") or {}) if isinstance(cfg, dict) else {}
    if load_scene and scene_spec.get("path"):
        from inhabit.scene.load import resolve_scene

        content.scene = resolve_scene(scene_spec["path"], up_axis=scene_spec.get("up_axis", "z"),
                                      scale=float(scene_spec.get("scale", 1.0)))
    if inputs.get("point"):
        content.point = np.asarray(inputs["point"], np.float64)
    if (root / "result.npz").is_file():
        final = load_result(root / "result.npz")
        content.bodies.append(ViewerBody("final", final.vertices, final.faces, FINAL_COLOR, True))
        content.view_weights = final.view_weights
    truth = root / "truth" / "known_body.npz"  # `inhabit demo`: the body the hypotheses were rendered from
    if truth.is_file():
        t = load_result(truth)
        content.bodies.append(ViewerBody("truth", t.vertices, t.faces, TRUTH_COLOR, True, 0.5))
    for i, p in enumerate(results):
        r = load_result(p)
        stage = p.parent.parent.parent.name
        content.bodies.append(ViewerBody(f"{stage}/{p.parent.name}", r.vertices, r.faces,
                                         HYPOTHESIS_COLORS[i % len(HYPOTHESIS_COLORS)], False, 0.6))
    cj = root / "views" / "cameras.json"
    if cj.is_file():
        from inhabit.camera.io import read_cameras_json
        from inhabit.io import read_image

        cs = read_cameras_json(cj, require_images=False)
        content.cameras = cs.cameras
        content.view_images = [read_image(p) if p is not None and p.is_file() else None for p in cs.image_paths]
        if content.point is None and cs.look_at is not None:
            content.point = cs.look_at
    return content


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def weight_color(w: float | None) -> tuple[int, int, int]:
    """Red (0) → yellow → green (1); grey for an unknown weight."""
    if w is None or not np.isfinite(w):
        return (128, 128, 128)
    w = float(np.clip(w, 0.0, 1.0))
    return (round(255 * min(1.0, 2 * (1 - w))), round(255 * min(1.0, 2 * w)), 40)


def rotmat_to_wxyz(R: np.ndarray) -> np.ndarray:
    """(3, 3) rotation → (4,) unit quaternion, scalar first (viser's ``wxyz``)."""
    import roma
    import torch

    q = roma.rotmat_to_unitquat(torch.as_tensor(np.asarray(R, np.float64)))  # xyzw
    return np.array([q[3].item(), q[0].item(), q[1].item(), q[2].item()])


def start_viewer(content: ViewerContent, host: str = "127.0.0.1", port: int = 8080, verbose: bool = False):
    """Serve ``content`` with viser and return the running ``viser.ViserServer`` (call ``.stop()``)."""
    viser = import_viser()
    server = viser.ViserServer(host=host, port=port, label=content.title, verbose=verbose)
    server.scene.set_up_direction("+z")
    handles: dict[str, list] = {"scene": [], "cameras": []}
    if content.scene is not None:
        from inhabit.export.glb import part_to_trimesh

        for i, part in enumerate(content.scene.parts):
            handles["scene"].append(server.scene.add_mesh_trimesh(f"/scene/{i:03d}_{part.name}", part_to_trimesh(part)))
    body_handles = {}
    for b in content.bodies:
        body_handles[b.name] = server.scene.add_mesh_simple(
            f"/bodies/{b.name}", np.asarray(b.vertices, np.float32), np.asarray(b.faces, np.uint32), color=b.color,
            opacity=b.opacity, visible=b.visible, side="double")
    for v, cam in enumerate(content.cameras):
        w = None if content.view_weights is None or v >= len(content.view_weights) else float(content.view_weights[v])
        T = cam.T_world_cam
        wxyz, pos = rotmat_to_wxyz(T[:3, :3]), T[:3, 3]
        img = content.view_images[v] if v < len(content.view_images) else None
        handles["cameras"].append(server.scene.add_camera_frustum(
            f"/cameras/{cam.name}", fov=np.deg2rad(cam.fov_y_deg), aspect=cam.width / cam.height, scale=0.25,
            color=weight_color(w), image=None if img is None else _small(img), wxyz=wxyz, position=pos))
        handles["cameras"].append(server.scene.add_label(
            f"/cameras/{cam.name}/label", cam.name if w is None else f"{cam.name} w={w:.2f}", position=(0.0, 0.0, 0.0)))
    if content.point is not None:
        server.scene.add_icosphere("/point", radius=0.03, color=(230, 30, 30), position=tuple(content.point))

    with server.gui.add_folder("Show"):
        for key, label in (("scene", "scene"), ("cameras", "cameras")):
            if handles[key]:
                cb = server.gui.add_checkbox(label, initial_value=True)
                cb.on_update(_toggler(cb, handles[key]))
        for b in content.bodies:
            cb = server.gui.add_checkbox(b.name, initial_value=b.visible)
            cb.on_update(_toggler(cb, [body_handles[b.name]]))
    return server


def _toggler(cb, handles):
    def update(_event) -> None:
        for h in handles:
            h.visible = bool(cb.value)

    return update


def _small(img: np.ndarray, side: int = 160) -> np.ndarray:
    from inhabit.export.figures import shrink

    return np.ascontiguousarray(shrink(img, side))


def run(args) -> int:
    """``inhabit view RUN`` (arguments: :class:`inhabit.cli.View`): serve until Ctrl-C."""
    import_viser()
    content = load_run_content(args.run)
    server = start_viewer(content, host=args.host, port=int(args.port))
    print(f"inhabit view: http://{'localhost' if args.host in ('127.0.0.1', '0.0.0.0') else args.host}:"
          f"{server.get_port()}  ({len(content.bodies)} bodies, {len(content.cameras)} cameras; Ctrl-C to stop)")
    try:
        server.sleep_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
