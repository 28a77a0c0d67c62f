"""Shared helpers for benchmarks: a printed table and a JSON file per benchmark.

Every benchmark script is runnable alone (``python benchmarks/<name>.py [--quick]``) and through
``make bench`` / ``inhabit bench``. Results go to ``benchmarks/results/<name>.json`` (ignored by git).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def setup_env() -> None:
    """Project-local caches and offline hubs, as in the tests."""
    root = Path(__file__).resolve().parents[1]
    os.environ.setdefault("INHABIT_CACHE_DIR", str(root / ".cache"))
    os.environ.setdefault("ANNY_CACHE_DIR", str(root / ".cache" / "anny"))
    os.environ.setdefault("WARP_CACHE_PATH", str(root / ".cache" / "warp"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("INHABIT_PROGRESS", "0")


def parse_args(description: str, argv: Sequence[str] | None = None, extra=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    p.add_argument("--out", type=Path, default=None, help="JSON output path")
    if extra is not None:
        extra(p)
    return p.parse_args(argv)


def machine_info() -> dict:
    info = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def print_table(rows: list[dict], columns: Sequence[str] | None = None, title: str | None = None) -> str:
    """Print rows as an aligned plain-text table and return it."""
    if not rows:
        text = f"{title or ''}\n(no rows)"
        print(text)
        return text
    cols = list(columns or rows[0].keys())

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def write_results(name: str, payload: dict, out: Path | None = None) -> Path:
    path = out or RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine_info(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    print(f"wrote {path}")
    return path


class Timer:
    """``with Timer() as t: ...; t.seconds``"""

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        return False
