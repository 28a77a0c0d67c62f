"""Where inhabit keeps caches and looks for user-supplied weights.

Caches live under ``$INHABIT_CACHE_DIR`` (default ``~/.cache/inhabit``; the Makefile points it at
the project's ignored ``.cache/``). Third-party caches (anny's built model, warp's compiled
kernels) are pointed inside it unless the user set their own variables. Call
:func:`configure_third_party_caches` before importing anny or warp.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The root of inhabit's caches (created on demand by the users of sub-folders)."""
    env = os.environ.get("INHABIT_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "inhabit"


def models_dir() -> Path:
    """Where user-supplied weights are looked for by default (``$INHABIT_MODELS_DIR``)."""
    env = os.environ.get("INHABIT_MODELS_DIR")
    return Path(env).expanduser() if env else cache_dir() / "models"


def configure_third_party_caches() -> None:
    """Point anny's and warp's caches inside :func:`cache_dir` unless the user chose already."""
    root = cache_dir()
    os.environ.setdefault("ANNY_CACHE_DIR", str(root / "anny"))
    os.environ.setdefault("WARP_CACHE_PATH", str(root / "warp"))
