"""The fit loop on an articulated stick figure (fast, float64): schedules, view weights, skipping,
batching, scene terms and input errors."""

import lift_helpers as L
import numpy as np
import pytest
import torch

from inhabit.errors import InputError, OptimizationError
from inhabit.lift import fit_bodies, init_from_params, lift_preset
from inhabit.lift.config import TERMS

ZERO = {"shape_prior": lambda s: (s * s).mean(-1), "angle_prior": lambda r: r.sum((-1, -2)) * 0.0,
        "limit_prior": lambda r: r.sum((-1, -2)) * 0.0}


def _scene(stick, yaw=20.0, n_views=8, noise=0.0, seed=0):
    truth = L.posed_params(stick, [0.3, 0.2, 0.5], yaw_deg=yaw, pose=L.SITTING)
    out = stick(truth)
    pelvis = out.joints[0, 0].numpy()
    cams = L.ring_cameras(pelvis, n=n_views)
    return truth, out, cams, L.project_truth(out.keypoints[0], cams, noise_px=noise, seed=seed)


SCENE_ON = {"penetration": [1.0] * 5, "contact": [0.0, 0.0, 1.0, 1.0, 1.0]}


def _cfg(phase_iters=40, **kw):
    """The fast preset with the scene terms on from the first step (so a NaN SDF matters at once)."""
    kw.setdefault("weights", SCENE_ON)
    return lift_preset("fast", phase_iters=phase_iters, facing="cameras", **kw)


def test_view_logits_frozen_in_phase_0_then_learned(stick, identity_prior):
    _, out, cams, kp = _scene(stick)
    res = fit_bodies(stick, identity_prior, cams, kp, cfg=_cfg(), point=out.joints[0, 0].numpy(), progress=False,
                     **ZERO)
    it = res.history["iteration"]
    w = res.history["view_weights"]  # (n, H, k)
    assert np.all(w[it < 40] == 0.5)  # sigmoid(0): frozen with lr 0 during phase 0
    assert np.abs(w[-1] - 0.5).max() > 1e-3
    assert res.history["weight/contact"][0] == 0.0 and np.isnan(res.history["contact"][0]).all()  # no SDF
    assert list(it[:3]) == [0, 50, 100] and it[-1] == 159
    assert res.skipped_steps.tolist() == [0]
    assert set(res.final_energies()) == {"total", *TERMS}


def test_recovers_the_observed_points_from_a_perturbed_start(stick, identity_prior):
    truth, out, cams, kp = _scene(stick)
    g = torch.Generator().manual_seed(0)
    start = truth.replace(transl=truth.transl + torch.tensor([[0.05, -0.04, 0.03]], dtype=torch.float64),
                          body_pose=truth.body_pose + 0.15 * torch.randn(1, 63, generator=g, dtype=torch.float64))
    res = fit_bodies(stick, identity_prior, cams, kp, cfg=_cfg(phase_iters=50),
                     init=init_from_params(start, start.body_pose), progress=False, **ZERO)
    from inhabit.conventions import KEYPOINT_NAMES

    limbs = ("left_wrist", "right_wrist", "left_elbow", "right_elbow", "left_knee", "right_knee", "left_ankle",
             "right_ankle", "left_shoulder", "right_shoulder", "nose", "left_big_toe", "right_big_toe")
    idx = [KEYPOINT_NAMES.index(n) for n in limbs]
    before = (stick(start).keypoints[0, idx] - out.keypoints[0, idx]).norm(dim=-1)
    err = (res.keypoints[0, idx] - out.keypoints[0, idx]).norm(dim=-1)
    assert before.max() > 0.25
    # Observed points come back within 12 mm (Adam at lr 0.02 keeps jittering by about that much);
    # the stick's spine has three joints no keypoint sees, so internal joints are not asserted.
    assert err.max() < 0.012, err
    # The reprojection the result carries matches a fresh projection of its keypoints.
    xy, _ = cams[3].project(res.keypoints[0].numpy())
    assert np.allclose(res.projected[0, 3], xy, atol=1e-6)


def test_corrupted_views_get_lower_weights(stick, identity_prior):
    _, out, cams, kp = _scene(stick, n_views=8, noise=1.0)
    xy = kp.xy.copy()
    bad = [1, 5]
    xy[bad] += np.array([90.0, -40.0], np.float32)  # a person drawn elsewhere in two views
    other = stick(L.posed_params(stick, [0.3, 0.2, 0.5], yaw_deg=20.0))  # standing, not sitting
    xy[6] = L.project_truth(other.keypoints[0], [cams[6]]).xy[0]
    bad.append(6)
    kp = type(kp)(xy, kp.conf)
    res = fit_bodies(stick, identity_prior, cams, kp, cfg=_cfg(phase_iters=80), point=out.joints[0, 0].numpy(),
                     progress=False, **ZERO)
    w = res.view_weights[0]
    clean = [i for i in range(8) if i not in bad]
    assert w[bad].max() < w[clean].min(), w


