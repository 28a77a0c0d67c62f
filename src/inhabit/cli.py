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


@dataclass
class Pose:
    """GenZI: place a posed human at a point of a scene from a text prompt."""

    scene: Path | None = None
    """Scene mesh or ``demo:<name>``."""
    prompt: str = ""
    """The interaction, e.g. ``"sitting on the bench"``."""
    at: str = ""
    """Interaction point ``x,y,z`` (metres) or a named demo point."""
    out: Path = Path("runs/pose")
    """Run folder."""
    preset: Literal["genzi-sketchfab", "genzi-proxs", "fast"] = "genzi-sketchfab"
    """Named configuration (the paper's two presets, or a quick CPU one)."""
    images: Path | None = None
    """Folder of user-supplied inpaintings + cameras.json (skips inpainting)."""
    task: Path | None = None
    """YAML task file with many interactions (scene, up axis, prompts with points)."""
    up_axis: Literal["z", "y", "-y", "-z"] = "z"
    scale: float = 1.0
    body: Literal["anny", "smplx"] = "anny"
    """Body model backend."""
    seed: int = 1
    device: str = "auto"
    """``cpu``, ``cuda`` or ``auto``."""
    config: Path | None = None
    """YAML file overriding fields of the preset."""


@dataclass
class Motion:
    """ZeroHSI: a 4D human(-object) motion in a scene from a prompt and a video."""

    scene: Path | None = None
    """Scene mesh, 3DGS .ply, or ``demo:<name>``."""
    init: Path | None = None
    """YAML with the initial human (and object) state."""
    prompt: str = ""
    video: Path | None = None
    """A clip (mp4 or a folder of frames) made with any tool; replaces generation."""
    generate: bool = False
    """Generate the clip with the configured image-to-video model (needs its weights)."""
    out: Path = Path("runs/motion")
    preset: Literal["zerohsi", "fast"] = "zerohsi"
    seed: int = 1
    device: str = "auto"
    config: Path | None = None


@dataclass
class Eval:
    """Compute every metric that applies to one or more runs (or other tools' bodies)."""

    runs: Annotated[list[Path], tyro.conf.Positional]
    """Run folders, result.npz/motion.npz files, or SMPL-X parameter files."""
    scene: Path | None = None
    """Scene for the physical metrics when a run does not name one."""
    out: Path = Path("runs/eval")
    allow_pickle: bool = False
    """Load .pkl bodies (pickles can run code: only for files you trust)."""


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
    scene: str = "room"
    interaction: str = "sit_bench"
    seed: int = 1


@dataclass
class View:
    """Serve a run's scene, bodies, cameras and view weights in a browser (viser)."""

    run: Annotated[Path, tyro.conf.Positional]
    port: int = 8080
    host: str = "127.0.0.1"


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
