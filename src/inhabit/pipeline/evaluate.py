"""``inhabit eval RUN [RUN ...]``: every metric that applies, per run and in one table.

Thin orchestration over :mod:`inhabit.evaluate` (the metrics) and :mod:`inhabit.export.results`
(the formats):

1. :func:`discover` turns each argument into an :class:`EvalUnit` (one row of the table): a pose run
   (every ``result.npz`` below it: all hypotheses and stages), a motion run (``motion.npz``), a single
   file, or another tool's bodies (GenZI ``smplx.pkl`` folders, SMPL-X parameter ``.npz``/``.pkl``,
   plain vertex arrays; see :mod:`inhabit.evaluate.foreign`).
2. :func:`evaluate_units` computes the metrics, with the scene SDF, the CLIP model and the renderer
   supplied by providers, so the same code runs in tests with an analytic SDF.
3. :func:`write_reports` writes ``metrics.json`` per run (inside inhabit run folders, else under
   ``--out``) and ``metrics.md`` / ``metrics.csv`` / ``metrics.json`` across runs into ``--out``.

Metrics that cannot be computed (no scene, no CLIP weights, no frame rate) are skipped with a note
in the output, never estimated.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.config import resolve_device
from inhabit.conventions import BODY_JOINT_NAMES
from inhabit.errors import InhabitError, InputError, MissingWeightsError
from inhabit.evaluate import semantic
from inhabit.evaluate.physical import SDF
from inhabit.evaluate.suite import (
    DEFAULT_SETTINGS,
    EvalSettings,
    Metrics,
    MovingObject,
    motion_clip_metrics,
    motion_metrics,
    motion_set_metrics,
    pose_body_metrics,
    pose_set_metrics,
)

METRICS_FORMAT = "inhabit.metrics/1"
DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"
OWN_FILES = ("result.npz", "motion.npz")
FOREIGN_FILES = ("smplx.pkl", "smplx.npz")

# Columns of the cross-run table, in order (metrics.json holds every value).
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("num_results", "n"),
    ("clip_mean_of_all", "CLIP all"),
    ("clip_mean_of_max", "CLIP max"),
    ("non_collision", "non-coll."),
    ("contact", "contact"),
    ("entropy_20", "Ent@20"),
    ("cluster_size_20", "CS@20"),
    ("entropy_50", "Ent@50"),
    ("cluster_size_50", "CS@50"),
    ("num_frames", "frames"),
    ("clip_score", "CLIP"),
    ("clip_consistency", "CLIP cons."),
    ("diversity", "div. m"),
    ("pene_pct", "pene %"),
    ("pene_mean", "pene mean m"),
    ("pene_max", "pene max m"),
    ("depth_max", "depth max m"),
    ("foot_sliding", "FS cm/fr"),
    ("contact_ratio", "hand-obj"),
    ("pene_obj", "pene obj m"),
    ("obj_scene_depth_max", "obj-scene m"),
)


# --------------------------------------------------------------------------------------------
# What gets evaluated


@dataclass(frozen=True)
class SceneSpec:
    """Where the scene of a run comes from: ``spec`` is a path or ``demo:<name>``."""

    spec: str
    up_axis: str = "z"
    scale: float = 1.0


@dataclass
class EvalItem:
    """One body (pose) or one sequence (motion), whatever file it came from.

    Arrays: ``vertices`` (V,3) or (T,V,3); ``joints`` (J,3)/(T,J,3) named by ``joint_names``;
    ``faces`` (F,3); ``body_pose_smplx`` (21,3) for poses; ``T_world_cam`` (T,4,4), ``K`` (3,3);
    ``object_vertices`` (N,3) in the object frame with ``object_faces`` and ``object_pose`` (T,4,4).
    """

    path: Path
    label: str
    kind: str  # "pose" | "motion"
    vertices: np.ndarray
    faces: np.ndarray | None = None
    joints: np.ndarray | None = None
    joint_names: tuple[str, ...] = BODY_JOINT_NAMES
    body_model: str = "unknown"
    body_pose_smplx: np.ndarray | None = None
    params: dict[str, np.ndarray] = field(default_factory=dict)
    fps: float | None = None
    group: str = ""
    prompt: str | None = None
    T_world_cam: np.ndarray | None = None
    K: np.ndarray | None = None
    object_vertices: np.ndarray | None = None
    object_faces: np.ndarray | None = None
    object_pose: np.ndarray | None = None
    input_key: str = ""


@dataclass
class EvalUnit:
    """One row of the table: a run folder, a file, or another tool's folder."""

    label: str
    root: Path
    items: list[EvalItem]
    own_run: bool = False
    config: dict = field(default_factory=dict)
    scene: SceneSpec | None = None
    cameras_json: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        kinds = sorted({i.kind for i in self.items})
        return "+".join(kinds) if kinds else "empty"


