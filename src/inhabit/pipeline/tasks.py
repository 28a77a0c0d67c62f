"""Pose tasks: one interaction to generate, and the YAML task file that lists many.

A task file describes one scene and the interactions to place in it (GenZI's per-scene
annotation, ``genzi_facts.md`` §7.4, in a documented form of our own)::

    format: inhabit.tasks/1          # optional
    scene: scenes/kyoto.glb          # mesh path (relative to this file) or demo:room
    up_axis: z                       # up axis of the scene file: z, y, -y, -z (default z)
    scale: 1.0                       # uniform scale on load (0.01 for centimetres)
    preset: genzi-sketchfab          # optional: the preset of every interaction
    config:                          # optional: config overrides for every interaction
      lift: {phase_iters: 200}
    interactions:
      - id: sit_bench                # folder name of the run: letters, digits, _ - .
        prompt: sitting on the bench
        at: [-0.6, -1.55, 0.45]      # or "x,y,z", or a named point of the scene
        negative_prompt: standing    # optional, added before the configured negatives
        views:                       # optional: explicit camera positions (else automatic)
          - [0.4, 0.2, 1.0]
          - [-1.6, 0.3, 1.1]
        seed: 3                      # optional: this interaction's seed
        images: inpaintings/bench    # optional: user images + cameras.json instead of inpainting

Everything is validated when the file is read (before any heavy work); a mistake is one
:class:`~inhabit.errors.InputError` naming the file, the interaction and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.errors import InputError

TASKS_FORMAT = "inhabit.tasks/1"
UP_AXES = ("z", "y", "-y", "-z")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_TOP_KEYS = {"format", "scene", "up_axis", "scale", "preset", "config", "interactions"}
_ITEM_KEYS = {"id", "prompt", "at", "negative_prompt", "views", "seed", "images"}


@dataclass(frozen=True)
class PoseTask:
    """One interaction to generate: the inputs of ``inhabit pose``.

    Attributes:
        scene: a mesh path or ``demo:<name>``.
        at: the interaction point: ``"x,y,z"`` (metres, world frame), a named point of the scene,
            or None to take ``look_at`` from the user images' cameras.json.
        prompt: the interaction (``"sitting on the bench"``); may be empty only with ``images``.
        negative_prompt: a per-interaction negative prompt (None: only the configured ones).
        eyes: (k, 3) explicit camera positions, or None for GenZI's automatic selection.
        images: a folder of user images + cameras.json (replaces inpainting), or None.
        id: short name (the run folder's name in a task file).
        up_axis, scale: how the scene file is loaded.
        seed: this task's seed (None: the config's).
    """

    scene: str
    at: str | None
    prompt: str = ""
    negative_prompt: str | None = None
    eyes: tuple[tuple[float, float, float], ...] | None = None
    images: str | None = None
    id: str = "pose"
    up_axis: str = "z"
    scale: float = 1.0
    seed: int | None = None

    def inputs_dict(self) -> dict[str, Any]:
        """The inputs as plain data (the ``inputs`` section of a run's config.yaml)."""
        return {
            "id": self.id, "scene": {"path": self.scene, "up_axis": self.up_axis, "scale": self.scale},
            "prompt": self.prompt, "at": self.at, "negative_prompt": self.negative_prompt,
            "eyes": None if self.eyes is None else [list(e) for e in self.eyes], "images": self.images,
            "seed": self.seed,
        }


@dataclass
class TaskFile:
    """A parsed task file."""

    path: Path
    scene: str
    up_axis: str
    scale: float
    tasks: list[PoseTask]
    preset: str | None = None
    config: dict[str, Any] = field(default_factory=dict)


def parse_xyz(value: Any, where: str) -> tuple[float, float, float]:
    """``[x, y, z]`` or ``"x,y,z"`` → three finite floats; InputError naming ``where``."""
    if isinstance(value, str):
        parts = [s for s in re.split(r"[,\s]+", value.strip()) if s]
    elif isinstance(value, Sequence):
        parts = list(value)
    else:
        parts = []
    try:
        xyz = [float(p) for p in parts]
    except (TypeError, ValueError):
        xyz = []
    if len(xyz) != 3 or not all(np.isfinite(xyz)):
        raise InputError(f"{where} is {value!r}; expected three numbers x, y, z (metres)")
    return (xyz[0], xyz[1], xyz[2])


def point_text(value: Any, where: str) -> str:
    """A task's ``at``: a point name stays a name, coordinates become ``"x,y,z"``."""
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][\w\-]*", value.strip()):
        return value.strip()
    x, y, z = parse_xyz(value, where)
    return f"{x!r},{y!r},{z!r}"


