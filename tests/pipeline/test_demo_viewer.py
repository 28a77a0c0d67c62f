"""``inhabit demo`` in a reduced configuration, and ``inhabit view`` served on loopback."""

from __future__ import annotations

import json
import math
import socket
import sys
import time
import urllib.request

import numpy as np
import pytest

from inhabit.errors import InputError


def test_demo_runs_end_to_end_and_reports_bounded_errors(tmp_path, anny, monkeypatch):
    from inhabit.export.report import referenced_files
    from inhabit.pipeline.demo import DemoSettings, run_demo
    from inhabit.pipeline.pose import PoseComponents

    s = DemoSettings(num_views=4, size=192, phase_iters=5, corrupt=0.25)
    monkeypatch.chdir(tmp_path)  # a relative output folder, as `make demo` passes
    res = run_demo(s, "demo", PoseComponents(body_model=anny),
                   extra_overrides={"sdf": {"voxel": 0.05}, "lift": {"sdf_vertices": 256},
                                    "rank": {"use_clip": "never"}, "export": {"sheet_tile": 64}})
    e = res.errors
    assert len(res.corrupted) == 1 and next(iter(res.corrupted.values())) == "mirrored"
    for k in ("mpjpe_mm", "pa_mpjpe_mm", "pelvis_error_cm", "non_collision", "contact"):
        assert math.isfinite(e[k]), k
    # 20 iterations barely move the body, but it stays near the truth and in the scene
    assert 0.0 < e["pa_mpjpe_mm"] <= e["mpjpe_mm"] < 1500.0 and e["pelvis_error_cm"] < 150.0
    assert 0.0 <= e["non_collision"] <= 1.0 and e["contact"] in (0.0, 1.0)
    assert 0.0 <= e["view_weight_auc"] <= 1.0
    root = tmp_path / "demo"
    doc = json.loads((root / "demo.json").read_text())
    assert doc["errors"]["mpjpe_mm"] == pytest.approx(e["mpjpe_mm"]) and doc["pose"] == "sitting"
    assert (root / "truth" / "known_body.npz").is_file() and (root / "truth_and_result.glb").is_file()
    page = (root / "report.html").read_text()
    assert "Demo: comparison with the known body" in page and "LIFTING DEMO" in page
    assert all((root / r).is_file() for r in referenced_files(page))


def test_demo_rejects_bad_settings():
    from inhabit.pipeline.demo import DemoSettings, pose_for_interaction

    with pytest.raises(InputError, match=r"--corrupt must be a fraction in \[0, 1\), got 1\.5"):
        DemoSettings(corrupt=1.5)
    with pytest.raises(InputError, match=r"demo interaction 'dance_floor' has no known pose"):
        pose_for_interaction("dance_floor")
    assert pose_for_interaction("sit_sofa") == "sitting_relaxed" and pose_for_interaction("lie_bed") == "lying"


def test_corruption_choice_is_seeded_and_never_all_views():
    from inhabit.pipeline.demo import choose_corruptions

    names = [f"view{i:03d}" for i in range(12)]
    a = choose_corruptions(names, 0.25, 1)
    assert a == choose_corruptions(names, 0.25, 1) and len(a) == 3
    assert sorted(a.values()) == ["mirrored", "other_pose", "shifted"]
    assert len(choose_corruptions(names[:2], 0.9, 0)) == 1 and choose_corruptions(names, 0.0, 0) == {}


def _fake_run(root, scene_path):
    """A minimal run folder: config.yaml naming the scene, a result, two hypotheses, cameras.json."""
    from inhabit.camera.io import write_cameras_json
    from inhabit.camera.views import cameras_looking_at
    from inhabit.config import dump_config_yaml, pose_preset
    from inhabit.export.results import save_result
    from inhabit.io import write_image, write_text

    v = np.array([[0, 0, 0.45], [0.2, 0, 0.45], [0, 0.2, 0.45], [0, 0, 1.2]], np.float32)
    body = {"vertices": v, "faces": np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]),
            "joints": np.zeros((22, 3), np.float32), "keypoints": np.zeros((23, 3), np.float32)}
    save_result(root / "result.npz", body, body_model="test", view_weights=np.array([0.9, 0.1]))
    save_result(root / "stage0/lift/h0/result.npz", body, body_model="test")
    save_result(root / "stage0/lift/h1/result.npz", {**body, "vertices": v + 0.1}, body_model="test")
    cams = cameras_looking_at(np.array([0, 0, 0.45]), np.array([[0, -2, 1], [2, 0, 1.0]]), 60.0, 32)
    for c in cams:
        write_image(root / "views" / f"{c.name}.png", np.full((32, 32, 3), 100, np.uint8))
    write_cameras_json(root / "views" / "cameras.json", cams, [0, 0, 0.45])
    inputs = {"scene": {"path": str(scene_path), "up_axis": "z", "scale": 1.0}, "point": [0, 0, 0.45]}
    write_text(root / "config.yaml", dump_config_yaml(pose_preset("fast"), inputs))


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_viewer_serves_the_run_on_loopback(tmp_path, mini_scene_path):
    pytest.importorskip("viser")
    from inhabit.export.viewer import load_run_content, start_viewer, weight_color

    _fake_run(tmp_path, mini_scene_path)
    content = load_run_content(tmp_path)
    assert [b.name for b in content.bodies] == ["final", "stage0/h0", "stage0/h1"]
    assert [b.visible for b in content.bodies] == [True, False, False]
    assert len(content.cameras) == 2 and len(content.scene.parts) == 2
    np.testing.assert_allclose(content.view_weights, [0.9, 0.1])
    assert weight_color(1.0) == (0, 255, 40) and weight_color(0.0) == (255, 0, 40) and weight_color(None) == (128,) * 3
    server = start_viewer(content, "127.0.0.1", _free_port())
    try:
        url = f"http://127.0.0.1:{server.get_port()}/"
        for _ in range(100):
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    status, body = r.status, r.read().decode("utf-8", "replace")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"the viewer did not answer at {url}")
        assert status == 200
        assert "<!doctype html>" in body.lower() and "viser" in body.lower()
    finally:
        server.stop()


def test_viewer_without_viser_says_how_to_install(monkeypatch):
    from inhabit.export.viewer import import_viser

    monkeypatch.setitem(sys.modules, "viser", None)  # makes `import viser` raise ImportError
    with pytest.raises(InputError, match=r'the viewer needs viser, which is not installed; run `pip install "inhabit\[viewer\]"`'):
        import_viser()


def test_viewer_refuses_a_folder_without_results(tmp_path):
    from inhabit.export.viewer import load_run_content

    with pytest.raises(InputError, match=r"holds no result\.npz; expected the folder of an `inhabit pose` run"):
        load_run_content(tmp_path)
    with pytest.raises(InputError, match=r"run folder .*nope does not exist"):
        load_run_content(tmp_path / "nope")
