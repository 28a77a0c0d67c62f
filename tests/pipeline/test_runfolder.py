"""Run folders: a stage is finished only when its marker (written last) matches its key and outputs."""

from __future__ import annotations

import json
import os

import pytest

from inhabit.errors import InputError
from inhabit.io import write_text
from inhabit.pipeline.runfolder import RunFolder


def _do(stage, text="x"):
    folder = stage.begin()
    out = write_text(folder / "out.txt", text)
    stage.finish([out], {"n": 1})
    return out


def test_finished_stage_is_reused_and_recorded(tmp_path):
    run = RunFolder(tmp_path / "run")
    st = run.stage("views", {"a": 1})
    assert not st.done
    _do(st)
    assert st.done and st.info == {"n": 1}
    marker = json.loads((tmp_path / "run" / "views" / "_done.json").read_text())
    assert marker["outputs"] == {"views/out.txt": 1} and marker["key"] == st.key

    run2 = RunFolder(tmp_path / "run")
    st2 = run2.stage("views", {"a": 1})
    assert st2.done
    st2.skip()
    assert run2.status("views") == "skipped"
    man = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert man["stages"][0]["name"] == "views" and man["stages"][0]["status"] == "skipped"


def test_a_relative_run_folder_records_the_outputs_its_stages_wrote(tmp_path, monkeypatch):
    # `inhabit demo --out runs/demo` (what `make demo` runs) passes a relative folder; the stage
    # paths built on it must not be joined onto it a second time.
    monkeypatch.chdir(tmp_path)
    run = RunFolder("runs/demo")
    st = run.stage("views", {"a": 1})
    _do(st)
    assert st.done and run.root.is_absolute()
    marker = json.loads((tmp_path / "runs" / "demo" / "views" / "_done.json").read_text())
    assert marker["outputs"] == {"views/out.txt": 1}


def test_changed_key_invalidates_the_stage_and_everything_downstream(tmp_path):
    run = RunFolder(tmp_path)
    a = run.stage("a", {"x": 1})
    _do(a)
    b = run.stage("b", {"y": 1}, upstream=[a])
    _do(b)
    assert RunFolder(tmp_path).stage("b", {"y": 1}, upstream=[RunFolder(tmp_path).stage("a", {"x": 1})]).done
    a2 = RunFolder(tmp_path).stage("a", {"x": 2})
    b2 = RunFolder(tmp_path).stage("b", {"y": 1}, upstream=[a2])
    assert not a2.done and not b2.done  # b's own settings did not change, its input did


def test_missing_or_altered_output_means_not_finished(tmp_path):
    run = RunFolder(tmp_path)
    st = run.stage("s", {})
    out = _do(st, "abc")
    out.write_text("abcd")  # size differs from the record
    assert not st.done
    st2 = run.stage("t", {})
    out2 = _do(st2)
    out2.unlink()
    assert not st2.done


def test_a_crashed_stage_never_looks_finished_and_stale_outputs_are_removed(tmp_path):
    run = RunFolder(tmp_path)
    st = run.stage("s", {"v": 1})
    _do(st)
    (tmp_path / "s" / "stale.png").write_bytes(b"old")
    st_new = run.stage("s", {"v": 2})
    folder = st_new.begin()
    assert not (folder / "stale.png").exists() and not (folder / "_done.json").exists()
    write_text(folder / "half.txt", "partial")
    # ... the process dies here: no marker, so the next invocation recomputes
    assert not RunFolder(tmp_path).stage("s", {"v": 2}).done


def test_root_stage_removes_only_its_listed_outputs(tmp_path):
    run = RunFolder(tmp_path)
    keep = write_text(tmp_path / "config.yaml", "x")
    st = run.stage(".", {"e": 1})
    st.begin()
    res = write_text(tmp_path / "result.txt", "r")
    st.finish([res])
    assert st.done and (tmp_path / ".export_done.json").is_file()
    st2 = run.stage(".", {"e": 2})
    st2.begin()
    assert keep.is_file() and not res.exists()


def test_force_recomputes(tmp_path):
    _do(RunFolder(tmp_path).stage("s", {}))
    assert not RunFolder(tmp_path, force=True).stage("s", {}).done


def test_lock_keeps_a_second_live_process_out(tmp_path):
    (tmp_path / ".lock").write_text(str(os.getppid()))  # a live process that is not us
    with pytest.raises(InputError, match=rf"run folder {tmp_path} is in use by process {os.getppid()}"):
        RunFolder(tmp_path).lock()
    (tmp_path / ".lock").write_text("999999999")  # a dead process: a stale lock is taken over
    with RunFolder(tmp_path) as run:
        assert (tmp_path / ".lock").read_text() == str(os.getpid())
        assert run.root == tmp_path
    assert not (tmp_path / ".lock").exists()


def test_output_folder_that_is_a_file_is_an_input_error(tmp_path):
    f = tmp_path / "run"
    f.write_text("not a folder")
    with pytest.raises(InputError, match=r"output folder .*run exists and is not a folder"):
        RunFolder(f)