@dataclass
class UnitReport:
    """The metrics of one unit: its summary row, each item's own numbers, how the scene was measured."""

    unit: EvalUnit
    summary: Metrics
    per_item: list[tuple[EvalItem, Metrics]]
    scene_description: str | None = None


# --------------------------------------------------------------------------------------------
# Discovery


def _read_config(folder: Path, stop: Path | None = None, levels: int = 3) -> tuple[dict, Path | None]:
    """The nearest ``config.yaml`` at or above ``folder`` (at most ``levels`` up)."""
    import yaml

    cur = folder
    for _ in range(levels + 1):
        cfg = cur / "config.yaml"
        if cfg.is_file():
            try:
                data = yaml.safe_load(cfg.read_text()) or {}
            except yaml.YAMLError as e:
                raise InputError(f"run config {cfg} is not valid YAML ({e.__class__.__name__})") from None
            if not isinstance(data, dict):
                raise InputError(f"run config {cfg} is not a mapping of settings")
            return data, cfg
        if (stop is not None and cur == stop) or cur.parent == cur:
            break
        cur = cur.parent
    return {}, None


def cfg_get(cfg: dict, key: str, default: Any = None) -> Any:
    """``cfg[key]``, else the first ``section[key]`` one level down (configs group settings by stage)."""
    if key in cfg:
        return cfg[key]
    for v in cfg.values():
        if isinstance(v, dict) and key in v:
            return v[key]
    return default


def scene_from_config(cfg: dict, cfg_path: Path | None) -> SceneSpec | None:
    """The scene a run names: ``scene: PATH`` (with ``up_axis``/``scale`` beside it) or
    ``scene: {path, up_axis, scale}``, at the top level or one section down; relative paths are
    taken from the config's folder."""
    entry = cfg_get(cfg, "scene")
    up, scale = cfg_get(cfg, "up_axis", "z"), cfg_get(cfg, "scale", 1.0)
    if isinstance(entry, dict):
        up, scale = entry.get("up_axis", up), entry.get("scale", scale)
        entry = entry.get("path") or entry.get("spec") or entry.get("mesh")
    if not entry:
        return None
    spec = str(entry)
    if not spec.startswith("demo:") and cfg_path is not None and not Path(spec).is_absolute():
        cand = cfg_path.parent / spec
        if cand.exists():
            spec = str(cand)
    return SceneSpec(spec, str(up or "z"), float(scale or 1.0))


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def discover(
    paths: Sequence[Path],
    allow_pickle: bool = False,
    smplx_dir: Path | None = None,
    fps: float | None = None,
    stage: int | None = None,
) -> list[EvalUnit]:
    """One :class:`EvalUnit` per argument (see the module docstring).

    Args:
        paths: run folders, result files or other tools' files/folders.
        allow_pickle: read ``.pkl`` files (they can run code).
        smplx_dir: SMPL-X model folder, to pose parameter-only bodies.
        fps: frame rate of motions whose file states none.
        stage: inside folders, keep only results of this stage: the last ``stageNNN`` token of the
            result's folder names (GenZI's rule, e.g. ``stage000_inpaint1_stage001_inpaint0`` is
            stage 1), or ``extra/stage`` of an inhabit result.

    Raises:
        InputError: a path that does not exist or holds nothing to evaluate (one sentence).
    """
    if not paths:
        raise InputError("inhabit eval needs at least one run folder or result file to evaluate")
    units: list[EvalUnit] = []
    seen: dict[str, int] = {}
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError(f"{p} does not exist; expected a run folder, a result.npz/motion.npz or a body file")
        if p.is_dir():
            unit = _discover_dir(p, allow_pickle, smplx_dir, fps, stage)
        else:
            unit = _discover_file(p, allow_pickle, smplx_dir, fps)
        base = unit.label
        if base in seen:
            seen[base] += 1
            unit.label = f"{base}#{seen[base]}"
        else:
            seen[base] = 1
        units.append(unit)
    return units


def result_stage(path: Path, root: Path) -> int | None:
    """GenZI's stage of a result: the last ``stageNNN`` token in its folder names below ``root``."""
    tokens = re.findall(r"stage(\d+)", _rel(path.parent, root)) if path.parent != root else []
    return int(tokens[-1]) if tokens else None


