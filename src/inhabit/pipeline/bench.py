"""``inhabit bench``: run the benchmarks of a source checkout (they live in ``benchmarks/``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from inhabit.errors import InputError


def find_benchmarks_dir() -> Path:
    """``benchmarks/`` of the checkout: ``$INHABIT_BENCHMARKS_DIR``, the current directory, or next to
    the source tree this package was imported from."""
    candidates = []
    if os.environ.get("INHABIT_BENCHMARKS_DIR"):
        candidates.append(Path(os.environ["INHABIT_BENCHMARKS_DIR"]))
    candidates.append(Path.cwd() / "benchmarks")
    candidates.append(Path(__file__).resolve().parents[3] / "benchmarks")
    for c in candidates:
        if (c / "run_all.py").is_file():
            return c
    raise InputError(
        "no benchmarks/ folder found (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); the benchmarks ship with the source checkout: run from its root or set INHABIT_BENCHMARKS_DIR"
    )


def run(args) -> int:
    bench_dir = find_benchmarks_dir()
    cmd = [sys.executable, str(bench_dir / "run_all.py"), *args.names] + (["--quick"] if args.quick else [])
    return subprocess.call(cmd)
