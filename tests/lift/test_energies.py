"""Every lifting energy on a hand-computed case, plus gradients."""

import pytest
import torch

from inhabit.lift import energies as E


def test_geman_mcclure_values_and_saturation():
    r = torch.tensor([0.0, 0.1, -0.1, 0.2, 100.0], dtype=torch.float64)
    rho = E.geman_mcclure(r, 0.2)
    # 0.04*0.01/(0.01+0.04) = 0.008; at r = sigma: sigma^2/2 = 0.02; far away -> sigma^2 = 0.04.
    assert torch.allclose(rho[:4], torch.tensor([0.0, 0.008, 0.008, 0.02], dtype=torch.float64))
    assert rho[4] == pytest.approx(0.04, rel=1e-5)


def test_geman_mcclure_gradcheck():
    r = torch.tensor([-0.5, -0.05, 0.01, 0.3, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: E.geman_mcclure(x, 0.2), (r,))


def test_keypoint_costs_per_coordinate_times_confidence():
    pred = torch.zeros(1, 2, 2, 2, dtype=torch.float64)
    obs = torch.tensor([[[[0.1, 0.0], [0.0, 0.2]], [[0.1, 0.1], [0.0, 0.0]]]], dtype=torch.float64)
    conf = torch.tensor([[[1.0, 0.5], [0.25, 1.0]]], dtype=torch.float64)
    c = E.keypoint_costs(pred, obs, conf, 0.2)
    # rho(0.1) = 0.008, rho(0.2) = 0.02.
    expected = torch.tensor([[[0.008, 0.5 * 0.02], [0.25 * (0.008 + 0.008), 0.0]]], dtype=torch.float64)
    assert torch.allclose(c, expected)


def test_group_sum_adds_points_of_each_group():
    costs = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    g = torch.tensor([0, 1, 0, 1])
    assert torch.equal(E.group_sum(costs, g, 2), torch.tensor([[[4.0, 6.0]]]))


def test_view_weighted_mean_value_and_gradient_through_both_sums():
    L = torch.tensor([[1.0, 3.0, 10.0]], dtype=torch.float64)
    w = torch.tensor([[0.5, 0.5, 0.0]], dtype=torch.float64, requires_grad=True)
    m = E.view_weighted_mean(L, w)
    assert m.item() == pytest.approx(2.0)  # the zero-weight view does not count
    m.sum().backward()
    # d/dw_i (sum w L / sum w) = (L_i - mean) / sum w
    assert torch.allclose(w.grad, torch.tensor([[-1.0, 1.0, 8.0]], dtype=torch.float64))


def test_view_weighted_mean_grouped_and_all_zero_weights():
    L = torch.tensor([[[1.0, 2.0], [3.0, 6.0]]])
    w = torch.tensor([[1.0, 3.0]])
    assert torch.allclose(E.view_weighted_mean(L, w), torch.tensor([[2.5, 5.0]]))
    assert E.view_weighted_mean(L, torch.zeros(1, 2)).abs().max() == 0.0


def test_view_count_hinge():
    w = torch.tensor([[0.5, 0.5, 0.5, 0.5], [1.0, 1.0, 1.0, 0.5], [0.5, 0.5, 0.0, 0.0]])
    n = torch.tensor([4, 4, 2])
    e = E.view_count_hinge(w, n, tau=3.0, min_views=3)
    # 3 - 2 = 1; sum 3.5 >= 3 -> 0; only 2 views -> not applied.
    assert torch.allclose(e, torch.tensor([1.0, 0.0, 0.0]))


def test_scene_penetration_mean_depth_below_threshold():
    s = torch.tensor([[0.1, -0.02, -0.04], [0.1, 0.2, 0.0]], dtype=torch.float64)
    assert torch.allclose(E.scene_penetration(s, 0.0), torch.tensor([0.03, 0.0], dtype=torch.float64))
    # Sketchfab tolerates 1 cm: depths below -0.01 are 0.01 and 0.03.
    assert torch.allclose(E.scene_penetration(s, -0.01), torch.tensor([0.02, 0.0], dtype=torch.float64))


def test_scene_contact_pulls_the_closest_vertex_only_without_penetration():
    s = torch.tensor([[0.3, 0.05, 0.2], [0.3, -0.001, 0.2]], dtype=torch.float64, requires_grad=True)
    c = E.scene_contact(s, 0.0)
    assert torch.allclose(c, torch.tensor([0.05, 0.0], dtype=torch.float64))
    c.sum().backward()
    assert torch.equal(s.grad, torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64))
    # With threshold -0.01 the second body no longer penetrates: gap = -0.001 + 0.01.
    c2 = E.scene_contact(s.detach(), -0.01)
    assert torch.allclose(c2, torch.tensor([0.06, 0.009], dtype=torch.float64))


def test_beta_prior_and_latent_l2():
    b = torch.tensor([[2.0, 1.0, 0.0, 0.0]])
    # (0.5*2)^2 + 1 = 2, mean over 4 -> 0.5
    assert E.beta_prior(b, 0.5).item() == pytest.approx(0.5)
    assert E.latent_l2(torch.tensor([[1.0, -3.0]])).item() == pytest.approx(5.0)


def test_reprojection_chain_gradcheck():
    torch.manual_seed(0)
    pred = torch.rand(2, 3, 4, 2, dtype=torch.float64, requires_grad=True)
    logits = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    obs = torch.rand(2, 3, 4, 2, dtype=torch.float64)
    conf = torch.rand(2, 3, 4, dtype=torch.float64)
    g = torch.tensor([0, 0, 1, 1])

    def f(p, lg):
        c = E.keypoint_costs(p, obs, conf, 0.2)
        return E.view_weighted_mean(E.group_sum(c, g, 2), torch.sigmoid(lg))

    assert torch.autograd.gradcheck(f, (pred, logits))