def _discover_dir(root: Path, allow_pickle: bool, smplx_dir: Path | None, fps: float | None,
                  stage: int | None = None) -> EvalUnit:
    cfg, cfg_path = _read_config(root, levels=0)
    files = sorted(f for name in OWN_FILES for f in root.rglob(name))
    # a run's top-level result.npz is a copy of its chosen hypothesis (extra/copy_of): count it once
    files = [f for f in files if not _is_copy(f)]
    if stage is not None:
        files = [f for f in files if _own_stage(f, root) == stage]
    unit = EvalUnit(label=_label(root), root=root, items=[], config=cfg, scene=scene_from_config(cfg, cfg_path))
    if files:
        unit.own_run = True
        # the generation views: views/cameras.json in a pose run, else the shallowest cameras.json
        cams = sorted(root.rglob("cameras.json"), key=lambda c: (c.parent.name != "views", len(c.parts), str(c)))
        unit.cameras_json = cams[0] if cams else None
        for f in files:
            unit.items.append(_own_item(f, root, cfg))
        return unit
    foreign = sorted(f for name in FOREIGN_FILES for f in root.rglob(name))
    if stage is not None:
        foreign = [f for f in foreign if result_stage(f, root) == stage]
    if not foreign:
        which = "" if stage is None else f" of stage {stage}"
        raise InputError(f"{root} holds no result.npz, motion.npz or smplx.pkl/smplx.npz files{which} to evaluate")
    for f in foreign:
        unit.items.extend(_foreign_items(f, root, allow_pickle, smplx_dir, fps))
    return unit


def _is_copy(path: Path) -> bool:
    """True for a result that says it copies another one that exists (``extra/copy_of``)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "extra/copy_of" not in z.files:
                return False
            target = str(z["extra/copy_of"])
    except (OSError, ValueError):
        return False
    return bool(target) and (path.parent / target).is_file()


def _own_stage(path: Path, root: Path) -> int | None:
    from inhabit.export.results import read_npz_arrays

    if path.name == "result.npz":
        extra = read_npz_arrays(path).get("extra/stage")
        if extra is not None and extra.ndim == 0:
            return int(extra)
    return result_stage(path, root)


def _discover_file(path: Path, allow_pickle: bool, smplx_dir: Path | None, fps: float | None) -> EvalUnit:
    from inhabit.export.results import result_kind

    cfg, cfg_path = _read_config(path.parent, levels=2)
    unit = EvalUnit(label=_label(path), root=path.parent, items=[], config=cfg, scene=scene_from_config(cfg, cfg_path))
    if path.suffix == ".npz" and result_kind(path) is not None:
        unit.items.append(_own_item(path, path.parent, cfg))
    else:
        unit.items.extend(_foreign_items(path, path.parent, allow_pickle, smplx_dir, fps))
    return unit


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return path.name


def _input_key(cfg: dict, item_extra: dict, fallback: str) -> str:
    scene = cfg_get(cfg, "scene")
    prompt = item_extra.get("prompt", cfg_get(cfg, "prompt"))
    init = item_extra.get("init", cfg_get(cfg, "init"))
    if scene is None and prompt is None and init is None:
        return fallback
    return json.dumps({"scene": scene, "prompt": prompt, "init": init}, sort_keys=True, default=str)


def _own_item(path: Path, root: Path, cfg: dict) -> EvalItem:
    from inhabit.export.results import load_motion, load_result, result_kind

    kind = result_kind(path)
    if kind == "motion":
        m = load_motion(path)
        return EvalItem(
            path=path, label=_rel(path, root), kind="motion", vertices=m.vertices, faces=m.faces, joints=m.joints,
            joint_names=m.joint_names, body_model=m.body_model, params=m.params, fps=m.fps,
            prompt=str(m.extra.get("prompt", cfg_get(cfg, "prompt", "")) or "") or None,
            T_world_cam=m.T_world_cam, K=m.K, object_vertices=m.object_vertices, object_faces=m.object_faces,
            object_pose=m.object_pose, group=str(m.extra.get("interaction", _label(root))),
            input_key=_input_key(cfg, m.extra, _label(root)),
        )
    r = load_result(path)
    pose = r.body_pose_smplx
    if pose is None and r.body_model == "smplx" and np.asarray(r.params.get("body_pose", [])).size == 63:
        pose = np.asarray(r.params["body_pose"]).reshape(21, 3)
    prompt = r.extra.get("prompt", cfg_get(cfg, "prompt"))
    group = r.extra.get("interaction") or r.extra.get("prompt_id") or prompt or _label(root)
    return EvalItem(
        path=path, label=_rel(path, root), kind="pose", vertices=r.vertices, faces=r.faces, joints=r.joints,
        joint_names=r.joint_names, body_model=r.body_model, body_pose_smplx=pose, params=r.params,
        prompt=str(prompt) if prompt else None, group=f"{_label(root)}:{group}",
    )


def _foreign_items(path: Path, root: Path, allow_pickle: bool, smplx_dir: Path | None,
                   fps: float | None) -> list[EvalItem]:
    from inhabit.evaluate.foreign import read_foreign

    fb = read_foreign(path, allow_pickle=allow_pickle, smplx_dir=smplx_dir, fps=fps)
    meta = fb.meta
    prompt = meta.get("prompt")
    if prompt and meta.get("prompt_prefix"):
        prompt = f"{meta['prompt_prefix']}, {prompt}"  # GenZI scores "prefix, prompt"
    # GenZI's layout: {scene}/{prompt_id}/stage.../smplx.pkl -> one interaction per prompt folder
    group = "/".join(x for x in (meta.get("scene_name"), meta.get("prompt_id")) if x) or _rel(path.parent, root)
    label = _rel(path, root)
    if fb.is_sequence:
        return [EvalItem(path=path, label=label, kind="motion", vertices=fb.vertices, faces=fb.faces,
                         joints=fb.joints, body_model="smplx" if fb.smplx_params else "vertices",
                         params=fb.smplx_params, fps=fb.fps, prompt=prompt, group=group,
                         input_key=f"{_label(root)}:{group}")]
    items = []
    for i in range(fb.count):
        items.append(EvalItem(
            path=path, label=label if fb.count == 1 else f"{label}[{i}]", kind="pose", vertices=fb.vertices[i],
            faces=fb.faces, joints=None if fb.joints is None else fb.joints[i],
            body_model="smplx" if fb.smplx_params else "vertices",
            body_pose_smplx=None if fb.body_pose_smplx is None else fb.body_pose_smplx[i],
            params={k: v[i] for k, v in fb.smplx_params.items()}, prompt=prompt, group=f"{_label(root)}:{group}",
        ))
    return items


# --------------------------------------------------------------------------------------------
# Providers: scene, CLIP, renderer, body-model knowledge


@dataclass
class LoadedScene:
    """A scene ready for the metrics: the SDF callable and (for CLIP renders) the mesh."""

    sdf: SDF
    mesh: Any | None = None
    description: str = ""


SceneProvider = Callable[[SceneSpec], LoadedScene]


class ClipBackend:
    """Image and text embeddings from :class:`inhabit.imagine.clip.ClipScorer` (or any object with
    ``image_features(images) -> (N, D)`` and ``text_features(texts) -> (M, D)``)."""

    def __init__(self, scorer: Any, model_id: str):
        self.scorer = scorer
        self.model_id = model_id

    def embed_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(N, D) embeddings of N (H, W, 3) uint8 images."""
        return _as_np(self.scorer.image_features(list(images)))

    def embed_text(self, text: str) -> np.ndarray:
        """(D,) embedding of one text."""
        return _as_np(self.scorer.text_features([text]))[0]


