"""The ``inhabit`` command: tyro subcommands, dispatched lazily.

Each subcommand's arguments are a small dataclass here (cheap to import, so ``--help`` is fast);
the work lives in the module named in :data:`_DISPATCH` and is imported only when run.
A user mistake (:class:`inhabit.errors.InhabitError`) prints one sentence and exits with status 2.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import tyro


@dataclass
class Views:
    """Select the views that look at an interaction point; write their renders and cameras.json."""

    scene: Path
    """Scene mesh (GLB/GLTF/OBJ/PLY) or a bundled demo scene name (``demo:room``)."""
    at: str
    """Interaction point ``x,y,z`` in world coordinates (metres), or a named point of a demo scene."""
    out: Path = Path("runs/views")
    """Output folder (PNGs, cameras.json, contact_sheet.png)."""
    up_axis: Literal["z", "y", "-y", "-z"] = "z"
    """Up axis of the scene file; it is rotated to +Z on load."""
    scale: float = 1.0
    """Uniform scale applied on load (e.g. 0.01 for a scene in centimetres)."""
    num_views: int = 16
    """Keep at most this many views (GenZI: 16)."""
    size: int = 512
    """Rendered image side in pixels."""
    eyes: tuple[str, ...] = ()
    """Explicit camera positions ``x,y,z`` (one per view) instead of the automatic selection."""


@dataclass
class Pose:
    """GenZI: place a posed human at a point of a scene from a text prompt (see docs/pose.md)."""

    scene: str | None = None
    """Scene mesh (GLB/GLTF/OBJ/PLY) or ``demo:<name>``."""
    prompt: str = ""
    """The interaction, e.g. ``"sitting on the bench"`` (optional with --images)."""
    at: str = ""
    """Interaction point ``x,y,z`` (metres) or a named point of the scene (with --images: default the
    cameras' look_at)."""
    out: Path = Path("runs/pose")
    """Run folder (re-running the same command resumes: finished stages are reused)."""
    preset: Literal["genzi-sketchfab", "genzi-proxs", "fast"] = "genzi-sketchfab"
    """Named configuration (the paper's two presets, or a quick CPU one)."""
    config: Path | None = None
    """YAML file overriding fields of the preset (any subset of a run's config.yaml)."""
    images: Path | None = None
    """Folder of user-supplied inpaintings + cameras.json (replaces inpainting; see docs/pose.md)."""
    task: Path | None = None
    """YAML task file with many interactions (scene, up axis, prompts with points); runs go to OUT/<id>."""
    negative_prompt: str = ""
    """Extra negative prompt for this interaction (added before the configured ones)."""
    eyes: tuple[str, ...] = ()
    """Explicit camera positions ``x,y,z`` (one per view) instead of the automatic view selection."""
    up_axis: Literal["z", "y", "-y", "-z"] = "z"
    """Up axis of the scene file; it is rotated to +Z on load."""
    scale: float = 1.0
    """Uniform scale applied on load (e.g. 0.01 for a scene in centimetres)."""
    body: Literal["anny", "smplx"] | None = None
    """Body model backend (default: the config's, anny)."""
    seed: int | None = None
    """Seed of the run (default: the config's, 1)."""
    device: str | None = None
    """``cpu``, ``cuda`` or ``auto`` (default: the config's, auto)."""
    inpaint_model: str | None = None
    """Inpainting model: Hugging Face ID or local diffusers folder (default: SD-2 inpainting)."""
    allow_download: bool = False
    """Let inhabit download the inpainting model when it is not in the local cache."""
    clip_model: str | None = None
    """CLIP model ID or folder used to rank hypotheses (default openai/clip-vit-base-patch32)."""
    num_views: int | None = None
    """Keep at most this many views (default: the config's, 16)."""
    force: bool = False
    """Recompute every stage even when a finished one could be reused."""


@dataclass
class Motion:
    """ZeroHSI: a 4D human(-object) motion in a scene from a prompt and a video (see docs/motion.md)."""

    scene: str | None = None
    """Scene mesh (GLB/GLTF/OBJ/PLY), 3DGS .ply, or ``demo:<name>`` (default: the init file's)."""
    init: Path | None = None
    """YAML with the initial human (a pose result, or a named pose at a point), object, camera, clips."""
    prompt: tuple[str, ...] = ()
    """The motion, e.g. ``"walking to the window"``; several prompts chain several clips."""
    video: tuple[Path, ...] = ()
    """Clip(s) made from frame0.png with any tool (mp4 or a folder of frames), one per prompt, in order."""
    generate: bool = False
    """Generate the clip(s) with the configured image-to-video model (needs its weights)."""
    out: Path = Path("runs/motion")
    """Run folder (re-running the same command resumes, also in the middle of the reconstruction)."""
    preset: Literal["zerohsi", "fast"] = "zerohsi"
    """Named configuration: the paper's numbers, or a quick CPU preview."""
    config: Path | None = None
    """YAML file overriding fields of the preset (any subset of a run's config.yaml)."""
    up_axis: Literal["z", "y", "-y", "-z"] | None = None
    """Up axis of the scene file (default: the init file's, z)."""
    scale: float | None = None
    """Scale applied to the scene file on load (default: the init file's, 1)."""
    body: Literal["anny", "smplx"] | None = None
    """Body model backend (default: the init file's or the config's, anny)."""
    frames: int | None = None
    """Keep this many frames of each clip, evenly spread (default: the config's, 51)."""
    seed: int | None = None
    """Seed of the run (default: the init file's or the config's, 1)."""
    device: str | None = None
    """``cpu``, ``cuda`` or ``auto`` (default: the config's, auto)."""
    video_model: str | None = None
    """Image-to-video model for --generate: Hugging Face ID or local diffusers folder (default Wan 2.1 I2V)."""
    allow_download: bool = False
    """Let inhabit download the image-to-video model when it is not in the local cache."""
    force: bool = False
    """Recompute every stage even when a finished one could be reused."""


@dataclass
class Eval:
    """Compute every metric that applies to one or more runs (or other tools' bodies)."""

    runs: Annotated[list[Path], tyro.conf.Positional]
    """Run folders, result.npz/motion.npz files, GenZI result folders (smplx.pkl), SMPL-X parameter
    files (.npz/.pkl) or vertex arrays (.npy)."""
    scene: str | None = None
    """Scene (mesh path or ``demo:<name>``) for the physical metrics when a run does not name one."""
    up_axis: Literal["z", "y", "-y", "-z"] = "z"
    """Up axis of the ``--scene`` file."""
    scale: float = 1.0
    """Scale applied to the ``--scene`` file on load."""
    sdf: Path | None = None
    """GenZI SDF grid JSON to use instead of the exact mesh distance (to reproduce GenZI's numbers)."""
    out: Path = Path("runs/eval")
    """Folder for the cross-run table (metrics.md, metrics.csv, metrics.json)."""
    allow_pickle: bool = False
    """Load .pkl bodies (pickles can run code: only for files you trust)."""
    stage: int | None = None
    """Score only the results of this stage (GenZI folders ``stage000_inpaint1_stage001_...``: the last
    ``stageNNN``; inhabit results: ``extra/stage``). Default: every result found."""
    smplx_dir: Path | None = None
    """Folder with the SMPL-X model files (smplx/SMPLX_NEUTRAL.npz), to pose parameter-only bodies."""
    fps: float | None = None
    """Frame rate of motions whose file states none (foot sliding needs it)."""
    clip: bool = True
    """Compute CLIP metrics (skipped with a note when the weights are absent)."""
    clip_model: str = "openai/clip-vit-base-patch32"
    """CLIP model ID or local folder (GenZI's evaluation model by default)."""
    allow_download: bool = False
    """Let inhabit fetch the CLIP model from the Hugging Face hub when it is not cached."""
    contact_threshold: float = 0.0
    """SDF threshold (m) of GenZI's contact and non-collision (0 as in the paper)."""
    hand_contact_threshold: float = 0.05
    """Distance (m) under which a hand vertex touches the object (CHOIS: 5 cm)."""
    floor_z: float = 0.0
    """Ground height (m) for foot contact when there is no scene."""
    kmeans_k: tuple[int, ...] = (20, 50)
    """Numbers of clusters of the pose diversity (GenZI: 20 and 50)."""
    seed: int = 1
    """Seed of the k-means initialisation (GenZI: 1)."""
    device: str = "auto"
    """Device of the CLIP model: ``cpu``, ``cuda`` or ``auto``."""


@dataclass
class Bench:
    """Run the benchmarks in benchmarks/ (tables on stdout, JSON in benchmarks/results/)."""

    names: Annotated[list[str], tyro.conf.Positional] = field(default_factory=list)
    """Benchmarks to run (default: all)."""
    quick: bool = False
    """Smaller sizes, for a smoke run."""


@dataclass
class Demo:
    """The offline end-to-end demo: lifting a known body from rendered views of a demo scene."""

    out: Path = Path("runs/demo")
    """Run folder of the demo (the pose run's files plus demo_inputs/ and truth/)."""
    scene: str = "room"
    """Bundled demo scene (``room`` or ``outdoor``)."""
    interaction: str = "sit_bench"
    """Named point of the scene; its prefix picks the known pose (sit_, lie_, lean_, stand_, step_)."""
    corrupt: float = 0.25
    """Fraction of views whose person is replaced by a wrong one (mirrored, shifted or another pose)."""
    num_views: int = 12
    """Views to use (GenZI: 16; fewer keep the demo at a few minutes on a CPU)."""
    size: int = 384
    """Rendered image side in pixels."""
    phase_iters: int = 150
    """Iterations per lifting phase (4 phases; GenZI: 400)."""
    seed: int = 1
    """Seed of the corruption choice and of the run."""


@dataclass
class View:
    """Serve a run's scene, bodies, cameras and view weights in a browser (viser)."""

    run: Annotated[Path, tyro.conf.Positional]
    """A pose run folder (with config.yaml and result.npz)."""
    port: int = 8080
    """Port to serve on (0 = any free port)."""
    host: str = "127.0.0.1"
    """Address to bind (127.0.0.1 = this machine only; 0.0.0.0 = reachable from the network)."""


@dataclass
class Doctor:
    """Report versions, renderer backend, and which optional weights are found and where."""

    json: bool = False
    """Print JSON instead of a table."""


_DISPATCH: dict[type, str] = {
    Views: "inhabit.pipeline.views:run",
    Pose: "inhabit.pipeline.pose:run",
    Motion: "inhabit.pipeline.motion:run",
    Eval: "inhabit.pipeline.evaluate:run",
    Bench: "inhabit.pipeline.bench:run",
    Demo: "inhabit.pipeline.demo:run",
    View: "inhabit.export.viewer:run",
    Doctor: "inhabit.doctor:run",
}

_COMMANDS = {
    "views": Views,
    "pose": Pose,
    "motion": Motion,
    "eval": Eval,
    "bench": Bench,
    "demo": Demo,
    "view": View,
    "doctor": Doctor,
}


def _resolve(target: str):
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def main(argv: list[str] | None = None) -> int:
    from inhabit.errors import InhabitError
    from inhabit.paths import configure_third_party_caches

    args = tyro.extras.subcommand_cli_from_dict(_COMMANDS, args=argv, prog="inhabit",
                                                description="Put people into 3D scenes from one sentence.")
    configure_third_party_caches()
    try:
        result = _resolve(_DISPATCH[type(args)])(args)
    except InhabitError as e:
        print(f"inhabit: error: {e}", file=sys.stderr)
        if argv is None:
            sys.exit(2)
        return 2
    code = int(result) if isinstance(result, int) else 0
    if argv is None and code:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
