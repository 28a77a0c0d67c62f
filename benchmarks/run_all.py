"""Run every benchmark in this folder, one after the other, each in its own process.

Usage: ``python benchmarks/run_all.py [--quick] [NAME ...]`` (also ``make bench`` / ``inhabit bench``).
Each benchmark prints its own table and writes ``benchmarks/results/<name>.json``; this runner
prints a summary of exit codes and wall times and writes ``benchmarks/results/run_all.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Benchmark names: every ``*.py`` here except private helpers and this runner."""
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_") and p.stem != "run_all")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    available = discover()
    names = args.names or available
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    summary = []
    for name in names:
        cmd = [sys.executable, str(HERE / f"{name}.py")] + (["--quick"] if args.quick else [])
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, env=os.environ.copy())
        summary.append({"benchmark": name, "exit_code": rc, "seconds": round(time.perf_counter() - t0, 1)})
    print("\nbenchmark                 exit  seconds")
    for row in summary:
        print(f"{row['benchmark']:<25} {row['exit_code']:>4}  {row['seconds']:>7}")
    out = HERE / "results" / "run_all.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"quick": args.quick, "runs": summary}, indent=2))
    return max((r["exit_code"] for r in summary), default=0)


if __name__ == "__main__":
    sys.exit(main())