def _as_np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def default_scene_provider(sdf_grid: Path | None = None) -> SceneProvider:
    """Scenes through :mod:`inhabit.scene`: exact mesh signed distance (warp winding-number sign),
    or GenZI's SDF grid JSON when ``sdf_grid`` is given (to reproduce its numbers)."""
    cache: dict[SceneSpec, LoadedScene] = {}

    def provide(spec: SceneSpec) -> LoadedScene:
        if spec in cache:
            return cache[spec]
        try:
            from inhabit.scene.load import resolve_scene
        except ImportError as e:
            raise InputError(f"scene loading is not available in this installation ({e})") from None
        mesh = resolve_scene(spec.spec, up_axis=spec.up_axis, scale=spec.scale)
        if sdf_grid is not None:
            from inhabit.scene.sdf import load_genzi_sdf

            sdf = load_genzi_sdf(sdf_grid)
            desc = f"SDF grid {sdf_grid}"
        else:
            from inhabit.scene.sdf import MeshSDF

            sdf = MeshSDF(mesh)  # the scene itself: its geometry hash keys the cached BVH
            desc = "exact mesh signed distance"
        cache[spec] = LoadedScene(sdf=sdf, mesh=mesh, description=desc)
        return cache[spec]

    return provide


def mesh_sdf(vertices: np.ndarray, faces: np.ndarray) -> SDF:
    """An exact SDF callable of a triangle mesh (:class:`inhabit.scene.sdf.MeshSDF`)."""
    from inhabit.scene.sdf import MeshSDF

    return MeshSDF(np.asarray(vertices, np.float32), np.asarray(faces, np.int64))


