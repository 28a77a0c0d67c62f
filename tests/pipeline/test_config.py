"""Job configs: presets, YAML round trip, overrides and the exact error sentences."""

from __future__ import annotations

import pytest

from inhabit.config import (
    POSE_PRESETS,
    PoseConfig,
    dump_config_yaml,
    load_config_yaml,
    pose_preset,
    resolve_pose_config,
    stable_hash,
)
from inhabit.errors import InputError


def test_presets_carry_the_papers_numbers():
    sk = pose_preset("genzi-sketchfab")
    assert sk.views.max_views == 16 and sk.views.distance == 2.0 and sk.views.fov_deg == 60.0
    assert sk.stages.inpaints_per_view == (4, 2) and sk.stages.keep_fraction == 0.5
    assert sk.inpaint.num_inference_steps == 50 and sk.inpaint.guidance_scale == 7.5
    assert sk.keypoints.min_score == 0.25 and sk.keypoints.min_count == 13
    assert sk.lift.name == "genzi-sketchfab" and sk.lift.penetration_threshold == -0.01
    assert sk.lift.num_iters == 1600
    px = pose_preset("genzi-proxs")
    assert px.lift.penetration_threshold == 0.0 and px.lift.init_yaw_deg == 90.0
    fast = pose_preset("fast")
    assert fast.lift.name == "fast" and fast.inpaint.num_inference_steps == 25
    assert set(POSE_PRESETS) == {"genzi-sketchfab", "genzi-proxs", "fast"}


def test_unknown_preset_names_the_choices():
    with pytest.raises(InputError, match=r"unknown preset 'nope'; expected one of genzi-sketchfab, genzi-proxs, fast"):
        pose_preset("nope")


def test_yaml_round_trip_restores_the_same_config(tmp_path):
    cfg = pose_preset("fast", {"lift": {"phase_iters": 7}, "seed": 5, "views": {"max_views": 9}})
    path = tmp_path / "config.yaml"
    path.write_text(dump_config_yaml(cfg, {"scene": {"path": "demo:room", "up_axis": "z", "scale": 1.0}}))
    doc = load_config_yaml(path)
    assert doc["format"] == "inhabit.pose-config/1"
    assert doc["scene"] == {"path": "demo:room", "up_axis": "z", "scale": 1.0}  # where `inhabit eval` looks
    back = resolve_pose_config(config_file=path)
    assert back == cfg
    assert back.inpaint.seed == 5  # the run seed drives the inpainting seeds


def test_partial_override_keeps_the_rest():
    base = pose_preset("genzi-sketchfab")
    cfg = base.with_overrides({"lift": {"weights": {"contact": [0, 0, 0, 1, 2]}}, "stages": {"inpaints_per_view": [3]}})
    assert cfg.lift.weights.contact == (0.0, 0.0, 0.0, 1.0, 2.0)
    assert cfg.lift.weights.penetration == base.lift.weights.penetration
    assert cfg.stages.inpaints_per_view == (3,) and cfg.stages.num_stages == 1
    assert cfg.views == base.views


@pytest.mark.parametrize(("override", "message"), [
    ({"lift": {"phase_iter": 3}}, "config field 'lift.phase_iter' does not exist; known fields of lift: name, phase_iters"),
    ({"inpaint": {"num_inference_steps": "many"}}, "config field 'inpaint.num_inference_steps' is 'many'; expected an integer"),
    ({"stages": {"inpaints_per_view": [4, 2, 1]}}, "config field 'stages.inpaints_per_view' is [4, 2, 1]; expected one or two positive counts"),
    ({"keypoints": {"min_count": 20}}, "config field 'keypoints.min_count' is 20; expected an integer from 1 to 17"),
    ({"body": {"model": "mano"}}, "config field 'body.model' is 'mano'; expected one of 'anny', 'smplx'"),
    ({"seed": True}, "config field 'seed' is True; expected an integer"),
    ({"rank": {"use_clip": "sometimes"}}, "config field 'rank.use_clip' is 'sometimes'; expected one of 'auto', 'always', 'never'"),
])
def test_bad_overrides_name_the_field(override, message):
    with pytest.raises(InputError) as e:
        pose_preset("fast").with_overrides(override)
    assert message in str(e.value)


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("lift: {phase_iters: [1, 2\n")
    with pytest.raises(InputError, match=r"bad\.yaml is not valid YAML at line"):
        resolve_pose_config(config_file=bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(InputError, match=r"must hold a mapping of settings, got a list"):
        resolve_pose_config(config_file=listy)
    typo = tmp_path / "typo.yaml"
    typo.write_text("viewz: {max_views: 3}\n")
    with pytest.raises(InputError, match=r"typo\.yaml: config field 'viewz' does not exist"):
        resolve_pose_config(config_file=typo)
    with pytest.raises(InputError, match=r"config file .*missing\.yaml does not exist"):
        resolve_pose_config(config_file=tmp_path / "missing.yaml")


def test_config_file_may_name_its_preset(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("preset: genzi-proxs\nlift: {phase_iters: 10}\n")
    cfg = resolve_pose_config("fast", f, {"seed": 3})
    assert cfg.preset == "genzi-proxs" and cfg.lift.penetration_threshold == 0.0 and cfg.lift.phase_iters == 10
    assert cfg.seed == 3


def test_section_hash_changes_only_with_its_sections():
    a = pose_preset("fast")
    b = a.with_overrides({"lift": {"phase_iters": 61}})
    assert a.section_hash("views", "inpaint") == b.section_hash("views", "inpaint")
    assert a.section_hash("lift") != b.section_hash("lift")
    # tuples and lists, key order: the same data hashes the same
    assert stable_hash({"a": (1, 2), "b": 3}) == stable_hash({"b": 3, "a": [1, 2]})


def test_device_propagates_to_inpainting_unless_set():
    cfg = PoseConfig(device="cpu")
    assert cfg.inpaint.device == "cpu"
    assert pose_preset("fast", {"device": "cpu", "inpaint": {"device": "cuda"}}).inpaint.device == "cuda"
