"""Rendering: meshes (RGB, depth, silhouette, face ids, human+scene composite) and Gaussian splatting.

Importing this package is cheap: no GL context, no warp initialisation. The renderer starts on
first use (:func:`inhabit.render.mesh.default_renderer`). :func:`backend_status` tells
``inhabit doctor`` which mesh backend works here.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "MeshRenderer": "inhabit.render.mesh",
    "RenderSettings": "inhabit.render.mesh",
    "RenderOutput": "inhabit.render.mesh",
    "Composite": "inhabit.render.mesh",
    "render_mesh": "inhabit.render.mesh",
    "default_renderer": "inhabit.render.mesh",
    "mesh_from_arrays": "inhabit.render.mesh",
    "composite_human_scene": "inhabit.render.mesh",
    "render_human_in_scene": "inhabit.render.mesh",
    "contact_sheet": "inhabit.render.sheets",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'inhabit.render' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)


def backend_status() -> dict:
    """Which mesh renderer works in this process, for ``inhabit doctor``.

    Returns:
        ``{"requested": INHABIT_RENDER_BACKEND or "auto", "selected": "gl"|"raycast"|None,
        "gl": {"available", "renderer", "version", "error"}, "raycast": {"available", "warp", "error"}}``.
        Starting the GL backend here creates the process's EGL context (once).
    """
    from inhabit.render import mesh

    status: dict[str, Any] = {"gl": {"available": False}, "raycast": {"available": False}}
    try:
        status["requested"] = mesh.requested_backend()
    except Exception as e:  # a bad INHABIT_RENDER_BACKEND value
        status["requested"] = f"invalid ({e})"
    try:
        be = mesh._make_backend("gl")
        info = getattr(be, "info", {})
        status["gl"] = {"available": True, "renderer": info.get("GL_RENDERER"), "version": info.get("GL_VERSION"),
                        "context": "EGL standalone (moderngl)"}
    except Exception as e:
        status["gl"] = {"available": False, "error": str(e)}
    try:
        mesh._make_backend("raycast")
        from importlib.metadata import version

        status["raycast"] = {"available": True, "warp": version("warp-lang"), "device": "cpu"}
    except Exception as e:
        status["raycast"] = {"available": False, "error": str(e)}
    req = status["requested"]
    if req == "gl":
        status["selected"] = "gl" if status["gl"]["available"] else None
    elif req == "raycast":
        status["selected"] = "raycast" if status["raycast"]["available"] else None
    else:
        status["selected"] = ("gl" if status["gl"]["available"] else "raycast" if status["raycast"]["available"]
                              else None)
    return status


__all__ = ["backend_status", *_LAZY]
