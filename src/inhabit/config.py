"""Job-level configuration: the pose job's settings composed from the stage configs, named presets,
and YAML load/dump with validation.

A :class:`PoseConfig` is a frozen tree of dataclasses. Each stage keeps its own config class next
to its code (``camera.views.ViewSelectionConfig``, ``imagine.inpaint.InpaintConfig``,
``lift.config.LiftConfig``); this module only composes them, adds the job-level knobs (how many
inpaintings per stage, how many hypotheses survive the ranking, keypoint acceptance, SDF grid,
outputs) and names the presets:

``genzi-sketchfab``
    Every number of the authors' Sketchfab generation config (``genzi_facts.md`` §10): 16 views,
    4 then 2 inpaintings per view, 50 DPM-Solver++ steps, lifting with 4 × 400 iterations and a
    −1 cm penetration tolerance.
``genzi-proxs``
    The same with the PROX-S lifting numbers (threshold 0 m, stronger scene terms, yaw +90°).
``fast``
    A CPU-friendly preset for trying things out: 25 denoising steps, the ``fast`` lifting preset
    (4 × 60 iterations, body initially facing the cameras). Not for results you report.

YAML (:func:`load_config_yaml`, :func:`dump_config_yaml`) holds any subset of the tree; a file
overrides the preset it is applied to field by field, so ``lift: {phase_iters: 100}`` changes one
number and keeps the rest. Unknown fields and values of the wrong type are one-sentence
:class:`~inhabit.errors.InputError` naming the dotted field (``lift.phase_iters``).

Importing this module is cheap and imports no other ``inhabit`` layer: the stage config classes
are imported when a config is first built, so every layer may import :mod:`inhabit.config`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from inhabit.errors import InputError

if TYPE_CHECKING:
    from inhabit.camera.views import ViewSelectionConfig
    from inhabit.imagine.inpaint import InpaintConfig
    from inhabit.lift.config import LiftConfig

POSE_CONFIG_FORMAT = "inhabit.pose-config/1"
"""The ``format`` key of a resolved pose ``config.yaml``."""

DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"
"""GenZI's ranking and evaluation CLIP model."""


def _stage_types() -> dict[str, type]:
    """The stage config classes, imported on first use (keeps this module import-light)."""
    from inhabit.camera.views import ViewSelectionConfig
    from inhabit.imagine.inpaint import InpaintConfig
    from inhabit.lift.config import LiftConfig

    return {"ViewSelectionConfig": ViewSelectionConfig, "InpaintConfig": InpaintConfig, "LiftConfig": LiftConfig}


def _default_views():
    return _stage_types()["ViewSelectionConfig"]()


def _default_inpaint():
    return _stage_types()["InpaintConfig"]()


def _default_lift():
    from inhabit.lift.config import lift_preset

    return lift_preset("genzi-sketchfab")


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when available, else ``"cpu"``; other values are checked and returned."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} was asked for but CUDA is not available; use device='cpu' or 'auto'")
    return device


def check_field(ok: bool, where: str, value: Any, expected: str) -> None:
    """Raise the one-sentence :class:`InputError` naming config field ``where`` unless ``ok``."""
    if not ok:
        raise InputError(f"config field {where!r} is {value!r}; expected {expected}")


def check_device_and_seed(device: str, seed: Any) -> None:
    """The run-wide fields every job config has: ``device`` and ``seed``."""
    check_field(device in ("auto", "cpu", "cuda") or device.startswith("cuda:"), "device", device,
                "'auto', 'cpu', 'cuda' or 'cuda:N'")
    check_field(isinstance(seed, int) and 0 <= seed < 2**63, "seed", seed, "a non-negative integer")


