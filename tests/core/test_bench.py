"""`inhabit bench` finds the checkout's benchmarks and refuses unknown names."""

import importlib.util
from pathlib import Path

import pytest

from inhabit.errors import InputError
from inhabit.pipeline.bench import find_benchmarks_dir

ROOT = Path(__file__).resolve().parents[2]


def _run_all():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_discovers_every_public_benchmark_script():
    names = _run_all().discover()
    expected = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_"))
    expected.remove("run_all")
    assert names == expected and "sdf_build" in names


def test_unknown_benchmark_is_refused(capsys):
    assert _run_all().main(["no_such_bench"]) == 2
    assert "unknown benchmark(s) no_such_bench" in capsys.readouterr().err


def test_find_benchmarks_dir(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert find_benchmarks_dir() == ROOT / "benchmarks"
    monkeypatch.setenv("INHABIT_BENCHMARKS_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setattr("inhabit.pipeline.bench.__file__", str(tmp_path / "a" / "b" / "c" / "bench.py"))
    with pytest.raises(InputError, match="no benchmarks/ folder found"):
        find_benchmarks_dir()
