"""The pure loss terms of inhabit.track against hand-computed values."""

import math

import numpy as np
import pytest
import torch

from inhabit.track.losses import (
    aggregated_static_masks,
    center_loss,
    depth_loss,
    dssim_loss,
    hand_object_contact_loss,
    l1_loss,
    mask_center,
    masked_l2,
    masked_mean_depth,
    penetration_loss,
    rgb_loss,
    smoothness_loss,
    ssim_map,
)


def manual_ssim(a: np.ndarray, b: np.ndarray, window: int = 11, sigma: float = 1.5) -> np.ndarray:
    """SSIM map by explicit loops over a zero-padded Gaussian window (the 3DGS definition)."""
    H, W, C = a.shape
    r = window // 2
    x = np.arange(window) - r
    g1 = np.exp(-(x**2) / (2 * sigma**2))
    g1 /= g1.sum()
    g = np.outer(g1, g1)
    pa = np.pad(a, ((r, r), (r, r), (0, 0)))
    pb = np.pad(b, ((r, r), (r, r), (0, 0)))
    out = np.zeros_like(a)
    c1, c2 = 0.01**2, 0.03**2
    for i in range(H):
        for j in range(W):
            for c in range(C):
                wa = pa[i:i + window, j:j + window, c]
                wb = pb[i:i + window, j:j + window, c]
                ma, mb = (g * wa).sum(), (g * wb).sum()
                va = (g * wa * wa).sum() - ma**2
                vb = (g * wb * wb).sum() - mb**2
                cov = (g * wa * wb).sum() - ma * mb
                out[i, j, c] = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return out


def test_dssim_identical_is_zero_and_shift_matches_manual():
    rng = np.random.default_rng(0)
    a = rng.random((6, 7, 2))
    b = np.roll(a, 1, axis=1)  # shifted by one pixel
    ta, tb = torch.as_tensor(a), torch.as_tensor(b)
    assert float(dssim_loss(ta, ta)) == pytest.approx(0.0, abs=1e-12)
    expected = 1.0 - manual_ssim(a, b).mean()
    got = float(dssim_loss(ta, tb))
    assert got > 0.1
    assert got == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(ssim_map(ta, tb).numpy(), manual_ssim(a, b), rtol=1e-10, atol=1e-12)


def test_ssim_gradcheck():
    rng = np.random.default_rng(1)
    a = torch.tensor(rng.random((5, 6, 1)), requires_grad=True)
    b = torch.tensor(rng.random((5, 6, 1)))
    assert torch.autograd.gradcheck(lambda x: dssim_loss(x, b, window=5), (a,))


def test_rgb_loss_is_the_weighted_sum():
    rng = np.random.default_rng(2)
    a, b = (torch.as_tensor(rng.random((8, 8, 3))) for _ in range(2))
    lam = 0.1
    expected = (1 - lam) * float((a - b).abs().mean()) + lam * float(dssim_loss(a, b))
    assert float(rgb_loss(a, b, lam)) == pytest.approx(expected, rel=1e-12)
    assert float(rgb_loss(a, b, 0.0)) == pytest.approx(float(l1_loss(a, b)), rel=1e-12)


def test_masked_l2_hand_case_and_empty_mask():
    pred = torch.zeros(2, 2, 3)
    target = torch.zeros(2, 2, 3)
    target[0, 0] = torch.tensor([1.0, 2.0, 3.0])  # inside the mask
    target[1, 1] = 10.0  # outside
    mask = torch.tensor([[True, True], [False, False]])
    # (1 + 4 + 9) / (2 pixels * 3 channels)
    assert float(masked_l2(pred, target, mask)) == pytest.approx(14.0 / 6.0)
    empty = masked_l2(pred.requires_grad_(), target, torch.zeros(2, 2, dtype=torch.bool))
    assert float(empty.detach()) == 0.0
    empty.backward()
    assert float(pred.grad.abs().sum()) == 0.0