def default_clip_backend(model_id: str = DEFAULT_CLIP_MODEL, device: str = "cpu",
                         allow_download: bool = False) -> tuple[ClipBackend | None, str]:
    """The CLIP model, or None and the sentence saying why it is unavailable (downloads only when
    ``allow_download``, the user's explicit choice)."""
    try:
        from inhabit.imagine.clip import ClipScorer
    except ImportError as e:
        return None, f"CLIP metrics skipped: the CLIP scorer is not available in this installation ({e})"
    try:
        scorer = ClipScorer(model_id, device=device, allow_download=allow_download)
    except MissingWeightsError as e:
        return None, f"CLIP metrics skipped: {e}"
    return ClipBackend(scorer, model_id), ""


_HAND_PARTS: dict[tuple[str, int], np.ndarray | None] = {}


def hand_mask_for(body_model: str, num_vertices: int, smplx_dir: Path | None = None) -> np.ndarray | None:
    """(V,) bool hand vertices from the backend's part labels (``inhabit.body.parts``), or None when
    the backend cannot be loaded here (the geometric fallback is then used)."""
    key = (body_model, num_vertices)
    if key in _HAND_PARTS:
        return _HAND_PARTS[key]
    mask = None
    if body_model in ("anny", "smplx"):
        try:
            from inhabit.body import load_body_model
            from inhabit.body.parts import part_mask

            kw = {"model_path": smplx_dir} if body_model == "smplx" and smplx_dir is not None else {}
            model = load_body_model(body_model, **kw)
            m = part_mask(model, "left_hand", "right_hand").cpu().numpy()
            if m.shape[0] == num_vertices:
                mask = m
        except (ImportError, InhabitError, TypeError, AttributeError, OSError):
            mask = None
    _HAND_PARTS[key] = mask
    return mask


def smplx_pose_for(item: EvalItem) -> np.ndarray | None:
    """The SMPL-X-style (21, 3) pose of a result that does not store it, through its backend."""
    if item.body_pose_smplx is not None:
        return item.body_pose_smplx
    if item.body_model != "anny" or "body_pose" not in item.params:
        return None
    try:
        import torch

        model = _cached_model(item.body_model)
        with torch.no_grad():
            bp = torch.as_tensor(np.asarray(item.params["body_pose"], np.float32)).reshape(1, -1).to(model.dtype)
            return model.body_pose_to_smplx_rotvec(bp)[0].cpu().numpy()
    except (ImportError, InhabitError, TypeError, AttributeError, OSError, RuntimeError):
        return None


_MODELS: dict[str, Any] = {}


def _cached_model(name: str) -> Any:
    from inhabit.body import load_body_model

    if name not in _MODELS:
        _MODELS[name] = load_body_model(name)
    return _MODELS[name]


# --------------------------------------------------------------------------------------------
# CLIP through renders


def _pose_clip_scores(unit: EvalUnit, poses: list[EvalItem], scene: LoadedScene | None, clip: ClipBackend,
                      notes: list[str]) -> list[float | None]:
    """GenZI: render scene + body from the generation views, mean cosine to the prompt per result."""
    scores: list[float | None] = [None] * len(poses)
    if scene is None or scene.mesh is None:
        notes.append("CLIP score skipped: renders need the scene mesh (the run names no scene)")
        return scores
    if unit.cameras_json is None:
        notes.append("CLIP score skipped: no cameras.json with the generation views in the run")
        return scores
    try:
        from inhabit.camera.io import read_cameras_json
        from inhabit.render.mesh import default_renderer, mesh_from_arrays, render_human_in_scene
    except ImportError as e:
        notes.append(f"CLIP score skipped: rendering is not available ({e})")
        return scores
    cameras = read_cameras_json(unit.cameras_json, require_images=False).cameras
    renderer = default_renderer()
    scene_renders = [renderer.render(c, scene.mesh, ("rgb", "depth")) for c in cameras]
    text_cache: dict[str, np.ndarray] = {}
    for i, item in enumerate(poses):
        if not item.prompt:
            continue
        if item.faces is None:
            continue
        human = mesh_from_arrays(item.vertices, item.faces)
        images = [render_human_in_scene(c, scene.mesh, human, renderer, sr).rgb for c, sr in zip(cameras, scene_renders)]
        if item.prompt not in text_cache:
            text_cache[item.prompt] = clip.embed_text(item.prompt)
        scores[i] = semantic.result_clip_score(semantic.clip_cosine(clip.embed_images(images), text_cache[item.prompt]))
    missing = sum(s is None for s in scores)
    if missing:
        notes.append(f"CLIP score skipped for {missing} of {len(poses)} results (no prompt or no faces)")
    return scores


