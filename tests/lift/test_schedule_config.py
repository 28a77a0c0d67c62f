"""Weight schedules (knot interpolation) and the named presets."""

import numpy as np
import pytest

from inhabit.errors import InputError
from inhabit.lift.config import LIFT_PRESETS, LiftConfig, TermKnots, lift_preset
from inhabit.lift.schedule import knot_table, knot_weight, phase_table


def test_knot_weight_ramps_linearly_within_each_phase():
    contact = (0.0, 0.0, 0.0, 5.0, 10.0)
    assert knot_weight(contact, 0, 400) == 0.0
    assert knot_weight(contact, 799, 400) == 0.0  # phases 0 and 1 ramp 0 -> 0
    assert knot_weight(contact, 1000, 400) == 2.5  # phase 2 ramps in: 0 -> 5
    assert knot_weight(contact, 1199, 400) == pytest.approx(4.9875)
    assert knot_weight(contact, 1200, 400) == 5.0
    assert knot_weight(contact, 1400, 400) == 7.5
    # The end knot is never reached: 5 + 5 * 399/400.
    assert knot_weight(contact, 1599, 400) == pytest.approx(9.9875)
    pen = (1.0, 0.1, 0.01, 0.1, 1.0)
    assert knot_weight(pen, 200, 400) == pytest.approx(0.55)
    assert knot_weight(pen, 400, 400) == pytest.approx(0.1)
    assert knot_weight(pen, 1000, 400) == pytest.approx(0.01 + 0.09 * 0.5)


def test_knot_table_matches_pointwise_and_phase_table_repeats():
    k = (10.0, 1.0, 0.1, 1.0, 50.0)
    tab = knot_table(k, 7)
    assert tab.shape == (28,)
    assert np.allclose(tab, [knot_weight(k, i, 7) for i in range(28)])
    assert np.array_equal(phase_table((0.0, 0.01, 0.01, 0.01), 3), [0, 0, 0] + [0.01] * 9)


def test_knot_weight_rejects_bad_schedules():
    with pytest.raises(ValueError, match="at least 2 knots"):
        knot_weight((1.0,), 0, 10)
    with pytest.raises(ValueError, match="phase_iters"):
        knot_weight((1.0, 2.0), 0, 0)


def test_presets_carry_the_authors_numbers():
    sk, px = LIFT_PRESETS["genzi-sketchfab"], LIFT_PRESETS["genzi-proxs"]
    assert sk.num_iters == 1600 and px.num_iters == 1600
    assert sk.penetration_threshold == -0.01 and px.penetration_threshold == 0.0
    assert sk.init_yaw_deg == -90.0 and px.init_yaw_deg == 90.0
    assert sk.weights.contact == (0.0, 0.0, 0.0, 5.0, 10.0)
    assert px.weights.contact == (0.0, 0.0, 0.0, 10.0, 1000.0)
    assert px.weights.penetration == (10.0, 1.0, 0.1, 1.0, 50.0)
    assert sk.refine_weights.penetration == (1.0, 0.1, 0.01, 0.1, 2.0)
    assert sk.weights.pose_prior == (0.0, 0.0, 0.0, 1e-4, 1e-3) and px.weights.shape == (0.0, 0.0, 0.0, 0.1, 1.0)
    assert all(v == 0 for v in sk.weights.self_penetration) and any(sk.refine_weights.self_penetration)
    assert sk.lr.view == (0.0, 0.01, 0.01, 0.01) and sk.lr.transl == (0.01,) * 4
    assert sk.weight_decay == 0.01 and sk.adam_betas == (0.9, 0.999) and sk.adam_eps == 1e-8
    assert sk.sigma == 0.2 and sk.view_tau == 3.0


def test_overrides_and_their_errors():
    cfg = lift_preset("genzi-sketchfab", phase_iters=10, weights={"contact": [0, 0, 0, 1, 2]})
    assert cfg.phase_iters == 10 and cfg.weights.contact == (0.0, 0.0, 0.0, 1.0, 2.0)
    assert cfg.weights.penetration == LIFT_PRESETS["genzi-sketchfab"].weights.penetration
    with pytest.raises(InputError, match="lift config has no field 'phase_its'"):
        lift_preset("fast", phase_its=3)
    with pytest.raises(InputError, match="'weights' has no entry 'contacts'"):
        lift_preset("fast", weights={"contacts": [0, 0, 0, 0, 0]})
    with pytest.raises(InputError, match=r"'weights\.contact' must have 5 knots, got 3"):
        TermKnots(contact=(0.0, 1.0, 2.0))
    with pytest.raises(InputError, match="finite non-negative"):
        TermKnots(contact=(0.0, 0.0, 0.0, -1.0, 1.0))
    with pytest.raises(InputError, match="unknown lift preset 'sketchfab'"):
        lift_preset("sketchfab")
    with pytest.raises(InputError, match="'facing' must be 'yaw', 'cameras' or 'keypoints', got 'north'"):
        LiftConfig(facing="north")


def test_learning_rates_are_constants_or_ramps():
    from inhabit.lift.config import LearningRates
    from inhabit.lift.fit import _lr_table

    cfg = lift_preset("inhabit")
    transl = _lr_table(cfg.lr.transl, cfg)
    view = _lr_table(cfg.lr.view, cfg)
    assert transl[0] == 0.01 and transl[1199] == 0.01
    assert transl[1400] == pytest.approx(0.01 + (0.001 - 0.01) * 200 / 400)  # ramping down in phase 3
    assert view[399] == 0.0 and view[400] == 0.01 and view[1599] == 0.01  # frozen in phase 0
    with pytest.raises(InputError, match="one rate per phase or one knot more"):
        LearningRates(orient=(0.01,) * 2)  # 2 next to the default 4: neither P nor P+1
    with pytest.raises(InputError, match="must agree on the number of phases"):
        LiftConfig(lr=LearningRates(orient=(0.01,) * 3, transl=(0.01,) * 3, pose=(0.01,) * 3, shape=(0.01,) * 3,
                                    view=(0.0, 0.01, 0.01)))
