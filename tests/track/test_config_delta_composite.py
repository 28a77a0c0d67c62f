"""TrackConfig presets, the relative-pose parameterisations, the two-layer composite and crops."""

import math

import numpy as np
import pytest
import torch

from inhabit.errors import InputError
from inhabit.scene.gaussians import GaussianSet
from inhabit.track.composite import Crop, Layer, composite_layers, crop_box, layer_from_splat
from inhabit.track.config import TrackConfig, track_config_from_dict, track_preset
from inhabit.track.delta import apply_camera_delta, apply_object_delta, camera_center_of, se3_delta


def test_zerohsi_preset_has_the_paper_numbers():
    c = track_preset("zerohsi")
    assert (c.camera_iters, c.camera_lr) == (30, 1e-3)
    assert (c.iters, c.root_only_iters, c.lr, c.ssim_lambda) == (300, 30, 0.01, 0.1)
    assert (c.lambda_center, c.lambda_depth, c.color_every, c.color_lr) == (1e-3, 1e-3, 5, 1e-5)
    assert (c.refine_iters, c.refine_lr, c.lambda_physics, c.lambda_contact) == (1000, 0.05, 1e-3, 1.0)
    assert (c.lambda_smooth_static, c.lambda_smooth_dynamic) == (0.3, 0.1)
    assert c.early_stop_patience == 0 and c.camera_downscale == 1
    f = track_preset("fast", iters=7)
    assert f.iters == 7 and f.early_stop_patience > 0 and f.refine_iters < c.refine_iters


def test_config_errors_name_the_field():
    with pytest.raises(InputError, match=r"^TrackConfig.lr must be a positive number, got -1$"):
        TrackConfig(lr=-1)
    with pytest.raises(InputError, match=r"^unknown track preset 'paper'; expected one of zerohsi, fast$"):
        track_preset("paper")
    with pytest.raises(InputError, match=r"^unknown track setting\(s\) itres; expected some of "):
        track_config_from_dict({"itres": 3})
    with pytest.raises(InputError, match="composite must be 'layered' or 'full'"):
        TrackConfig(composite="joint")
    assert TrackConfig().replace(iters=5).iters == 5


def test_camera_delta_acts_in_the_camera_frame():
    T = torch.eye(4, dtype=torch.float64)
    T[:3, 3] = torch.tensor([0.1, -0.2, 3.0])
    zero = torch.zeros(3, dtype=torch.float64)
    assert torch.allclose(se3_delta(zero, zero), torch.eye(4, dtype=torch.float64))
    # a translation along the camera's +z moves the world forward: the camera centre moves back
    T2 = apply_camera_delta(T, zero, torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64))
    assert torch.allclose(camera_center_of(T2) - camera_center_of(T), torch.tensor([0.0, 0.0, -0.5], dtype=torch.float64))
    # a pure rotation keeps the camera centre (rotation about the camera, not the world origin)
    T3 = apply_camera_delta(T, torch.tensor([0.0, 0.02, 0.0], dtype=torch.float64), zero)
    assert torch.allclose(camera_center_of(T3), camera_center_of(T), atol=1e-12)


def test_object_delta_rotates_about_the_object_origin():
    T = torch.eye(4, dtype=torch.float64)
    T[:3, 3] = torch.tensor([2.0, 1.0, 0.5])
    rv = torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64)
    T2 = apply_object_delta(T, rv, torch.zeros(3, dtype=torch.float64))
    assert torch.allclose(T2[:3, 3], T[:3, 3])  # the origin stays put
    assert torch.allclose(T2[:3, :3] @ torch.tensor([1.0, 0, 0], dtype=torch.float64),
                          torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), atol=1e-12)


def _layer(rgb, alpha, depth):
    return Layer(torch.tensor(rgb, dtype=torch.float64), torch.tensor(alpha, dtype=torch.float64),
                 torch.tensor(depth, dtype=torch.float64))


