"""The mask maths against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inhabit.errors import InputError
from inhabit.imagine.masking import (
    attention_to_mask,
    box_filter,
    dilate_reference,
    mean_of_recent,
    quantile_mask,
    silhouette_to_inpaint_mask,
    upsample_maps,
)


def test_box_filter_counts_zero_padding():
    ones = torch.ones(1, 4, 4)
    out = box_filter(ones, 3)[0]
    # corner sees 4 of 9 cells inside the image, an edge cell 6, an interior cell 9
    assert out[0, 0].item() == pytest.approx(4 / 9)
    assert out[0, 1].item() == pytest.approx(6 / 9)
    assert out[1, 1].item() == pytest.approx(1.0)
    spike = torch.zeros(1, 4, 4)
    spike[0, 0, 0] = 1.0
    s = box_filter(spike, 3)[0]
    assert s[0, 0].item() == pytest.approx(1 / 9) and s[1, 1].item() == pytest.approx(1 / 9)
    assert s[2, 2].item() == 0.0
    with pytest.raises(ValueError, match="odd"):
        box_filter(ones, 4)


def test_quantile_mask_linear_interpolation():
    v = torch.arange(10, dtype=torch.float32).reshape(1, 2, 5)
    # linear 0.7-quantile of 0..9 is 6.3: values 7, 8, 9 pass
    m = quantile_mask(v, 0.7)
    assert m.sum().item() == 3 and m[0, 1, 2:].all()
    # per image, not across the batch
    both = quantile_mask(torch.stack([v[0], v[0] + 100]), 0.7)
    assert both.sum(dim=(1, 2)).tolist() == [3, 3]


def test_mean_of_recent():
    hist = [torch.full((1, 2, 2), float(k)) for k in (1, 2, 3, 4)]
    assert mean_of_recent(hist[:1], 3).unique().item() == 1.0
    assert mean_of_recent(hist[:2], 3).unique().item() == 1.5
    assert mean_of_recent(hist, 3).unique().item() == 3.0  # steps 2, 3, 4
    with pytest.raises(ValueError):
        mean_of_recent([], 3)


def test_attention_to_mask_follows_the_hot_region_and_covers_30_percent():
    maps = torch.full((2, 16, 16), 0.01)
    maps[0, 2:10, 4:12] = 1.0  # image 0: the person is top-middle
    maps[1, 8:16, 0:8] = 1.0  # image 1: bottom-left
    m = attention_to_mask(maps, (64, 64), box=3, quantile=0.7).numpy()
    assert m.shape == (2, 64, 64)
    np.testing.assert_allclose(m.mean(axis=(1, 2)), 0.3, atol=0.01)
    # the region's interior (one cell = 4 px in from its border) is masked ...
    assert m[0, 12:36, 20:44].all() and m[1, 36:60, 4:28].all()
    # ... and the mask stays within one cell of it
    outside0 = np.ones((64, 64), bool)
    outside0[4:44, 12:52] = False
    assert not m[0][outside0].any()


def test_upsample_modes():
    x = torch.rand(3, 4, 5)
    assert upsample_maps(x, (8, 10)).shape == (3, 8, 10)
    near = upsample_maps(x, (8, 10), "nearest")
    torch.testing.assert_close(near[:, ::2, ::2], x)


def test_silhouette_dilation_hand_case():
    sil = np.zeros((101, 101), bool)
    sil[50, 50] = True
    out = silhouette_to_inpaint_mask(sil, kernel=11, iterations=8)
    # each iteration grows by 5 px on every side: 1 + 2·5·8 = 81 px square
    ys, xs = np.nonzero(out)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (10, 90, 10, 90)
    assert out.sum() == 81 * 81
    # near a border the growth is cut, not wrapped
    sil2 = np.zeros((20, 20), bool)
    sil2[0, 0] = True
    assert silhouette_to_inpaint_mask(sil2, 3, 2).sum() == 9
    assert np.array_equal(silhouette_to_inpaint_mask(sil, 1, 8), sil)
    assert np.array_equal(silhouette_to_inpaint_mask(sil, 11, 0), sil)


def test_opencv_dilation_matches_torch_reference():
    rng = np.random.default_rng(3)
    sil = rng.random((60, 70)) > 0.97
    for kernel, iters in ((11, 8), (3, 1), (5, 3)):
        assert np.array_equal(silhouette_to_inpaint_mask(sil, kernel, iters), dilate_reference(sil, kernel, iters))
    # alpha in [0, 1] and 0/255 masks are thresholded at one half
    alpha = np.where(sil, 0.9, 0.2)
    assert np.array_equal(silhouette_to_inpaint_mask(alpha, 3, 1), silhouette_to_inpaint_mask(sil, 3, 1))
    u8 = sil.astype(np.uint8) * 255
    assert np.array_equal(silhouette_to_inpaint_mask(u8, 3, 1), silhouette_to_inpaint_mask(sil, 3, 1))


def test_silhouette_errors():
    with pytest.raises(InputError, match="dilation kernel must be a positive odd size, got 4"):
        silhouette_to_inpaint_mask(np.zeros((8, 8), bool), kernel=4)
    with pytest.raises(InputError, match=r"silhouette has shape \(8, 8, 3\); expected an \(H, W\) mask"):
        silhouette_to_inpaint_mask(np.zeros((8, 8, 3), bool))
    with pytest.raises(InputError, match="silhouette contains NaN"):
        silhouette_to_inpaint_mask(np.full((8, 8), np.nan))