def _motion_clip(item: EvalItem, scene: LoadedScene | None, clip: ClipBackend, notes: list[str]) -> Metrics:
    """ZeroHSI: render every frame from the tracked camera, CLIP score and consistency."""
    if scene is None or scene.mesh is None:
        notes.append("CLIP metrics skipped: renders need the scene mesh")
        return Metrics()
    if item.T_world_cam is None or item.K is None or item.faces is None or not item.prompt:
        notes.append("CLIP metrics skipped: the motion has no camera (T_world_cam, K), faces or prompt")
        return Metrics()
    try:
        from inhabit.camera.pinhole import Camera, invert_rigid
        from inhabit.render.mesh import default_renderer, mesh_from_arrays, render_human_in_scene
    except ImportError as e:
        notes.append(f"CLIP metrics skipped: rendering is not available ({e})")
        return Metrics()
    W, H = max(1, round(2 * item.K[0, 2])), max(1, round(2 * item.K[1, 2]))
    renderer = default_renderer()
    images = []
    obj = None
    for t in range(len(item.vertices)):
        cam = Camera(item.K, invert_rigid(item.T_world_cam[t]), W, H, name=f"frame{t:04d}")
        meshes: list[Any] = [scene.mesh]
        if item.object_vertices is not None and item.object_faces is not None:
            pose = item.object_pose[t] if item.object_pose is not None else np.eye(4)
            obj = mesh_from_arrays(item.object_vertices @ pose[:3, :3].T + pose[:3, 3], item.object_faces, name="object")
            meshes.append(obj)
        human = mesh_from_arrays(item.vertices[t], item.faces)
        images.append(render_human_in_scene(cam, meshes, human, renderer).rgb)
    return motion_clip_metrics(clip.embed_images(images), clip.embed_text(item.prompt))


# --------------------------------------------------------------------------------------------
# Evaluation


def evaluate_units(
    units: Sequence[EvalUnit],
    settings: EvalSettings = DEFAULT_SETTINGS,
    scene_provider: SceneProvider | None = None,
    fallback_scene: SceneSpec | None = None,
    clip: ClipBackend | None = None,
    clip_note: str = "",
    smplx_dir: Path | None = None,
) -> list[UnitReport]:
    """Compute every metric that applies to each unit (plus ZeroHSI diversity across units).

    Args:
        units: from :func:`discover`.
        scene_provider: turns a :class:`SceneSpec` into a :class:`LoadedScene` (None: no physical
            metrics).
        fallback_scene: the scene of units whose run names none (``--scene``).
        clip: CLIP embeddings, or None (then ``clip_note`` says why CLIP metrics are skipped).
        smplx_dir: SMPL-X model folder (for the part labels of SMPL-X bodies).
    """
    from inhabit.progress import track

    reports = []
    motion_joints: dict[str, list[np.ndarray]] = {}
    for unit in track(units, desc="eval", total=len(units)):
        notes = list(unit.notes)
        scene = None
        spec = unit.scene or fallback_scene
        if spec is None:
            notes.append("physical metrics skipped: the run names no scene (pass --scene)")
        elif scene_provider is None:
            notes.append("physical metrics skipped: no scene loader")
        else:
            try:
                scene = scene_provider(spec)
            except InhabitError as e:
                notes.append(f"physical metrics skipped: {e}")
        sdf = scene.sdf if scene is not None else None
        per_item: list[tuple[EvalItem, Metrics]] = []
        summary = Metrics()
        poses = [i for i in unit.items if i.kind == "pose"]
        motions = [i for i in unit.items if i.kind == "motion"]
        if poses:
            body_metrics = [pose_body_metrics(i.vertices, sdf, settings) for i in track(poses, desc="bodies")]
            clip_scores = None
            if clip is not None:
                clip_scores = _pose_clip_scores(unit, poses, scene, clip, notes)
                for m, s in zip(body_metrics, clip_scores):
                    if s is not None:
                        m.values["clip"] = s
            elif clip_note:
                notes.append(clip_note)
            pose_feats = [smplx_pose_for(i) for i in poses]
            summary.update(pose_set_metrics(body_metrics, pose_feats, [i.group for i in poses], clip_scores, settings))
            per_item.extend(zip(poses, body_metrics))
        for item in motions:
            obj = _moving_object(item, notes)
            hands = hand_mask_for(item.body_model, item.vertices.shape[1], smplx_dir)
            m = motion_metrics(item.vertices, item.joints, item.fps, sdf, item.joint_names, hands, obj, settings)
            if clip is not None:
                m.update(_motion_clip(item, scene, clip, notes))
            elif clip_note:
                m.notes.append(clip_note)
            per_item.append((item, m))
            if item.joints is not None:
                motion_joints.setdefault(item.input_key, []).append(item.joints)
        if motions:
            summary.update(_mean_metrics([m for it, m in per_item if it.kind == "motion"]))
        summary.notes = [n for n in dict.fromkeys(notes + summary.notes)]
        reports.append(UnitReport(unit, summary, per_item, None if scene is None else scene.description))
    # ZeroHSI diversity: sequences generated from the same input, wherever they were passed
    div = {k: motion_set_metrics(v) for k, v in motion_joints.items()}
    for rep in reports:
        keys = {it.input_key for it, _ in rep.per_item if it.kind == "motion"}
        vals = [div[k].values["diversity"] for k in keys if k in div and "diversity" in div[k].values]
        if vals:
            rep.summary.values["diversity"] = float(np.mean(vals))
            rep.summary.values["diversity_sequences"] = float(sum(len(motion_joints[k]) for k in keys if k in div))
        elif keys:
            rep.summary.notes.append("motion diversity skipped: needs at least 2 sequences generated from the "
                                     "same input (pass the runs of several seeds together)")
    return reports


