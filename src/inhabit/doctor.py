"""``inhabit doctor``: versions, renderer backend, and the status of every learned component."""

from __future__ import annotations

import importlib
import json
import platform
import sys
from dataclasses import asdict
from importlib import metadata

from inhabit.weights import DOCTOR_CHECKS, WeightStatus

PACKAGES = (
    "inhabit", "torch", "numpy", "anny", "warp-lang", "roma", "trimesh", "moderngl", "diffusers",
    "transformers", "mediapipe", "protobuf", "opencv-python-headless", "imageio-ffmpeg", "tyro",
    "smplx", "viser", "gsplat",
)


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def torch_info() -> dict:
    try:
        import torch
    except ImportError:
        return {"torch": None}
    info = {"cuda_available": bool(torch.cuda.is_available()), "cuda_version": torch.version.cuda}
    if info["cuda_available"]:
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def renderer_info() -> dict:
    try:
        from inhabit.render import backend_status
    except ImportError as e:
        return {"error": f"render module unavailable ({e})"}
    return backend_status()


def weight_statuses() -> list[WeightStatus]:
    out: list[WeightStatus] = []
    for target in DOCTOR_CHECKS:
        module, func = target.split(":")
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError) as e:
            out.append(WeightStatus(module, "-", False, "-", f"module not available: {e}", True))
            continue
        try:
            out.extend(fn())
        except Exception as e:  # a broken check must not hide the others
            out.append(WeightStatus(module, "-", False, "-", f"check failed: {type(e).__name__}: {e}", True))
    return out


def report() -> dict:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "torch": torch_info(),
        "renderer": renderer_info(),
        "weights": [asdict(w) for w in weight_statuses()],
    }


def run(args) -> int:
    rep = report()
    if getattr(args, "json", False):
        print(json.dumps(rep, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(f"[bold]inhabit doctor[/bold]  python {rep['python']}  {rep['platform']}")
    t = Table(title="packages")
    t.add_column("package")
    t.add_column("version")
    for k, v in rep["packages"].items():
        t.add_row(k, v or "[dim]not installed[/dim]")
    con.print(t)
    con.print(f"torch: {rep['torch']}")
    con.print(f"renderer: {rep['renderer']}")
    w = Table(title="learned components")
    for col in ("component", "model", "status", "where", "how to provide"):
        w.add_column(col, overflow="fold")
    for s in rep["weights"]:
        status = "[green]found[/green]" if s["found"] else ("[yellow]missing (optional)[/yellow]" if s["optional"]
                                                             else "[red]missing[/red]")
        w.add_row(s["component"], s["model_id"], status, s["location"], "" if s["found"] else s["how_to_provide"])
    con.print(w)
    missing_required = [s for s in rep["weights"] if not s["found"] and not s["optional"]]
    return 1 if missing_required else 0