@dataclass(frozen=True)
class BodyConfig:
    """Which body model and pose prior the fit uses.

    Attributes:
        model: ``"anny"`` (default, Apache-2.0, data in the wheel) or ``"smplx"`` (user files).
        model_path: SMPL-X model folder or file (default ``$INHABIT_MODELS_DIR``); unused for anny.
        prior: ``"angle"`` (GenZI's joint-angle prior + joint limits, no weights needed) or
            ``"vposer"`` (VPoser V02_05, user weights at ``vposer_path``).
        vposer_path: VPoser checkpoint file or folder (default ``$INHABIT_MODELS_DIR/vposer``).
    """

    model: Literal["anny", "smplx"] = "anny"
    model_path: str | None = None
    prior: Literal["angle", "vposer"] = "angle"
    vposer_path: str | None = None

    def __post_init__(self) -> None:
        check_field(self.model in ("anny", "smplx"), "body.model", self.model, "'anny' or 'smplx'")
        check_field(self.prior in ("angle", "vposer"), "body.prior", self.prior, "'angle' or 'vposer'")

    def build_model(self, device=None):
        """The configured :class:`~inhabit.body.protocol.BodyModel` (loads anny's cache or the SMPL-X files)."""
        from inhabit.body import load_body_model

        kw = {"model_path": self.model_path} if self.model == "smplx" and self.model_path else {}
        return load_body_model(self.model, device=device, **kw)

    def build_prior(self, body):
        """The configured pose prior for ``body`` (VPoser loads the user's checkpoint)."""
        from inhabit.body.prior import AnglePrior, VPoserPrior

        return VPoserPrior(body, self.vposer_path) if self.prior == "vposer" else AnglePrior(body)


@dataclass(frozen=True)
class KeypointConfig:
    """2D keypoints and GenZI's acceptance rule (``genzi_facts.md`` §5).

    Attributes:
        detector: ``"blazepose"`` (mediapipe, bundled model).
        min_score: a COCO keypoint counts when its confidence is at least this (0.25).
        min_count: a view is kept when at least this many of the 17 COCO points count (13).
        confidence: which BlazePose score is the confidence (``visibility``, ``presence``, ``min``).
        min_detection_confidence: the person detector's threshold.
        min_views: a hypothesis is lifted when at least this many views were accepted (GenZI: 1).
    """

    detector: Literal["blazepose"] = "blazepose"
    min_score: float = 0.25
    min_count: int = 13
    confidence: Literal["visibility", "presence", "min"] = "visibility"
    min_detection_confidence: float = 0.5
    min_views: int = 1

    def __post_init__(self) -> None:
        check_field(0.0 <= self.min_score <= 1.0, "keypoints.min_score", self.min_score, "a number in [0, 1]")
        check_field(1 <= self.min_count <= 17, "keypoints.min_count", self.min_count, "an integer from 1 to 17")
        check_field(0.0 <= self.min_detection_confidence <= 1.0, "keypoints.min_detection_confidence",
                    self.min_detection_confidence, "a number in [0, 1]")
        check_field(self.min_views >= 1, "keypoints.min_views", self.min_views, "at least 1")

    def build_detector(self):
        """The configured :class:`~inhabit.perceive.keypoints.KeypointDetector`."""
        from inhabit.perceive.keypoints import BlazePoseDetector

        return BlazePoseDetector(min_detection_confidence=self.min_detection_confidence, confidence=self.confidence)


@dataclass(frozen=True)
class StageConfig:
    """GenZI's two-stage loop (``genzi_facts.md`` §1.2).

    Attributes:
        inpaints_per_view: inpaintings per view in each stage; its length is the number of stages
            (GenZI: ``(4, 2)``; ``(4,)`` = no refinement).
        keep_fraction: after a stage, the best ``⌊keep_fraction · N⌋`` results are refined (0.5).
        min_keep: but at least this many (GenZI keeps ⌊0.5 · 1⌋ = 0 of a single survivor and so
            silently skips refinement; inhabit keeps 1).
    """

    inpaints_per_view: tuple[int, ...] = (4, 2)
    keep_fraction: float = 0.5
    min_keep: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "inpaints_per_view", tuple(int(n) for n in self.inpaints_per_view))
        check_field(1 <= len(self.inpaints_per_view) <= 2 and all(n >= 1 for n in self.inpaints_per_view),
                    "stages.inpaints_per_view", list(self.inpaints_per_view),
                    "one or two positive counts (stage 0, optional refinement stage 1)")
        check_field(0.0 < self.keep_fraction <= 1.0, "stages.keep_fraction", self.keep_fraction, "a number in (0, 1]")
        check_field(self.min_keep >= 1, "stages.min_keep", self.min_keep, "at least 1")

    @property
    def num_stages(self) -> int:
        return len(self.inpaints_per_view)