def _moving_object(item: EvalItem, notes: list[str]) -> MovingObject | None:
    if item.object_pose is None and item.object_vertices is None:
        return None
    pose = item.object_pose if item.object_pose is not None else np.tile(np.eye(4), (len(item.vertices), 1, 1))
    if item.object_vertices is None:
        notes.append("object metrics skipped: motion.npz has an object pose but no object mesh "
                     "(object_vertices/object_faces)")
        return MovingObject(sdf=None, T_world_object=pose)
    world = np.einsum("tij,nj->tni", pose[:, :3, :3], item.object_vertices) + pose[:, None, :3, 3]
    try:
        sdf = mesh_sdf(item.object_vertices, item.object_faces)
    except ImportError as e:
        notes.append(f"hand-object metrics skipped: mesh signed distance is not available ({e})")
        sdf = None
    return MovingObject(sdf=sdf, T_world_object=pose, vertices_world=world)


def _mean_metrics(ms: Sequence[Metrics]) -> Metrics:
    out = Metrics()
    keys = dict.fromkeys(k for m in ms for k in m.values)
    for k in keys:
        vals = [m.values[k] for m in ms if k in m.values]
        if k in ("pene_max", "depth_max", "pene_obj_max", "obj_scene_depth_max"):
            out.values[k] = float(np.max(vals))
        elif k == "num_frames":
            out.values[k] = float(np.sum(vals))
        else:
            out.values[k] = float(np.mean(vals))
    for m in ms:
        for n in m.notes:
            if n not in out.notes:
                out.notes.append(n)
    out.values["num_sequences"] = float(len(ms))
    return out


def pooled_pose_report(reports: Sequence[UnitReport], settings: EvalSettings = DEFAULT_SETTINGS) -> Metrics | None:
    """GenZI pools the results of all scenes and interactions: one row over every pose result."""
    items = [(it, m) for r in reports for it, m in r.per_item if it.kind == "pose"]
    if sum(any(it.kind == "pose" for it, _ in r.per_item) for r in reports) < 2:
        return None
    clip = [m.values.get("clip") for _, m in items]
    return pose_set_metrics([m for _, m in items], [smplx_pose_for(it) for it, _ in items],
                            [it.group for it, _ in items], clip if any(c is not None for c in clip) else None, settings)


# --------------------------------------------------------------------------------------------
# Output


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def unit_json(rep: UnitReport, settings: EvalSettings) -> dict:
    u = rep.unit
    return {
        "format": METRICS_FORMAT,
        "run": u.label,
        "kind": u.kind,
        "scene": None if (u.scene is None) else asdict(u.scene),
        "scene_sdf": rep.scene_description,
        "settings": asdict(settings),
        "summary": {k: _clean(v) for k, v in rep.summary.values.items()},
        "notes": rep.summary.notes,
        "items": [
            {"path": it.label, "kind": it.kind, "group": it.group, "body_model": it.body_model,
             "metrics": {k: _clean(v) for k, v in m.values.items()}, "notes": m.notes}
            for it, m in rep.per_item
        ],
    }


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.4g}"
    return str(v)