def test_nonfinite_steps_are_skipped_per_hypothesis(stick, identity_prior):
    _, out, cams, kp = _scene(stick, n_views=4)
    calls = {"n": 0}

    def flaky_floor(p):
        calls["n"] += 1
        s = p[:, 2] - 0.0
        if calls["n"] == 3:  # one step sees a NaN for the second hypothesis only
            s = s.clone()
            s[s.shape[0] // 2:] = float("nan")
        return s

    res = fit_bodies(stick, identity_prior, cams, [kp, kp], sdf=flaky_floor, cfg=_cfg(phase_iters=10),
                     point=out.joints[0, 0].numpy(), progress=False, **ZERO)
    assert res.skipped_steps.tolist() == [0, 1]
    assert torch.isfinite(res.vertices).all() and np.isfinite(res.view_weights).all()
    # Hypothesis 0 was never skipped, hypothesis 1 once: they diverge although their inputs agree.
    assert not torch.allclose(res.params.transl[0], res.params.transl[1])

    def nan_sdf(p):
        return p[:, 2] * float("nan")

    with pytest.raises(OptimizationError, match=r"hypothesis 0: every one of the 40 steps had a non-finite"):
        fit_bodies(stick, identity_prior, cams, kp, sdf=nan_sdf, cfg=_cfg(phase_iters=10),
                   point=out.joints[0, 0].numpy(), progress=False, **ZERO)


def test_batched_hypotheses_equal_individual_fits(stick, identity_prior):
    _, out, cams, kp = _scene(stick, n_views=5, noise=2.0)
    kp2 = L.project_truth(stick(L.posed_params(stick, [0.3, 0.2, 0.5], yaw_deg=-10.0)).keypoints[0], cams, 2.0, 1)
    args = dict(cfg=_cfg(phase_iters=15), point=out.joints[0, 0].numpy(), sdf=L.floor_sdf(-0.5), progress=False,
                **ZERO)
    both = fit_bodies(stick, identity_prior, cams, [kp, kp2], **args)
    for h, k in enumerate([kp, kp2]):
        one = fit_bodies(stick, identity_prior, cams, [k], **args)
        for name, t in one.params.as_dict().items():
            assert torch.allclose(getattr(both.params, name)[h], t[0], atol=1e-9, rtol=0), name
        assert np.allclose(both.view_weights[h], one.view_weights[0], atol=1e-9)
        assert np.allclose(both.history["total"][:, h], one.history["total"][:, 0], atol=1e-9)


@pytest.mark.parametrize(("penalty", "pen_weight", "contact_weight"), [("linear", 1.0, 5.0), ("quadratic", 100.0, 100.0)])
def test_scene_terms_lift_a_body_out_of_the_floor_onto_it(stick, identity_prior, penalty, pen_weight,
                                                          contact_weight):
    truth, out, cams, kp = _scene(stick, n_views=3)
    floor = float(out.vertices[0, :, 2].min())
    sunk = truth.replace(transl=truth.transl - torch.tensor([[0.0, 0.0, 0.15]], dtype=torch.float64))
    # Scene terms only: penetration pushes the body out, contact then pulls its lowest point down.
    zero = [0.0] * 5
    only_scene = {"view_count": zero, "torso": zero, "limb": zero, "penetration": [pen_weight] * 5,
                  "contact": [0.0] + [contact_weight] * 4, "joint_angle": zero, "joint_limits": zero, "shape": zero,
                  "pose_prior": zero}
    cfg = _cfg(phase_iters=30, penetration_threshold=0.0, contact_threshold=-0.002, scene_penalty=penalty,
               refine_weights=only_scene)
    res = fit_bodies(stick, identity_prior, cams, kp, sdf=L.floor_sdf(floor), cfg=cfg,
                     init=init_from_params(sunk, sunk.body_pose), progress=False, **ZERO)
    assert res.refine
    assert float(stick(sunk).vertices[0, :, 2].min()) < floor - 0.14
    lowest = float(res.vertices[0, :, 2].min())
    assert -0.015 < lowest - floor < 0.0, lowest - floor  # resting on the floor, touching it
    pen = res.history["penetration"][:, 0]
    assert pen[0] > (0.05 if penalty == "linear" else 0.05**2) and pen[-1] < pen[0] / 10


def test_fixed_view_weights_ablation(stick, identity_prior):
    _, out, cams, kp = _scene(stick, n_views=4)
    res = fit_bodies(stick, identity_prior, cams, kp, cfg=_cfg(phase_iters=5), point=out.joints[0, 0].numpy(),
                     learn_view_weights=False, valid=np.array([[True, True, False, True]]), progress=False, **ZERO)
    assert res.view_weights.tolist() == [[1.0, 1.0, 0.0, 1.0]]
    assert np.all(res.history["view_count"] == 0)  # sum w = 3 >= tau


def test_input_errors_name_the_field(stick, identity_prior):
    _, _, cams, kp = _scene(stick, n_views=3)
    with pytest.raises(InputError, match="needs the interaction point 'point'"):
        fit_bodies(stick, identity_prior, cams, kp, cfg=_cfg(phase_iters=2), progress=False)
    with pytest.raises(InputError, match=r"the interaction point must be 3 finite numbers"):
        fit_bodies(stick, identity_prior, cams, kp, cfg=_cfg(phase_iters=2), point=[0, np.nan, 1], progress=False)
    with pytest.raises(InputError, match="cover 3 views but 2 cameras"):
        fit_bodies(stick, identity_prior, cams[:2], kp, cfg=_cfg(phase_iters=2), point=[0, 0, 1], progress=False)
    with pytest.raises(InputError, match="unknown lift preset"):
        fit_bodies(stick, identity_prior, cams, kp, cfg="fastest", point=[0, 0, 1], progress=False)


def test_keypoints_the_scene_hides_lose_their_pull(stick, identity_prior):
    """In five of eight views a table hides the left leg and the detector draws a stretched leg
    instead, consistently across those views (so the view weights cannot single them out). With the
    scene's depth the fit drops those points once its own leg is behind the table; without it the
    majority drags the leg to the wrong place."""
    from inhabit.conventions import KEYPOINT_NAMES

    truth, out, cams, kp = _scene(stick, n_views=8, noise=1.0)
    leg = [KEYPOINT_NAMES.index(n) for n in ("left_knee", "left_ankle", "left_heel", "left_big_toe")]
    wrong = stick(L.posed_params(stick, [0.3, 0.2, 0.5], yaw_deg=20.0)).keypoints[0, leg].numpy()  # standing leg
    hidden_views = [0, 1, 2, 4, 6]
    xy = kp.xy.copy()
    depth = [np.full((c.height, c.width), np.inf, np.float32) for c in cams]
    for v in hidden_views:
        uv_true, z = cams[v].project(out.keypoints[0, leg].numpy())
        uv_wrong, _ = cams[v].project(wrong)
        xy[v, leg] = uv_wrong
        both = np.concatenate([uv_true, uv_wrong])
        lo, hi = np.floor(both.min(0) - 60).astype(int), np.ceil(both.max(0) + 60).astype(int)
        depth[v][max(lo[1], 0):hi[1], max(lo[0], 0):hi[0]] = float(z.min()) - 0.3  # a board in front of the leg
    kp = type(kp)(xy, kp.conf)
    start = init_from_params(truth, truth.body_pose)
    cfg = _cfg(phase_iters=60, occlusion_weight=0.0, occlusion_start_phase=1, occlusion_every=20)
    kw = dict(init=start, progress=False, **ZERO)
    seen = fit_bodies(stick, identity_prior, cams, kp, cfg=cfg.replace(occlusion_weight=1.0), scene_depth=depth, **kw)
    aware = fit_bodies(stick, identity_prior, cams, kp, cfg=cfg, scene_depth=depth, **kw)
    ignored = fit_bodies(stick, identity_prior, cams, kp, cfg=cfg, **kw)  # no depth: the factor does nothing

    def leg_err(res):
        return float((res.keypoints[0, leg] - out.keypoints[0, leg]).norm(dim=-1).mean())

    assert leg_err(seen) > 0.05 and leg_err(aware) < 0.3 * leg_err(seen), (leg_err(aware), leg_err(seen))
    assert np.isclose(leg_err(ignored), leg_err(seen), atol=1e-9)
    hidden = aware.extra["hidden"][0]  # (k, J) over the matched points
    names = aware.extra["point_names"]
    leg_cols = [names.index(KEYPOINT_NAMES[i]) for i in leg]
    assert hidden[np.ix_(hidden_views, leg_cols)].all()
    assert not hidden[[3, 5, 7]].any()
    assert "hidden" not in seen.extra


def test_scene_depth_of_the_wrong_size_is_an_input_error(stick, identity_prior):
    _, out, cams, kp = _scene(stick, n_views=3)
    depth = [np.full((10, 10), np.inf, np.float32)] * 3
    with pytest.raises(InputError, match=r"scene_depth\[0\] has shape \(10, 10\)"):
        fit_bodies(stick, identity_prior, cams, kp, cfg=_cfg(phase_iters=2, occlusion_weight=0.5), scene_depth=depth,
                   point=out.joints[0, 0].numpy(), progress=False, **ZERO)
    with pytest.raises(InputError, match="scene_depth has 2 maps but 3 cameras"):
        fit_bodies(stick, identity_prior, cams, kp, cfg=_cfg(phase_iters=2, occlusion_weight=0.5),
                   scene_depth=depth[:2], point=out.joints[0, 0].numpy(), progress=False, **ZERO)