@dataclass(frozen=True)
class RankConfig:
    """Ranking hypotheses and choosing the final result.

    Attributes:
        clip_model: CLIP model ID or local folder (GenZI: ``openai/clip-vit-base-patch32``).
        use_clip: ``"auto"`` (CLIP when its weights are found, else the energy fallback, with a
            note), ``"always"`` (missing weights are an error), ``"never"``.
        prompt_prefix: text before the prompt for the CLIP score (GenZI scores "prefix, prompt");
            None = the inpainting prompt prefix.
    """

    clip_model: str = DEFAULT_CLIP_MODEL
    use_clip: Literal["auto", "always", "never"] = "auto"
    prompt_prefix: str | None = None

    def __post_init__(self) -> None:
        check_field(self.use_clip in ("auto", "always", "never"), "rank.use_clip", self.use_clip,
                    "'auto', 'always' or 'never'")


@dataclass(frozen=True)
class SDFConfig:
    """The local signed-distance grid around the interaction point (``inhabit.scene.sdf``).

    Attributes:
        extent: side of the cube (metres); voxel: sample spacing (metres).
    """

    extent: float = 2.5
    voxel: float = 0.02

    def __post_init__(self) -> None:
        check_field(math.isfinite(self.extent) and self.extent > 0, "sdf.extent", self.extent, "a positive number of metres")
        check_field(math.isfinite(self.voxel) and 0 < self.voxel <= self.extent, "sdf.voxel", self.voxel,
                    "a positive number of metres, at most the extent")


@dataclass(frozen=True)
class ExportConfig:
    """What the run writes besides the results.

    Attributes:
        sheet_tile: side (pixels) of one picture in a contact sheet (the pictures themselves keep
            the views' size).
        embed_images: ``report.html`` embeds every picture as a data URI (one shareable file)
            instead of linking the run folder's PNGs.
        body_meshes: formats of the chosen body alone (``obj``, ``ply``), world frame, +Z up.
        glb: write ``scene_with_human.glb``.
    """

    sheet_tile: int = 256
    embed_images: bool = False
    body_meshes: tuple[str, ...] = ("obj", "ply")
    glb: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "body_meshes", tuple(self.body_meshes))
        check_field(self.sheet_tile >= 16, "export.sheet_tile", self.sheet_tile, "at least 16 pixels")
        bad = [f for f in self.body_meshes if f not in ("obj", "ply")]
        check_field(not bad, "export.body_meshes", list(self.body_meshes), "a list of 'obj' and/or 'ply'")