def test_mask_center_pixel_centres_crops_and_soft_weights():
    m = torch.zeros(4, 8)
    m[1:3, 2:4] = 1.0  # pixels (rows 1-2, cols 2-3): centres x = 2.5, 3.5 and y = 1.5, 2.5
    c = mask_center(m)
    assert c.tolist() == pytest.approx([3.0 / 8.0, 2.0 / 4.0])
    # the same block seen through a crop at (x0, y0) = (2, 1) of the 8x4 image
    crop = m[1:3, 2:4]
    assert mask_center(crop, offset=(2.0, 1.0), size=(8, 4)).tolist() == pytest.approx(c.tolist())
    soft = torch.tensor([[1.0, 3.0]])  # weighted mean of x = 0.5 (w 1) and 1.5 (w 3) -> 1.25, over W = 2
    assert mask_center(soft).tolist() == pytest.approx([1.25 / 2.0, 0.5])
    assert float(center_loss(torch.tensor([0.5, 0.5]), torch.tensor([0.2, 0.9]))) == pytest.approx(0.09 + 0.16)


def test_masked_mean_depth_and_depth_loss():
    d = torch.tensor([[1.0, 2.0], [3.0, 10.0]])
    w = torch.tensor([[1.0, 1.0], [2.0, 0.0]])
    assert float(masked_mean_depth(d, w)) == pytest.approx((1 + 2 + 6) / 4)
    assert float(depth_loss(torch.tensor(2.5), 2.0)) == pytest.approx(0.25)


def test_aggregated_static_masks_eq8():
    H, W = 2, 3
    human = np.zeros((3, H, W), bool)
    obj = np.zeros((3, H, W), bool)
    human[0, 0, 0] = True
    obj[1, 1, 2] = True
    human[2, 0, 1] = True
    m = aggregated_static_masks(human, obj)
    expected = np.ones((3, H, W), bool)
    expected[0:, 0, 0] = False  # frame 0's human stays excluded in every later frame
    expected[1:, 1, 2] = False
    expected[2:, 0, 1] = False
    np.testing.assert_array_equal(m, expected)
    np.testing.assert_array_equal(aggregated_static_masks(human), ~np.logical_or.accumulate(human, 0))


def test_hand_object_contact_loss_hand_case():
    hand = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]],   # frame 0: vertex 0 is 3 cm from a particle
                         [[5.0, 5.0, 5.0], [6.0, 5.0, 5.0]]])  # frame 1: nothing near
    obj = torch.tensor([[[0.03, 0.0, 0.0], [0.0, 0.5, 0.0]],
                        [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    loss, count = hand_object_contact_loss(hand.requires_grad_(), obj, eps=0.05)
    assert loss.tolist() == pytest.approx([0.03, 0.0])
    assert count.tolist() == [1.0, 0.0]
    loss.sum().backward()
    # the gradient pulls vertex 0 towards the particle (+x), leaves the others alone
    assert hand.grad[0, 0].tolist() == pytest.approx([-1.0, 0.0, 0.0])
    assert float(hand.grad[1].abs().sum()) == 0.0 and float(hand.grad[0, 1].abs().sum()) == 0.0


def test_smoothness_loss_is_the_mean_norm():
    pose = torch.tensor([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0]])
    assert float(smoothness_loss(pose)) == pytest.approx(2.5, abs=1e-6)
    assert float(smoothness_loss(pose[:1])) == 0.0
    p = pose.clone().requires_grad_(True)
    smoothness_loss(p).backward()
    assert torch.isfinite(p.grad).all()  # finite at the zero difference


def test_penetration_loss():
    s = torch.tensor([0.1, -0.02, -0.04, 0.0])
    assert float(penetration_loss(s)) == pytest.approx(0.06 / 4)
    assert math.isclose(float(penetration_loss(torch.tensor([0.3, 0.2]))), 0.0)