def table_rows(reports: Sequence[UnitReport], pooled: Metrics | None) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the cross-run table (only columns some run has)."""
    rows_vals = [(r.unit.label, r.unit.kind, r.summary.values) for r in reports]
    if pooled is not None:
        rows_vals.append(("all (pooled)", "pose", pooled.values))
    def get(vals: dict, key: str) -> Any:
        if key == "num_results":  # n: results of a pose run, sequences of a motion run
            return vals.get("num_results", vals.get("num_sequences"))
        return vals.get(key)

    cols = [(k, name) for k, name in TABLE_COLUMNS if any(get(vals, k) is not None for _, _, vals in rows_vals)]
    header = ["run", "kind"] + [name for _, name in cols]
    rows = [[label, kind] + [_fmt(get(vals, k)) for k, _ in cols] for label, kind, vals in rows_vals]
    return header, rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _merge_existing(target: Path, data: dict) -> dict:
    """Keep the sections of an existing run ``metrics.json`` that eval does not compute (the pose
    job's ``job`` block: chosen result, rankings, energies, timings)."""
    if not target.is_file():
        return data
    try:
        old = json.loads(target.read_text())
    except (OSError, ValueError):
        return data
    if not isinstance(old, dict) or old.get("format") != METRICS_FORMAT:
        return data
    return {**{k: v for k, v in old.items() if k not in data}, **data}


def write_reports(reports: Sequence[UnitReport], out: Path, settings: EvalSettings) -> dict[str, Path]:
    """Write ``metrics.json`` per run and the cross-run table (md, csv, json) into ``out``, atomically."""
    from inhabit.io import write_json, write_text

    written: dict[str, Path] = {}
    runs_json = []
    for rep in reports:
        data = unit_json(rep, settings)
        runs_json.append(data)
        if rep.unit.own_run and rep.unit.root.is_dir():
            target = rep.unit.root / "metrics.json"
            data = _merge_existing(target, data)
        else:
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in rep.unit.label).strip("_") or "run"
            target = out / "runs" / safe / "metrics.json"
        written[rep.unit.label] = write_json(target, data)
    pooled = pooled_pose_report(reports, settings)
    header, rows = table_rows(reports, pooled)
    notes = []
    for rep in reports:
        notes += [f"- {rep.unit.label}: {n}" for n in rep.summary.notes]
    md = "# inhabit eval\n\n" + markdown_table(header, rows) + "\n"
    if notes:
        md += "\nNotes:\n\n" + "\n".join(notes) + "\n"
    buf = io.StringIO()
    csv.writer(buf).writerows([header, *rows])
    written["metrics.md"] = write_text(out / "metrics.md", md)
    written["metrics.csv"] = write_text(out / "metrics.csv", buf.getvalue())
    summary = {"format": METRICS_FORMAT, "settings": asdict(settings), "runs": runs_json,
               "pooled_pose": None if pooled is None else {k: _clean(v) for k, v in pooled.values.items()}}
    written["metrics.json"] = write_json(out / "metrics.json", summary)
    return written


# --------------------------------------------------------------------------------------------
# Command


def settings_from_args(args: Any) -> EvalSettings:
    return EvalSettings(
        contact_threshold=float(args.contact_threshold),
        hand_contact_threshold=float(args.hand_contact_threshold),
        floor_z=float(args.floor_z),
        kmeans_ks=tuple(int(k) for k in args.kmeans_k),
        kmeans_seed=int(args.seed),
    )


def run(args: Any) -> int:
    """The ``inhabit eval`` command (arguments: :class:`inhabit.cli.Eval`)."""
    settings = settings_from_args(args)
    units = discover(list(args.runs), allow_pickle=args.allow_pickle, smplx_dir=args.smplx_dir, fps=args.fps,
                     stage=args.stage)
    fallback = SceneSpec(str(args.scene), args.up_axis, float(args.scale)) if args.scene is not None else None
    clip, clip_note = (None, "CLIP metrics skipped: disabled with --no-clip")
    if args.clip:
        clip, clip_note = default_clip_backend(args.clip_model, resolve_device(args.device), args.allow_download)
    provider = default_scene_provider(args.sdf)
    reports = evaluate_units(units, settings, provider, fallback, clip, clip_note, args.smplx_dir)
    written = write_reports(reports, Path(args.out), settings)
    header, rows = table_rows(reports, pooled_pose_report(reports, settings))
    _print_table(header, rows, reports)
    print(f"wrote {written['metrics.md']}, {written['metrics.csv']} and metrics.json per run")
    return 0


def _print_table(header: list[str], rows: list[list[str]], reports: Sequence[UnitReport]) -> None:
    """The table as aligned plain text (readable in logs and narrow terminals), then the notes."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    for rep in reports:
        for n in rep.summary.notes:
            print(f"note: {rep.unit.label}: {n}")