@dataclass(frozen=True)
class PoseConfig:
    """Every setting of the pose job (the resolved ``config.yaml`` of a run, minus the inputs).

    Attributes:
        preset: the preset this config started from (informative).
        seed: the run's seed; every (view, hypothesis) inpainting derives its own from it, and
            ``inpaint.seed`` always equals it.
        device: ``auto``, ``cpu`` or ``cuda`` (inpainting, CLIP, body model and fit);
            ``inpaint.device`` follows it unless set explicitly to something other than ``auto``.
        body, views, inpaint, keypoints, lift, stages, rank, sdf, export: the stage settings.
    """

    preset: str = "genzi-sketchfab"
    seed: int = 1
    device: str = "auto"
    body: BodyConfig = field(default_factory=BodyConfig)
    views: ViewSelectionConfig = field(default_factory=_default_views)
    inpaint: InpaintConfig = field(default_factory=_default_inpaint)
    keypoints: KeypointConfig = field(default_factory=KeypointConfig)
    lift: LiftConfig = field(default_factory=_default_lift)
    stages: StageConfig = field(default_factory=StageConfig)
    rank: RankConfig = field(default_factory=RankConfig)
    sdf: SDFConfig = field(default_factory=SDFConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    def __post_init__(self) -> None:
        check_device_and_seed(self.device, self.seed)
        changes = {"seed": self.seed}
        if self.inpaint.device == "auto" and self.device != "auto":
            changes["device"] = self.device
        if any(getattr(self.inpaint, k) != v for k, v in changes.items()):
            object.__setattr__(self, "inpaint", dataclasses.replace(self.inpaint, **changes))

    def replace(self, **changes: Any) -> PoseConfig:
        return dataclasses.replace(self, **changes)

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "") -> PoseConfig:
        """A copy with fields replaced from a nested mapping (a YAML file's contents).

        Nested tables replace only the fields they name. ``source`` names the file in errors.

        Raises:
            InputError: an unknown field or a value of the wrong type, naming the dotted field.
        """
        return update_dataclass(self, overrides, source=source)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (lists, not tuples): what ``config.yaml`` holds."""
        return to_plain(self)

    def section_hash(self, *names: str, extra: Any = None) -> str:
        """A stable hash of the named sections (and ``extra``): the cache key of a stage."""
        return stable_hash({"sections": {n: to_plain(getattr(self, n)) for n in names}, "extra": extra})


# ----------------------------------------------------------------------------------------------
# presets


def _preset_factories() -> dict[str, Any]:
    from inhabit.lift.config import lift_preset

    def sketchfab() -> PoseConfig:
        return PoseConfig(preset="genzi-sketchfab", lift=lift_preset("genzi-sketchfab"))

    def proxs() -> PoseConfig:
        return PoseConfig(preset="genzi-proxs", lift=lift_preset("genzi-proxs"))

    def fast() -> PoseConfig:
        inpaint = _stage_types()["InpaintConfig"](num_inference_steps=25, dynamic_mask_steps=(0, 13))
        return PoseConfig(preset="fast", lift=lift_preset("fast"), inpaint=inpaint)

    return {"genzi-sketchfab": sketchfab, "genzi-proxs": proxs, "fast": fast}


POSE_PRESETS: tuple[str, ...] = ("genzi-sketchfab", "genzi-proxs", "fast")
"""Names accepted by :func:`pose_preset` (see the module docstring)."""


def pose_preset(name: str, overrides: Mapping[str, Any] | None = None) -> PoseConfig:
    """The named preset, optionally with a (YAML-style) mapping of overrides applied.

    Raises:
        InputError: an unknown preset name, or a bad override (naming the field).
    """
    factories = _preset_factories()
    if name not in factories:
        raise InputError(f"unknown preset {name!r}; expected one of {', '.join(POSE_PRESETS)}")
    cfg = factories[name]()
    return cfg.with_overrides(overrides) if overrides else cfg


def resolve_pose_config(preset: str = "genzi-sketchfab", config_file: str | Path | None = None,
                        overrides: Mapping[str, Any] | None = None) -> PoseConfig:
    """Preset → YAML file → explicit overrides (command-line flags), each on top of the last.

    A YAML file may name its own ``preset`` (then ``preset`` is only the default); a resolved
    ``config.yaml`` of an earlier run can be passed back as is (its ``inputs`` and ``format`` keys
    and ``scene`` keys are ignored here).
    """
    data = load_config_yaml(config_file) if config_file is not None else {}
    data = {k: v for k, v in data.items() if k not in ("format", "inputs", "scene")}
    name = data.pop("preset", preset)
    if not isinstance(name, str):
        raise InputError(f"{config_file}: 'preset' must be a preset name, got {name!r}")
    cfg = pose_preset(name)
    if data:
        cfg = cfg.with_overrides(data, source=str(config_file))
    if overrides:
        cfg = cfg.with_overrides(overrides, source="command line")
    return cfg


# ----------------------------------------------------------------------------------------------
# dataclass <-> plain data, with validation


def to_plain(obj: Any) -> Any:
    """Dataclasses → dicts, tuples → lists, paths → strings, numpy scalars → numbers (recursively)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist") and not isinstance(obj, str):
        return obj.tolist()
    return obj