def test_composite_layers_hand_case():
    # two pixels: the dynamic layer in front at pixel 0, behind at pixel 1
    static = _layer([[[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]], [[1.0, 0.5]], [[2.0, 2.0]])
    dyn = _layer([[[0.4, 0.0, 0.0], [0.4, 0.0, 0.0]]], [[0.5, 0.5]], [[1.0, 3.0]])
    bg = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    rgb, vis = composite_layers(static, dyn, bg)
    # pixel 0: C_d + (1 - a_d) C_s = (0.4 + 0.25, 0.25, 0.25); both layers' holes see the background
    assert rgb[0, 0].tolist() == pytest.approx([0.65, 0.25, 0.25 + 0.0])
    # pixel 1: static alpha 0.5 < 0.5? no (equal): it occludes: C_s + (1 - a_s) C_d + (1-a_s)(1-a_d) bg
    assert rgb[0, 1].tolist() == pytest.approx([0.5 + 0.2, 0.5, 0.5 + 0.25])
    assert vis[0].tolist() == pytest.approx([1.0, 0.5])


def test_layered_composite_equals_the_joint_render_when_layers_do_not_interleave():
    from inhabit.camera.pinhole import Camera
    from inhabit.render.splat import get_splatter

    g = torch.Generator().manual_seed(0)
    n = 300
    back = GaussianSet.from_points(torch.cat([torch.rand(n, 2, generator=g, dtype=torch.float64) * 2 - 1,
                                              torch.full((n, 1), 0.0, dtype=torch.float64)], 1),
                                   torch.rand(n, 3, generator=g, dtype=torch.float64), scale=0.08, opacity=0.9)
    front = GaussianSet.from_points(torch.cat([torch.rand(80, 2, generator=g, dtype=torch.float64) * 0.8 - 0.4,
                                               torch.full((80, 1), 0.8, dtype=torch.float64)], 1),
                                    torch.rand(80, 3, generator=g, dtype=torch.float64), scale=0.05, opacity=0.8)
    cam = Camera.look_at(np.array([0.0, -0.01, 3.0]), np.zeros(3), 48, 48, fov_y_deg=50)
    spl = get_splatter("torch")
    bg = torch.tensor([0.2, 0.3, 0.4], dtype=torch.float64)
    joint = spl.render(GaussianSet.cat([back, front]), cam, background=bg).rgb
    rgb, _ = composite_layers(layer_from_splat(spl.render(back, cam)), layer_from_splat(spl.render(front, cam)), bg)
    # equal up to the compositor's early termination (transmittance < 1e-4) and alpha clamps
    assert float((rgb - joint).abs().max()) < 2e-3
    # and the crop of the layered render is the crop of the full one (up to the renderer's culling
    # thresholds, which see other image borders)
    box = Crop(8, 16, 16, 16)
    rgb_c, _ = composite_layers(layer_from_splat(spl.render(back, box.camera(cam))),
                                layer_from_splat(spl.render(front, box.camera(cam))), bg)
    assert float((rgb_c - box.slice(rgb)).abs().max()) < 1e-3


def test_crop_box_bounds_margin_rounding_and_clipping():
    m = np.zeros((64, 80), bool)
    m[20:30, 30:35] = True
    c = crop_box(80, 64, [m], margin=4, multiple=16)
    assert (c.x0, c.y0) == (26, 16) and (c.width, c.height) == (16, 32)  # 13 x 18 px grown to 16 x 32
    assert c.slice(m).sum() == m.sum()
    pts = np.array([[78.0, 60.0], [np.nan, 1.0]])  # near the corner; NaN rows ignored
    c2 = crop_box(80, 64, [m], pts, margin=4, multiple=16)
    assert c2.x0 + c2.width <= 80 and c2.y0 + c2.height <= 64 and c2.slice(m).sum() == m.sum()
    assert crop_box(80, 64) == Crop(0, 0, 80, 64)
    with pytest.raises(ValueError, match="mask shape"):
        crop_box(80, 64, [np.zeros((3, 3), bool)])
