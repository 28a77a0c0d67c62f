"""Motion tasks: the initial state file ``init.yaml`` and the inputs of one ``inhabit motion`` run.

``init.yaml`` (every key optional unless said otherwise; paths relative to the file)::

    format: inhabit.motion-init/1    # optional
    scene: demo:room                 # mesh (GLB/GLTF/OBJ/PLY), 3DGS .ply, or demo:<name> (or --scene)
    up_axis: z                       # up axis of the scene file: z, y, -y, -z
    scale: 1.0                       # metres per scene-file unit
    body: anny                       # body model (default: the config's, or the result file's)
    human:                           # the initial human: one of the two forms
      from: runs/pose/result.npz     #   the output of `inhabit pose` (a result.npz or its run folder)
      # -- or --
      pose: standing                 #   a named pose (inhabit.body.poses), default standing
      at: [1.9, -1.2, 0.0]           #   where its contact part touches: [x, y, z] or a named point
      facing: [0, 1, 0]              #   horizontal direction the chest faces, or a yaw in degrees
      contact: feet                  #   feet | left_foot | right_foot | pelvis | back | hands
    object:                          # optional rigid object
      path: props/box.glb            #   mesh file or 3DGS .ply (required)
      up_axis: z
      scale: 1.0
      position: [0.8, 0.7, 0.75]     #   where the anchor goes (world, metres) ...
      anchor: bottom                 #   ... bottom (centre of the bounding box's base), center, origin
      yaw_deg: 0                     #   rotation about +Z
      # pose: [[...4x4...]]          #   or the full T_world_object instead of position/yaw
    camera:                          # optional: a fixed initial camera instead of the selection
      eye: [0.1, -2.2, 1.5]
      look_at: [1.9, -0.5, 0.85]
    prompt: walking to the window    # the interaction (or --prompt)
    video: clips/walk.mp4            # optional: the clip made from frame0.png (or --video)
    seed: 1                          # optional
    frames: 51                       # optional: frames kept per clip, evenly spread (or fps: 10)
    clips:                           # optional: a long motion as several clips (C.7)
      - prompt: walking to the table
        video: clips/walk.mp4        #   optional per clip
        seed: 2                      #   optional per clip
      - prompt: picking up the box

Without ``human`` the person stands (pose ``standing``) at ``human.at``, which is then required.
Everything is validated when read (:func:`parse_init_file`) and merged with the command line by
:func:`build_motion_task`; a mistake is one :class:`~inhabit.errors.InputError` naming the file
and the field (``init.yaml: human.at ...``). Points are checked against the scene when it is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inhabit.errors import InputError
from inhabit.pipeline.tasks import UP_AXES, parse_xyz, point_text

INIT_FORMAT = "inhabit.motion-init/1"
ANCHORS = ("bottom", "center", "origin")
_TOP_KEYS = {"format", "scene", "up_axis", "scale", "body", "human", "object", "camera", "prompt", "video", "seed",
             "clips", "id", "frames", "fps"}
_HUMAN_KEYS = {"from", "pose", "at", "facing", "contact"}
_OBJECT_KEYS = {"path", "up_axis", "scale", "position", "anchor", "yaw_deg", "pose", "name"}
_CAMERA_KEYS = {"eye", "look_at"}
_CLIP_KEYS = {"prompt", "video", "seed"}


@dataclass(frozen=True)
class HumanInit:
    """The initial human.

    Attributes:
        result: a ``result.npz`` of ``inhabit pose`` (pose, placement and shape), or None.
        pose: named pose (used when ``result`` is None).
        at: ``"x,y,z"`` or a named point of the scene, where the contact part touches.
        facing: (3,) horizontal direction the chest faces, a yaw in degrees (0 faces −Y), or None
            (towards the scene's centre).
        contact: which part touches ``at`` (None: the pose's own).
    """

    result: str | None = None
    pose: str = "standing"
    at: str | None = None
    facing: tuple[float, float, float] | float | None = None
    contact: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.result, "pose": self.pose, "at": self.at,
                "facing": list(self.facing) if isinstance(self.facing, tuple) else self.facing, "contact": self.contact}


@dataclass(frozen=True)
class ObjectInit:
    """The rigid object and its initial pose.

    Attributes:
        path: mesh file or 3DGS ``.ply``. up_axis, scale: how it is loaded.
        position: (3,) world position of ``anchor`` (with ``yaw_deg``), or None when ``pose`` is given.
        anchor: ``bottom`` (centre of the bounding box's base), ``center`` or ``origin`` (the file's).
        yaw_deg: rotation about +Z (degrees).
        pose: (4, 4) ``T_world_object`` of the file's frame (after up axis and scale), or None.
        name: node name in the outputs.
    """

    path: str
    up_axis: str = "z"
    scale: float = 1.0
    position: tuple[float, float, float] | None = None
    anchor: str = "bottom"
    yaw_deg: float = 0.0
    pose: tuple[tuple[float, ...], ...] | None = None
    name: str = "object"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "up_axis": self.up_axis, "scale": self.scale,
                "position": None if self.position is None else list(self.position), "anchor": self.anchor,
                "yaw_deg": self.yaw_deg, "pose": None if self.pose is None else [list(r) for r in self.pose],
                "name": self.name}


@dataclass(frozen=True)
class CameraInit:
    """A fixed initial camera: its centre and the point it looks at (world, metres)."""

    eye: tuple[float, float, float]
    look_at: tuple[float, float, float]


@dataclass(frozen=True)
class ClipSpec:
    """One clip of the motion: its prompt, its video (None: generated or still to come), its seed."""

    prompt: str
    video: str | None = None
    seed: int | None = None


@dataclass(frozen=True)
class MotionTask:
    """The inputs of one motion run.

    Attributes:
        scene: mesh path, 3DGS .ply or ``demo:<name>``; up_axis, scale: how it is loaded.
        human, object, camera: the initial state.
        clips: one or more clips (several = a long motion, chained).
        generate: clips without a video are generated with the image-to-video model.
        body: body model name from the init file (None: the config's).
        seed: the run's seed from the init file (None: the config's).
        frames, fps: clip length as frames kept per clip, or as a frame rate (None: the config's).
        init_path: the init file (None when built in code).
        id: a short name (written into the outputs).
    """

    scene: str
    human: HumanInit
    clips: tuple[ClipSpec, ...]
    object: ObjectInit | None = None
    camera: CameraInit | None = None
    generate: bool = False
    up_axis: str = "z"
    scale: float = 1.0
    body: str | None = None
    seed: int | None = None
    init_path: str | None = None
    id: str = "motion"
    frames: int | None = None
    fps: float | None = None

    @property
    def prompt(self) -> str:
        """The prompts of all clips joined by ``"; "``."""
        return "; ".join(c.prompt for c in self.clips)

    def inputs_dict(self) -> dict[str, Any]:
        """The inputs as plain data (the ``inputs`` section of the run's config.yaml)."""
        return {
            "id": self.id, "scene": {"path": self.scene, "up_axis": self.up_axis, "scale": self.scale},
            "init": self.init_path, "prompt": self.prompt, "human": self.human.to_dict(),
            "object": None if self.object is None else self.object.to_dict(),
            "camera": None if self.camera is None else {"eye": list(self.camera.eye),
                                                         "look_at": list(self.camera.look_at)},
            "clips": [{"prompt": c.prompt, "video": c.video, "seed": c.seed} for c in self.clips],
            "generate": self.generate, "body": self.body, "seed": self.seed, "frames": self.frames, "fps": self.fps,
        }


@dataclass
class InitFile:
    """A parsed ``init.yaml`` (before the command line is merged in)."""

    path: Path | None
    scene: str | None = None
    up_axis: str = "z"
    scale: float = 1.0
    body: str | None = None
    human: HumanInit = field(default_factory=HumanInit)
    object: ObjectInit | None = None
    camera: CameraInit | None = None
    clips: list[ClipSpec] = field(default_factory=list)
    seed: int | None = None
    id: str | None = None
    frames: int | None = None
    fps: float | None = None


def _rel(spec: str, folder: Path | None) -> str:
    if folder is None or spec.startswith("demo:") or Path(spec).expanduser().is_absolute():
        return str(Path(spec).expanduser()) if not spec.startswith("demo:") else spec
    return str(folder / spec)


def _mapping(value: Any, where: str, keys: set[str]) -> Mapping:
    if not isinstance(value, Mapping):
        raise InputError(f"{where} must be a mapping with some of {', '.join(sorted(keys))}, got {value!r}")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r}; expected some of {', '.join(sorted(keys))}")
    return value


def _number(value: Any, where: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or (positive and value <= 0):
        raise InputError(f"{where} is {value!r}; expected a {'positive ' if positive else ''}number")
    return float(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where} is {value!r}; expected a non-empty text")
    return value.strip()


def _seed(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{where} is {value!r}; expected a non-negative integer")
    return int(value)


def _parse_human(value: Any, where: str, folder: Path | None) -> HumanInit:
    from inhabit.body.poses import CONTACTS, POSES

    h = _mapping(value, where, _HUMAN_KEYS)
    result = h.get("from")
    if result is not None:
        result = _rel(_text(result, f"{where}.from"), folder)
        extra = sorted(set(h) & {"pose", "at", "facing", "contact"})
        if extra:
            raise InputError(f"{where}: 'from' gives the whole initial body; remove {extra[0]!r} (or drop 'from')")
        return HumanInit(result=result)
    pose = h.get("pose", "standing")
    if pose not in POSES:
        raise InputError(f"{where}.pose is {pose!r}; expected one of {', '.join(POSES)}")
    at = h.get("at")
    if at is None:
        raise InputError(f"{where}.at is missing; give where the person stands as [x, y, z] (metres) or a named point")
    at_text = point_text(at, f"{where}.at")
    facing = h.get("facing")
    if facing is not None:
        if isinstance(facing, int | float) and not isinstance(facing, bool):
            facing = _number(facing, f"{where}.facing")
        else:
            facing = parse_xyz(facing, f"{where}.facing")
            if np.hypot(facing[0], facing[1]) < 1e-6:
                raise InputError(f"{where}.facing is {list(facing)}; expected a direction with a horizontal part")
    contact = h.get("contact")
    if contact is not None and contact not in CONTACTS:
        raise InputError(f"{where}.contact is {contact!r}; expected one of {', '.join(CONTACTS)}")
    return HumanInit(None, str(pose), at_text, facing, contact)


def _parse_object(value: Any, where: str, folder: Path | None) -> ObjectInit:
    o = _mapping(value, where, _OBJECT_KEYS)
    if "path" not in o:
        raise InputError(f"{where}.path is missing; give the object's mesh file or 3DGS .ply")
    path = _rel(_text(o["path"], f"{where}.path"), folder)
    up = o.get("up_axis", "z")
    if up not in UP_AXES:
        raise InputError(f"{where}.up_axis is {up!r}; expected one of {', '.join(UP_AXES)}")
    scale = _number(o.get("scale", 1.0), f"{where}.scale", positive=True)
    anchor = o.get("anchor", "bottom")
    if anchor not in ANCHORS:
        raise InputError(f"{where}.anchor is {anchor!r}; expected one of {', '.join(ANCHORS)}")
    name = o.get("name", "object")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise InputError(f"{where}.name is {name!r}; expected letters, digits, '_', '-' or '.'")
    pose = o.get("pose")
    if pose is not None:
        if "position" in o or "yaw_deg" in o:
            raise InputError(f"{where}: give either 'pose' (a 4x4 matrix) or 'position' with 'yaw_deg', not both")
        try:
            M = np.asarray(pose, dtype=np.float64)
        except (TypeError, ValueError):
            M = np.zeros(0)
        if M.shape != (4, 4) or not np.all(np.isfinite(M)):
            raise InputError(f"{where}.pose must be a 4x4 matrix of numbers (rows), got {pose!r}")
        R = M[:3, :3]
        if not (np.allclose(R.T @ R, np.eye(3), atol=1e-4) and np.linalg.det(R) > 0 and np.allclose(M[3], [0, 0, 0, 1])):
            raise InputError(f"{where}.pose is not a rigid transform (its 3x3 block must be a rotation and its "
                             f"last row 0 0 0 1)")
        return ObjectInit(path, up, scale, None, anchor, 0.0, tuple(tuple(float(x) for x in r) for r in M), name)
    if "position" not in o:
        raise InputError(f"{where}.position is missing; give where the object's {anchor} goes as [x, y, z] "
                         f"(or a 4x4 'pose')")
    position = parse_xyz(o["position"], f"{where}.position")
    yaw = _number(o.get("yaw_deg", 0.0), f"{where}.yaw_deg")
    return ObjectInit(path, up, scale, position, anchor, yaw, None, name)


def _parse_camera(value: Any, where: str) -> CameraInit:
    c = _mapping(value, where, _CAMERA_KEYS)
    for k in ("eye", "look_at"):
        if k not in c:
            raise InputError(f"{where}.{k} is missing; a fixed camera needs 'eye' and 'look_at' ([x, y, z], metres)")
    eye = parse_xyz(c["eye"], f"{where}.eye")
    at = parse_xyz(c["look_at"], f"{where}.look_at")
    d = np.subtract(at, eye)
    if np.linalg.norm(d) < 1e-6 or np.linalg.norm(np.cross(d, [0, 0, 1])) < 1e-6 * np.linalg.norm(d):
        raise InputError(f"{where}: eye and look_at must differ and not be vertically above each other")
    return CameraInit(eye, at)


def _parse_clips(doc: Mapping, where: str, folder: Path | None) -> list[ClipSpec]:
    clips = doc.get("clips")
    if clips is None:
        if "prompt" not in doc and "video" not in doc:
            return []
        prompt = doc.get("prompt", "")
        if not isinstance(prompt, str):
            raise InputError(f"{where}prompt is {prompt!r}; expected text")
        video = doc.get("video")
        video = None if video is None else _rel(_text(video, f"{where}video"), folder)
        return [ClipSpec(prompt.strip(), video, None)]
    if "prompt" in doc or "video" in doc:
        raise InputError(f"{where}give the clips either as 'clips' or with the top-level 'prompt'/'video', not both")
    if not isinstance(clips, list) or not clips:
        raise InputError(f"{where}clips must be a non-empty list of {{prompt, video, seed}}")
    out = []
    for i, c in enumerate(clips):
        c = _mapping(c, f"{where}clips[{i}]", _CLIP_KEYS)
        prompt = c.get("prompt", "")
        if not isinstance(prompt, str):
            raise InputError(f"{where}clips[{i}].prompt is {prompt!r}; expected text")
        video = c.get("video")
        video = None if video is None else _rel(_text(video, f"{where}clips[{i}].video"), folder)
        out.append(ClipSpec(prompt.strip(), video, _seed(c.get("seed"), f"{where}clips[{i}].seed")))
    return out


def parse_init_file(path: str | Path) -> InitFile:
    """Read and validate ``init.yaml`` (format in the module docstring).

    Raises:
        InputError: a missing or unparsable file, an unknown key, or a bad value, naming the field.
    """
    from inhabit.config import load_config_yaml

    path = Path(path)
    if path.is_dir():
        raise InputError(f"init file {path} is a folder; expected a YAML file")
    if not path.is_file():
        raise InputError(f"init file {path} does not exist")
    doc = load_config_yaml(path)
    return init_from_mapping(doc, path)


def init_from_mapping(doc: Mapping[str, Any], path: Path | None = None) -> InitFile:
    """:func:`parse_init_file` for an in-memory mapping (``path`` names it in errors and anchors
    relative paths)."""
    where = f"{path}: " if path is not None else "init: "
    folder = path.parent if path is not None else None
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise InputError(f"{where}unknown key {unknown[0]!r}; expected some of {', '.join(sorted(_TOP_KEYS))}")
    fmt = doc.get("format", INIT_FORMAT)
    if fmt != INIT_FORMAT:
        raise InputError(f"{where}format is {fmt!r}, expected {INIT_FORMAT!r}")
    out = InitFile(path)
    if doc.get("scene") is not None:
        out.scene = _rel(_text(doc["scene"], f"{where}scene"), folder)
    up = doc.get("up_axis", "z")
    if up not in UP_AXES:
        raise InputError(f"{where}up_axis is {up!r}; expected one of {', '.join(UP_AXES)}")
    out.up_axis = up
    out.scale = _number(doc.get("scale", 1.0), f"{where}scale", positive=True)
    body = doc.get("body")
    if body is not None and body not in ("anny", "smplx"):
        raise InputError(f"{where}body is {body!r}; expected 'anny' or 'smplx'")
    out.body = body
    if doc.get("human") is not None:
        out.human = _parse_human(doc["human"], f"{where}human", folder)
    else:
        out.human = HumanInit()
    if doc.get("object") is not None:
        out.object = _parse_object(doc["object"], f"{where}object", folder)
    if doc.get("camera") is not None:
        out.camera = _parse_camera(doc["camera"], f"{where}camera")
    out.clips = _parse_clips(doc, where, folder)
    out.seed = _seed(doc.get("seed"), f"{where}seed")
    if doc.get("frames") is not None and doc.get("fps") is not None:
        raise InputError(f"{where}give the clip length either as 'frames' or as 'fps', not both")
    frames = doc.get("frames")
    if frames is not None and (isinstance(frames, bool) or not isinstance(frames, int) or frames < 2):
        raise InputError(f"{where}frames is {frames!r}; expected an integer of at least 2 (frames kept per clip)")
    out.frames = frames
    out.fps = None if doc.get("fps") is None else _number(doc["fps"], f"{where}fps", positive=True)
    tid = doc.get("id")
    if tid is not None and (not isinstance(tid, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", tid)):
        raise InputError(f"{where}id is {tid!r}; expected letters, digits, '_', '-' or '.'")
    out.id = tid
    return out


def build_motion_task(init: InitFile | None, scene: str | None = None, prompts: Sequence[str] = (),
                      videos: Sequence[str | Path] = (), generate: bool = False, up_axis: str | None = None,
                      scale: float | None = None, task_id: str | None = None) -> MotionTask:
    """Merge an init file with the command line into a :class:`MotionTask`.

    Rules: ``scene`` (``--scene``) replaces the file's; ``prompts`` (``--prompt``, one per clip)
    replace the clips' prompts (and set their number); ``videos`` (``--video``) are given to the
    clips in order; ``--video`` and ``--generate`` exclude each other.

    Raises:
        InputError: no scene, an empty prompt, more videos than clips, a video that does not exist,
            ``--video`` with ``--generate``, or a missing ``human.at``.
    """
    init = init or InitFile(None)
    where = f"{init.path}: " if init.path is not None else ""
    if videos and generate:
        raise InputError("--video and --generate exclude each other: pass a clip made from frame0.png with --video, "
                         "or let the image-to-video model make it with --generate")
    scene_spec = str(scene).strip() if scene else init.scene
    if not scene_spec:
        raise InputError("no scene given; pass --scene with a mesh file, a 3DGS .ply or demo:room (or put 'scene' "
                         "in the init file)")
    clips = list(init.clips)
    if prompts:
        texts = [str(p).strip() for p in prompts]
        if clips and len(texts) != len(clips):
            clips = [ClipSpec(t) for t in texts]  # a different number of prompts defines new clips
        else:
            clips = [ClipSpec(t, c.video, c.seed) for t, c in zip(texts, clips)] if clips else [ClipSpec(t) for t in texts]
    if not clips:
        raise InputError("the prompt is empty; describe the motion, e.g. --prompt \"walking to the window\" (or put "
                         "'prompt' in the init file)")
    for i, c in enumerate(clips):
        if not c.prompt:
            which = "the prompt" if len(clips) == 1 else f"the prompt of clip {i}"
            raise InputError(f"{which} is empty; describe the motion, e.g. --prompt \"walking to the window\"")
    if videos:
        if len(videos) > len(clips):
            raise InputError(f"{len(videos)} videos were given for {len(clips)} clip(s); give one --video per prompt "
                             f"(in order)")
        clips = [ClipSpec(c.prompt, str(videos[i]) if i < len(videos) else c.video, c.seed) for i, c in enumerate(clips)]
    if generate:
        clips = [ClipSpec(c.prompt, None, c.seed) for c in clips]
    for i, c in enumerate(clips):
        if c.video is not None and not Path(c.video).exists():
            raise InputError(f"video {c.video} (clip {i}) does not exist; expected an mp4 file or a folder of frames")
    human = init.human
    if human.result is None and human.at is None:
        raise InputError(f"{where}human.at is missing; give where the person stands as [x, y, z] (metres) or a named "
                         f"point of the scene, or 'human: {{from: result.npz}}' with the output of inhabit pose")
    if human.result is not None and not Path(human.result).exists():
        raise InputError(f"{where}human.from: {human.result} does not exist; expected a result.npz of inhabit pose "
                         f"(or its run folder)")
    if init.object is not None and not Path(init.object.path).exists():
        raise InputError(f"{where}object.path: {init.object.path} does not exist; expected a mesh file or a 3DGS .ply")
    return MotionTask(scene=scene_spec, human=human, clips=tuple(clips), object=init.object, camera=init.camera,
                      generate=bool(generate), up_axis=up_axis or init.up_axis,
                      scale=float(scale) if scale is not None else init.scale, body=init.body, seed=init.seed,
                      init_path=None if init.path is None else str(init.path),
                      id=task_id or init.id or "motion", frames=init.frames, fps=init.fps)


__all__ = ["ANCHORS", "INIT_FORMAT", "CameraInit", "ClipSpec", "HumanInit", "InitFile", "MotionTask", "ObjectInit",
           "build_motion_task", "init_from_mapping", "parse_init_file"]