def stable_hash(obj: Any, length: int = 16) -> str:
    """Hex digest of the canonical JSON of ``obj`` (key order and tuples vs lists do not matter)."""
    text = json.dumps(to_plain(obj), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _hints(cls: type) -> dict[str, Any]:
    """Resolved field annotations of a config class (string annotations evaluated in its module,
    with the stage config classes in scope for :class:`PoseConfig`)."""
    return typing.get_type_hints(cls, globalns=vars(sys.modules[cls.__module__]), localns=_stage_types())


def _describe(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        parts = [_describe(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0])}s"
        return f"a list of {len(args)} values"
    if dataclasses.is_dataclass(tp):
        return "a mapping of settings"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, str(tp))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """``value`` checked against (and converted to) the annotation ``tp``; InputError otherwise."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise InputError(f"config field {where!r} is null; expected {_describe(tp)}")
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except InputError:
                continue
        raise InputError(f"config field {where!r} is {value!r}; expected {_describe(tp)}")
    if origin is Literal:
        if value in args:
            return value
        raise InputError(f"config field {where!r} is {value!r}; expected {_describe(tp)}")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise InputError(f"config field {where!r} is {value!r}; expected {_describe(tp)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if args and len(value) != len(args):
            raise InputError(f"config field {where!r} has {len(value)} values; expected {len(args)}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args))) if args else tuple(value)
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise InputError(f"config field {where!r} is {value!r}; expected a mapping")
        return dict(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise InputError(f"config field {where!r} is {value!r}; expected a mapping of settings")
        return update_dataclass(tp(), value, prefix=where)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is Path:
        if isinstance(value, str | Path):
            return Path(value)
    else:
        return value
    raise InputError(f"config field {where!r} is {value!r}; expected {_describe(tp)}")


def update_dataclass(obj: Any, overrides: Mapping[str, Any], prefix: str = "", source: str = "") -> Any:
    """A copy of the (frozen) dataclass ``obj`` with fields replaced from ``overrides``.

    Nested dataclass fields given as mappings are updated recursively (only the named sub-fields
    change). Values are type-checked against the annotations; the classes' own ``__post_init__``
    checks then run on the result.

    Raises:
        InputError: ``"<source>: config field 'a.b' ..."`` for unknown fields and wrong types.
    """
    if not isinstance(overrides, Mapping):
        raise InputError(f"{source}: config {prefix or 'root'!r} must be a mapping of settings, got {overrides!r}")
    cls = type(obj)
    hints = _hints(cls)
    names = [f.name for f in fields(obj) if f.init]
    changes: dict[str, Any] = {}
    try:
        for key, value in overrides.items():
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in names:
                raise InputError(f"config field {where!r} does not exist; known fields{' of ' + prefix if prefix else ''}: "
                                 f"{', '.join(names)}")
            current = getattr(obj, key)
            if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
                changes[key] = update_dataclass(current, value, where, source)
            else:
                changes[key] = _coerce(value, hints[key], where)
        try:
            return dataclasses.replace(obj, **changes)
        except InputError:
            raise
        except (TypeError, ValueError) as e:
            raise InputError(f"config {prefix or 'root'!r} is invalid: {e}") from None
    except InputError as e:
        msg = str(e)
        if source and not msg.startswith(f"{source}:"):
            msg = f"{source}: {msg}"
        raise InputError(msg) from None


# ----------------------------------------------------------------------------------------------
# YAML


def load_config_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing, unreadable or non-mapping file is an InputError naming it."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise InputError(f"config file {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"config file {p} could not be read ({e})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise InputError(f"config file {p} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"config file {p} must hold a mapping of settings, got a {type(data).__name__}")
    return data


def dump_config_yaml(cfg: PoseConfig, inputs: Mapping[str, Any] | None = None) -> str:
    """The resolved config as YAML text: ``format``, the ``inputs`` (scene, prompt, point …) when
    given, then every setting. :func:`resolve_pose_config` reads it back to the same config."""
    import yaml

    doc: dict[str, Any] = {"format": POSE_CONFIG_FORMAT}
    if inputs is not None:
        doc["inputs"] = to_plain(dict(inputs))
        if "scene" in inputs:
            # `inhabit eval` finds the scene of a run here (``scene: {path, up_axis, scale}``).
            doc["scene"] = to_plain(inputs["scene"])
    doc.update(cfg.to_dict())
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)


__all__ = [
    "DEFAULT_CLIP_MODEL",
    "POSE_CONFIG_FORMAT",
    "POSE_PRESETS",
    "BodyConfig",
    "ExportConfig",
    "KeypointConfig",
    "PoseConfig",
    "RankConfig",
    "SDFConfig",
    "StageConfig",
    "dump_config_yaml",
    "load_config_yaml",
    "pose_preset",
    "resolve_pose_config",
    "stable_hash",
    "to_plain",
    "update_dataclass",
]
