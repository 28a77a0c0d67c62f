"""Forward rendering: closed forms, compositing rules, tiled vs dense vs native, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from inhabit.camera.pinhole import Camera
from inhabit.errors import InputError
from inhabit.render.splat import (
    NativeSplatter,
    SplatSettings,
    TorchSplatter,
    get_splatter,
    render_gaussians,
)
from inhabit.scene.gaussians import GaussianSet

BACKENDS = ["dense", "torch", "native"]


def splatter(name: str, **kw):
    if name == "native":
        return NativeSplatter(**kw)
    return TorchSplatter(tiled=(name == "torch"), **kw)


def axis_camera(width=32, height=32, f=40.0) -> Camera:
    """Camera at the origin looking along +z (T_cam_world = I)."""
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    return Camera(K, np.eye(4), width, height)


def one_gaussian(pos, scales, rgb, opacity, quat=(0.0, 0.0, 0.0, 1.0), dtype=torch.float64) -> GaussianSet:
    kw = {"dtype": dtype}
    return GaussianSet(torch.tensor([pos], **kw), torch.tensor([quat], **kw), torch.log(torch.tensor([scales], **kw)),
                       torch.logit(torch.tensor([opacity], **kw)), torch.tensor([rgb], **kw))


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_gaussian_matches_closed_form(backend):
    # An anisotropic, off-axis Gaussian: the image must be opacity * exp(-0.5 d^T S2^-1 d) with
    # S2 = J S J^T + 0.3 I evaluated at pixel centres, J the perspective Jacobian at the centre.
    X, Y, Z, f = 0.1, -0.05, 2.0, 40.0
    sx, sy, sz = 0.05, 0.03, 0.04
    o, rgb, bg = 0.8, np.array([0.9, 0.3, 0.1]), np.array([0.2, 0.4, 0.6])
    cam = axis_camera(32, 32, f)
    gs = one_gaussian((X, Y, Z), (sx, sy, sz), rgb.tolist(), o)
    out = splatter(backend).render(gs, cam, background=torch.tensor(bg))

    J = np.array([[f / Z, 0, -f * X / Z**2], [0, f / Z, -f * Y / Z**2]])
    S2 = J @ np.diag([sx**2, sy**2, sz**2]) @ J.T + 0.3 * np.eye(2)
    P = np.linalg.inv(S2)
    mu = np.array([f * X / Z + 16, f * Y / Z + 16])
    jj, ii = np.meshgrid(np.arange(32) + 0.5, np.arange(32) + 0.5)
    d = np.stack([jj - mu[0], ii - mu[1]], -1)
    alpha = o * np.exp(-0.5 * np.einsum("hwi,ij,hwj->hw", d, P, d))
    alpha = np.where(alpha >= 1 / 255, np.minimum(alpha, 0.99), 0.0)
    expect = alpha[..., None] * rgb + (1 - alpha[..., None]) * bg
    assert np.abs(out.rgb.numpy() - expect).max() < 1e-6
    assert np.abs(out.alpha.numpy() - alpha).max() < 1e-6
    hit = alpha > 0
    assert np.abs(out.depth.numpy()[hit] - Z).max() < 1e-6
    assert np.abs(out.depth.numpy()[~hit]).max() < 1e-6


@pytest.mark.parametrize("backend", BACKENDS)
def test_occlusion_order_follows_depth(backend):
    cam = axis_camera()
    red = one_gaussian((0, 0, 2.0), (0.3, 0.3, 0.3), [1.0, 0.0, 0.0], 0.99)
    blue = one_gaussian((0, 0, 3.0), (0.4, 0.4, 0.4), [0.0, 0.0, 1.0], 0.99)
    sp = splatter(backend)
    c = sp.render(GaussianSet.cat([blue, red]), cam).rgb[16, 16]
    assert c[0] > 0.95 and c[2] < 0.05
    red_far = one_gaussian((0, 0, 3.0), (0.4, 0.4, 0.4), [1.0, 0.0, 0.0], 0.99)
    blue_near = one_gaussian((0, 0, 2.0), (0.3, 0.3, 0.3), [0.0, 0.0, 1.0], 0.99)
    c = sp.render(GaussianSet.cat([red_far, blue_near]), cam).rgb[16, 16]
    assert c[2] > 0.95 and c[0] < 0.05


@pytest.mark.parametrize("backend", BACKENDS)
def test_early_termination_excludes_the_splat_that_would_drop_T_below_1e4(backend):
    # Four stacked splats of alpha 0.95 at the centre pixel: T goes 1, .05, .0025, 1.25e-4 and the
    # fourth would take it to 6.25e-6 < 1e-4, so its colour must not appear at all.
    cam = axis_camera(16, 16, 400.0)
    cols = [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 1.0]]
    sets = [one_gaussian((0, 0, 2.0 + 0.1 * i), (0.5, 0.5, 0.01), c, 0.95) for i, c in enumerate(cols)]
    out = splatter(backend).render(GaussianSet.cat(sets), cam, background=torch.zeros(3))
    # Pixel (8, 8)'s centre is (0.5, 0.5) px from the splat centres; on the optical axis the 2D
    # covariance is isotropic, s2 = (f * 0.5 / Z)^2 + 0.3, so alpha = 0.95 * exp(-0.25 / s2).
    a, a2, a3 = (0.95 * math.exp(-0.25 / ((400 * 0.5 / z) ** 2 + 0.3)) for z in (2.0, 2.1, 2.2))
    expect = np.array([a, (1 - a) * a2, (1 - a) * (1 - a2) * a3])
    assert np.abs(out.rgb[8, 8].numpy() - expect).max() < 1e-9
    assert abs(float(out.alpha[8, 8]) - (1 - (1 - a) * (1 - a2) * (1 - a3))) < 1e-9


@pytest.mark.parametrize("backend", ["torch", "native"])
def test_gaussian_straddling_tiles_renders_as_dense(backend):
    # Centred exactly on the corner shared by four 16x16 tiles: the image is the dense one and
    # mirror-symmetric about the corner.
    cam = axis_camera(32, 32, 40.0)
    gs = one_gaussian((0, 0, 2.0), (0.08, 0.08, 0.08), [0.2, 0.7, 0.4], 0.9)
    dense = splatter("dense").render(gs, cam)
    tiled = splatter(backend).render(gs, cam)
    assert tiled.num_pairs == 4
    assert torch.allclose(tiled.rgb, dense.rgb, atol=1e-12)
    img = tiled.alpha.numpy()
    assert np.allclose(img, img[::-1, :]) and np.allclose(img, img[:, ::-1])
    assert img[15, 15] > 0.5 and abs(img[15, 15] - img[16, 16]) < 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tiled_and_native_match_dense_on_random_scenes(make_gaussians, make_camera, seed):
    gs = make_gaussians(120, seed=seed, dtype=torch.float32, sh_degree=2)
    cam = make_camera(48, 40)
    bg = torch.tensor([0.3, 0.1, 0.6])
    extra = torch.rand(len(gs), 2, generator=torch.Generator().manual_seed(seed))
    ref = splatter("dense").render(gs, cam, background=bg, extra=extra)
    for name in ("torch", "native"):
        out = splatter(name).render(gs, cam, background=bg, extra=extra)
        assert (out.rgb - ref.rgb).abs().max() < 1e-5, name
        assert (out.alpha - ref.alpha).abs().max() < 1e-5, name
        # Expected depth divides by alpha: compare where something was hit.
        hit = ref.alpha > 1e-3
        assert (out.depth - ref.depth)[hit].abs().max() < 1e-4, name
        assert (out.extra - ref.extra).abs().max() < 1e-5, name
    assert ref.alpha.max() > 0.9 and ref.alpha.min() < 0.1  # the scene is not trivially empty or full


def test_extra_features_render_an_object_mask(make_gaussians, make_camera):
    gs = make_gaussians(60, seed=3, dtype=torch.float32, sh_degree=None)
    cam = make_camera(40, 32)
    obj = torch.zeros(len(gs), 1)
    obj[:30] = 1.0
    out = NativeSplatter().render(gs, cam, extra=obj)
    only_obj = NativeSplatter().render(gs.subset(torch.arange(30)), cam)
    # The mask is the object's share of the composited weight: never more than the full alpha, and
    # equal to it where only the object is present.
    assert (out.extra[..., 0] <= out.alpha + 1e-6).all()
    alone = (only_obj.alpha > 0.5) & ((out.alpha - only_obj.alpha).abs() < 1e-6)
    assert alone.any()
    assert torch.allclose(out.extra[..., 0][alone], out.alpha[alone], atol=1e-5)


def test_gaussians_behind_the_camera_or_beyond_far_are_culled():
    cam = axis_camera()
    behind = one_gaussian((0, 0, -1.0), (0.3, 0.3, 0.3), [1, 1, 1], 0.9)
    far = one_gaussian((0, 0, 50.0), (5.0, 5.0, 5.0), [1, 1, 1], 0.9)
    sp = NativeSplatter(settings=SplatSettings(far=20.0))
    out = sp.render(GaussianSet.cat([behind, far]), cam)
    assert float(out.alpha.max()) == 0.0
    assert not out.visible.any() and torch.isnan(out.means2d).all()


def test_sh_colour_depends_on_view_direction():
    # Degree-1 SH with only the z-band: seen from +z and -z the colour differs by 2 * C1 * c.
    from inhabit.scene.gaussians_sh import SH_C1

    sh = torch.zeros(1, 4, 3, dtype=torch.float64)
    sh[0, 2] = 0.3  # coefficient of C1 * z
    gs = GaussianSet(torch.zeros(1, 3, dtype=torch.float64), torch.tensor([[0, 0, 0, 1.0]], dtype=torch.float64),
                     torch.log(torch.full((1, 3), 0.2, dtype=torch.float64)), torch.tensor([10.0], dtype=torch.float64),
                     sh)
    below = Camera.look_at(np.array([0, 0.001, -2.0]), np.zeros(3), 16, 16, up=np.array([0, 1.0, 0]))
    above = Camera.look_at(np.array([0, 0.001, 2.0]), np.zeros(3), 16, 16, up=np.array([0, 1.0, 0]))
    # Viewing direction (camera -> Gaussian) is +z from below and -z from above.
    o_below, o_above = NativeSplatter().render(gs, below), NativeSplatter().render(gs, above)
    c_below = o_below.rgb[8, 8] / o_below.alpha[8, 8]  # black background: colour = rgb / alpha
    c_above = o_above.rgb[8, 8] / o_above.alpha[8, 8]
    assert abs(float(c_below[0]) - (0.5 + SH_C1 * 0.3)) < 1e-5
    assert abs(float(c_above[0]) - (0.5 - SH_C1 * 0.3)) < 1e-5


def test_bad_inputs_are_input_errors_with_the_field_named(make_gaussians, make_camera):
    gs = make_gaussians(10, dtype=torch.float32)
    cam = make_camera()
    bad = gs.clone()
    bad.means[3, 1] = float("nan")
    with pytest.raises(InputError, match=r"field 'means' has non-finite values in 1 of 10 Gaussians"):
        render_gaussians(bad, cam, backend="torch")
    with pytest.raises(InputError, match=r"T_cam_world must be a \(4, 4\) matrix, got shape \(3, 4\)"):
        render_gaussians(gs, cam, T_cam_world=torch.eye(4)[:3], backend="torch")
    with pytest.raises(InputError, match=r"extra must have one row per Gaussian \(10\), got 4"):
        render_gaussians(gs, cam, extra=torch.zeros(4, 1), backend="torch")
    with pytest.raises(InputError, match=r"splat backend must be one of auto, native, torch, dense, gsplat, got 'cuda'"):
        get_splatter("cuda")
    with pytest.raises(InputError, match=r"background must be 3 RGB values, got 2"):
        render_gaussians(gs, cam, background=torch.zeros(2), backend="torch")


def test_auto_falls_back_to_torch_when_native_is_disabled(monkeypatch):
    from inhabit.render import splat, splat_native

    monkeypatch.setattr(splat_native, "_LIB", None)
    monkeypatch.setenv("INHABIT_SPLAT_NATIVE", "0")
    monkeypatch.setattr(splat, "_WARNED", set())
    with pytest.raises(splat_native.NativeUnavailable, match="disabled by INHABIT_SPLAT_NATIVE=0"):
        NativeSplatter()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        sp = get_splatter("auto")
    assert sp.name == "torch"
    assert any("pure-torch splatter" in str(x.message) for x in w)


def test_auto_picks_native_on_cpu():
    assert get_splatter("auto").name == "native"