def parse_task_file(path: str | Path) -> TaskFile:
    """Read and validate a task file (format in the module docstring).

    Relative paths (scene, images) are taken from the task file's folder.

    Raises:
        InputError: a missing/unparsable file or any invalid entry, in one sentence.
    """
    from inhabit.config import load_config_yaml

    path = Path(path)
    if path.is_dir():
        raise InputError(f"task file {path} is a folder; expected a YAML file")
    doc = load_config_yaml(path) if path.is_file() else None
    if doc is None:
        raise InputError(f"task file {path} does not exist")
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise InputError(f"task file {path}: unknown key {unknown[0]!r}; expected {', '.join(sorted(_TOP_KEYS))}")
    fmt = doc.get("format", TASKS_FORMAT)
    if fmt != TASKS_FORMAT:
        raise InputError(f"task file {path}: 'format' is {fmt!r}, expected {TASKS_FORMAT!r}")
    scene = doc.get("scene")
    if not isinstance(scene, str) or not scene.strip():
        raise InputError(f"task file {path}: 'scene' must be a mesh path or demo:<name>")
    scene = _relative_to(scene.strip(), path.parent)
    up = doc.get("up_axis", "z")
    if up not in UP_AXES:
        raise InputError(f"task file {path}: 'up_axis' is {up!r}; expected one of {', '.join(UP_AXES)}")
    scale = doc.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not np.isfinite(scale) or scale <= 0:
        raise InputError(f"task file {path}: 'scale' is {scale!r}; expected a positive number")
    preset = doc.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise InputError(f"task file {path}: 'preset' must be a preset name, got {preset!r}")
    config = doc.get("config") or {}
    if not isinstance(config, Mapping):
        raise InputError(f"task file {path}: 'config' must be a mapping of settings, got {config!r}")
    items = doc.get("interactions")
    if not isinstance(items, list) or not items:
        raise InputError(f"task file {path}: 'interactions' must be a non-empty list")
    tasks: list[PoseTask] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        tasks.append(_parse_item(path, i, item, scene, up, float(scale), seen))
    return TaskFile(path, scene, up, float(scale), tasks, preset, dict(config))


def _relative_to(spec: str, folder: Path) -> str:
    if spec.startswith("demo:") or Path(spec).is_absolute():
        return spec
    return str(folder / spec)


def _parse_item(path: Path, i: int, item: Any, scene: str, up: str, scale: float, seen: set[str]) -> PoseTask:
    if not isinstance(item, Mapping):
        raise InputError(f"task file {path}: interaction {i} must be a mapping with id, prompt and at")
    tid = item.get("id", f"task{i:03d}")
    where = f"task file {path}: interaction {tid!r}"
    if not isinstance(tid, str) or not _ID.match(tid):
        raise InputError(f"task file {path}: interaction {i} has id {tid!r}; expected letters, digits, '_', '-' or '.'")
    if tid in seen:
        raise InputError(f"task file {path}: two interactions have the id {tid!r}; ids name the run folders and "
                         f"must be unique")
    seen.add(tid)
    unknown = sorted(set(item) - _ITEM_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r}; expected {', '.join(sorted(_ITEM_KEYS))}")
    images = item.get("images")
    if images is not None:
        if not isinstance(images, str) or not images.strip():
            raise InputError(f"{where}: 'images' must be a folder path")
        images = _relative_to(images.strip(), path.parent)
    prompt = item.get("prompt", "")
    if not isinstance(prompt, str):
        raise InputError(f"{where}: 'prompt' must be text, got {prompt!r}")
    if not prompt.strip() and images is None:
        raise InputError(f"{where}: 'prompt' is empty; describe the interaction, e.g. 'sitting on the bench'")
    at = item.get("at")
    if at is None and images is None:
        raise InputError(f"{where}: 'at' is missing; give the interaction point as [x, y, z] or a named point")
    at_text = None if at is None else point_text(at, f"{where}: 'at'")
    neg = item.get("negative_prompt")
    if neg is not None and not isinstance(neg, str):
        raise InputError(f"{where}: 'negative_prompt' must be text, got {neg!r}")
    views = item.get("views")
    eyes = None
    if views is not None:
        if not isinstance(views, list) or not views:
            raise InputError(f"{where}: 'views' must be a non-empty list of camera positions [x, y, z]")
        eyes = tuple(parse_xyz(v, f"{where}: views[{j}]") for j, v in enumerate(views))
    seed = item.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InputError(f"{where}: 'seed' is {seed!r}; expected a non-negative integer")
    return PoseTask(scene=scene, at=at_text, prompt=prompt.strip(), negative_prompt=neg or None, eyes=eyes,
                    images=images, id=tid, up_axis=up, scale=scale, seed=seed)
