"""Run folders: one folder per job, one sub-folder per stage, stages that resume.

A stage is *finished* when its done-marker ``_done.json`` exists, records the stage's current
key, and every output it lists still exists with the recorded size. The marker is written last
(atomically), after every output, so a run killed at any moment never leaves a stage that looks
finished but is not; every output is itself written atomically (:mod:`inhabit.io`).

The key of a stage is a hash of everything that decides its outputs: the config sections it
reads, its inputs (scene geometry, point, prompt, user images) and the keys of the stages it
consumes. A changed setting therefore invalidates its stage and, through the chained keys,
every stage downstream, and nothing else. A stage that is re-run first removes its previous
outputs (its whole folder, or the files its old marker lists for stages that write into the run
root), so no stale picture survives a config change.

``manifest.json`` at the root lists, for the latest invocation, each stage with ``status``
(``"ran"`` or ``"skipped"``), its key and its time; ``finished`` is true only once the job ended.
A ``.lock`` file holding the process id keeps two processes out of one folder.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inhabit.config import stable_hash
from inhabit.errors import InputError
from inhabit.io import write_json

DONE_NAME = "_done.json"
MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".lock"
RUN_FORMAT = "inhabit.run/1"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class StageRecord:
    """One line of ``manifest.json``."""

    name: str
    key: str
    status: str  # "ran" | "skipped"
    seconds: float
    folder: str


class Stage:
    """One stage of a run: ``stage.done`` → reuse, else ``begin()`` … write … ``finish(outputs)``.

    Args:
        run: the :class:`RunFolder`.
        name: the stage's folder relative to the run root (``"stage0/inpaint"``), or ``"."`` for a
            stage that writes into the root (then only its listed outputs are ever removed).
        key: the stage's key (a hash string, see :meth:`RunFolder.stage`).
        key_parts: the plain data that was hashed (kept in the marker for debugging).
    """

    def __init__(self, run: RunFolder, name: str, key: str, key_parts: Any = None) -> None:
        self.run = run
        self.name = name
        self.key = key
        self.key_parts = key_parts
        self.path = run.root if name == "." else run.root / name
        self.marker = self.path / (DONE_NAME if name != "." else f".{run.root_stage_label}_done.json")
        self._t0: float | None = None
        self._started: str | None = None

    # --- state -------------------------------------------------------------------------------

    def read_marker(self) -> dict | None:
        try:
            data = json.loads(self.marker.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    @property
    def done(self) -> bool:
        """True when the marker exists, has this key, and every listed output is intact."""
        m = self.read_marker()
        if m is None or m.get("key") != self.key:
            return False
        for rel, size in (m.get("outputs") or {}).items():
            p = self.run.root / rel
            try:
                if p.stat().st_size != int(size):
                    return False
            except OSError:
                return False
        return True

    @property
    def info(self) -> dict:
        """The ``info`` a finished stage recorded (empty when unfinished)."""
        m = self.read_marker()
        return dict(m.get("info") or {}) if m else {}

    # --- running -----------------------------------------------------------------------------

    def begin(self) -> Path:
        """Start (re)computing: remove the marker and the previous outputs; returns the folder."""
        old = self.read_marker()
        self.marker.unlink(missing_ok=True)
        if self.name == ".":
            for rel in (old or {}).get("outputs") or {}:
                p = self.run.root / rel
                if p.is_file() and p.parent == self.run.root:
                    p.unlink()
        elif self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._t0 = time.perf_counter()
        self._started = _now()
        return self.path

    def finish(self, outputs: Iterable[Path | str], info: Mapping[str, Any] | None = None) -> None:
        """Record the stage as finished (written last). ``outputs`` are files the stage wrote
        (absolute, or relative to the stage folder); folders are expanded to their files."""
        files: dict[str, int] = {}
        for o in outputs:
            p = Path(o)
            if not p.is_absolute():
                p = self.path / p
            items = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
            for q in items:
                if not q.is_file():
                    raise FileNotFoundError(f"stage {self.name}: output {q} was not written")
                files[q.relative_to(self.run.root).as_posix()] = q.stat().st_size
        seconds = time.perf_counter() - self._t0 if self._t0 is not None else 0.0
        write_json(self.marker, {
            "stage": self.name, "key": self.key, "key_parts": self.key_parts, "outputs": files,
            "info": dict(info or {}), "started_at": self._started, "finished_at": _now(), "seconds": seconds,
        })
        self.run._record(self, "ran", seconds)

    def skip(self) -> None:
        """Note in the manifest that the finished stage was reused."""
        self.run._record(self, "skipped", 0.0)


@dataclass
class RunFolder:
    """A run folder (see the module docstring).

    Args:
        root: the folder (created).
        job: ``"pose"`` …, written into ``manifest.json``.
        force: recompute every stage even when finished.
    """

    root: Path
    job: str = "pose"
    force: bool = False
    records: list[StageRecord] = field(default_factory=list)
    root_stage_label: str = "export"
    _locked: bool = False

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()  # stages join their outputs onto it: a relative root would double
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"output folder {self.root} exists and is not a folder")
        self.root.mkdir(parents=True, exist_ok=True)

    # --- locking -----------------------------------------------------------------------------

    def lock(self) -> RunFolder:
        """Claim the folder for this process (InputError when another live process holds it)."""
        lock = self.root / LOCK_NAME
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid != os.getpid() and _pid_alive(pid):
                raise InputError(f"run folder {self.root} is in use by process {pid}; wait for it to finish or "
                                 f"choose another --out") from None
            lock.unlink(missing_ok=True)  # a stale lock of a killed run
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        self._locked = True
        return self

    def unlock(self) -> None:
        if self._locked:
            (self.root / LOCK_NAME).unlink(missing_ok=True)
            self._locked = False

    def __enter__(self) -> RunFolder:
        return self.lock()

    def __exit__(self, *exc) -> None:
        self.unlock()

    # --- stages ------------------------------------------------------------------------------

    def stage(self, name: str, key_parts: Any, upstream: Iterable[Stage] = ()) -> Stage:
        """The stage ``name`` whose key hashes ``key_parts`` and the keys of ``upstream`` stages."""
        parts = {"stage": name, "parts": key_parts, "upstream": {s.name: s.key for s in upstream}}
        st = Stage(self, name, stable_hash(parts), parts)
        if self.force and not any(r.name == name for r in self.records):
            st.marker.unlink(missing_ok=True)
        return st

    def _record(self, stage: Stage, status: str, seconds: float) -> None:
        self.records = [r for r in self.records if r.name != stage.name]
        self.records.append(StageRecord(stage.name, stage.key, status, seconds,
                                        "." if stage.name == "." else stage.name))
        self.write_manifest(finished=False)

    def status(self, name: str) -> str | None:
        """``"ran"``/``"skipped"`` for a stage of this invocation, None when not reached."""
        for r in self.records:
            if r.name == name:
                return r.status
        return None

    def write_manifest(self, finished: bool, extra: Mapping[str, Any] | None = None) -> Path:
        doc = {
            "format": RUN_FORMAT, "job": self.job, "finished": bool(finished), "updated_at": _now(),
            "stages": [r.__dict__ for r in self.records], **(extra or {}),
        }
        return write_json(self.root / MANIFEST_NAME, doc)

    def rel(self, path: Path | str) -> str:
        """``path`` relative to the run root, POSIX style (for JSON and HTML)."""
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
