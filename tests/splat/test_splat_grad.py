"""Gradients: finite differences (float64), native backward vs autograd, pose recovery by descent."""

from __future__ import annotations

import math

import pytest
import torch

from inhabit.render.splat import NativeSplatter, TorchSplatter, prepare_splats
from inhabit.rotations import rigid_from_rotation6d, rotation_about, rotmat_to_rotation6d
from inhabit.scene.gaussians import GaussianSet, RigidObject

FIELDS = ("means", "quats", "log_scales", "opacity_logits", "colors")


def weighted_loss(out, w_rgb, w_alpha, w_depth, depth_mask):
    return (out.rgb * w_rgb).sum() + (out.alpha * w_alpha).sum() + (out.depth * w_depth * depth_mask).sum()


def loss_weights(h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    kw = {"dtype": torch.float64, "generator": g}
    return torch.randn(h, w, 3, **kw), torch.randn(h, w, **kw), torch.randn(h, w, **kw)


@pytest.mark.parametrize("backend", ["torch", "native"])
def test_gradcheck_against_finite_differences_for_every_gaussian_field(backend, make_gaussians, make_camera):
    gs = make_gaussians(6, seed=4, sh_degree=1, spread=0.3, scale=(0.08, 0.2))
    cam = make_camera(20, 16)
    sp = TorchSplatter() if backend == "torch" else NativeSplatter()
    w = loss_weights(16, 20)
    with torch.no_grad():
        mask = (sp.render(gs, cam).alpha > 0.05).double()
    assert mask.sum() > 20

    def f(*tensors):
        return weighted_loss(sp.render(GaussianSet(*tensors), cam), *w, mask)

    inputs = tuple(t.clone().requires_grad_() for t in gs.tensors().values())
    # fast_mode compares a random directional derivative with the analytic vector-Jacobian product
    # (per input tensor); the element-wise comparison is test_native_backward_matches_torch_autograd.
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, fast_mode=True)


@pytest.mark.parametrize("backend", ["torch", "native"])
def test_gradcheck_camera_pose_delta(backend, make_gaussians, make_camera):
    gs = make_gaussians(8, seed=5, sh_degree=1, spread=0.3, scale=(0.08, 0.2))
    cam = make_camera(20, 16)
    T0 = torch.as_tensor(cam.T_cam_world)
    sp = TorchSplatter() if backend == "torch" else NativeSplatter()
    w = loss_weights(16, 20, seed=1)
    with torch.no_grad():
        mask = (sp.render(gs, cam).alpha > 0.05).double()
    r6 = rotmat_to_rotation6d(rotation_about("z", 1.0, torch.float64)).requires_grad_()
    t = torch.tensor([0.01, -0.02, 0.005], dtype=torch.float64, requires_grad=True)

    def f(r6, t):
        return weighted_loss(sp.render(gs, cam, T_cam_world=rigid_from_rotation6d(r6, t) @ T0), *w, mask)

    assert torch.autograd.gradcheck(f, (r6, t), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_native_compositor_gradcheck_including_background(make_gaussians, make_camera):
    from inhabit.render.splat_native import composite_tiles_native

    gs = make_gaussians(10, seed=6, sh_degree=None, spread=0.3, scale=(0.06, 0.15))
    cam = make_camera(24, 20)
    prep = prepare_splats(gs, cam, background=torch.tensor([0.2, 0.5, 0.1], dtype=torch.float64))
    p = prep.proj
    w = torch.randn(20, 24, prep.feats.shape[1], dtype=torch.float64)
    wa = torch.randn(20, 24, dtype=torch.float64)

    def f(m, c, o, feats, bg):
        img, alpha = composite_tiles_native(m, c, o, feats, bg, prep.bins, 24, 20, extent=p.extent)
        return (img * w).sum() + (alpha * wa).sum()

    inputs = tuple(t.detach().clone().requires_grad_() for t in (p.means2d, p.conics, p.opacities, prep.feats,
                                                                  prep.background))
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_native_backward_matches_torch_autograd_in_float32(make_gaussians, make_camera):
    gs32 = make_gaussians(300, seed=7, dtype=torch.float32, sh_degree=2)
    cam = make_camera(64, 48)
    grads = {}
    for name, sp in (("torch", TorchSplatter()), ("native", NativeSplatter())):
        g = gs32.clone().requires_grad_()
        T = torch.as_tensor(cam.T_cam_world, dtype=torch.float32).requires_grad_()
        out = sp.render(g, cam, T_cam_world=T)
        (out.rgb.square().sum() + out.alpha.sum()).backward()
        grads[name] = [getattr(g, f).grad for f in FIELDS] + [T.grad]
    for a, b in zip(grads["torch"], grads["native"]):
        scale = a.abs().max()
        assert scale > 0
        assert (a - b).abs().max() <= 2e-4 * scale


def _scene(seed=8, n=400):
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 3, generator=g) * torch.tensor([0.8, 0.3, 0.6])
    rgb = torch.rand(n, 3, generator=g)
    return GaussianSet.from_points(means, rgb, scale=0.06 + 0.04 * torch.rand(n, generator=g), opacity=0.8)


def rotation_error_deg(Ra: torch.Tensor, Rb: torch.Tensor) -> float:
    c = ((Ra.T @ Rb).trace() - 1) / 2
    return math.degrees(math.acos(float(c.clamp(-1, 1))))


def test_camera_pose_descent_recovers_a_small_known_shift(make_camera):
    scene = _scene(n=200)
    cam = make_camera(48, 36, eye=(0.4, -3.0, 0.5), fov=50)
    sp = NativeSplatter()
    T_true = torch.as_tensor(cam.T_cam_world, dtype=torch.float32)
    target = sp.render(scene, cam).rgb.detach()
    axis = torch.tensor([0.3, -0.5, 0.8])
    import roma

    dR = roma.rotvec_to_rotmat(axis / axis.norm() * math.radians(2.0))
    T_init = T_true.clone()
    T_init[:3, :3] = dR @ T_true[:3, :3]
    T_init[:3, 3] = dR @ T_true[:3, 3] + torch.tensor([0.03, -0.02, 0.025])
    r6 = rotmat_to_rotation6d(torch.eye(3)).requires_grad_()
    t = torch.zeros(3, requires_grad=True)
    opt = torch.optim.Adam([r6, t], lr=5e-3)
    for _ in range(100):
        opt.zero_grad()
        T = rigid_from_rotation6d(r6, t) @ T_init
        loss = (sp.render(scene, cam, T_cam_world=T).rgb - target).abs().mean()
        loss.backward()
        opt.step()
    T = rigid_from_rotation6d(r6, t).detach() @ T_init
    rot_err = rotation_error_deg(T[:3, :3], T_true[:3, :3])
    c_err = float((-(T[:3, :3].T @ T[:3, 3]) + T_true[:3, :3].T @ T_true[:3, 3]).norm())
    c_init = float((-(T_init[:3, :3].T @ T_init[:3, 3]) + T_true[:3, :3].T @ T_true[:3, 3]).norm())
    assert c_init > 0.03 and rotation_error_deg(T_init[:3, :3], T_true[:3, :3]) > 1.9
    assert rot_err < 0.2, rot_err
    assert c_err < 0.005, c_err


def test_object_pose_gradient_and_recovery(make_camera):
    obj_local = _scene(seed=9, n=120).transformed(torch.diag(torch.tensor([0.3, 0.3, 0.3, 1.0])))
    cam = make_camera(40, 32, eye=(0.2, -1.5, 0.4), fov=50)
    sp = NativeSplatter()
    T_true = torch.eye(4)
    T_true[:3, :3] = rotation_about("z", 20.0)
    T_true[:3, 3] = torch.tensor([0.05, 0.0, 0.02])
    target = sp.render(RigidObject(obj_local, T_true).world_gaussians(), cam).rgb.detach()

    T_init = T_true.clone()
    T_init[:3, :3] = rotation_about("z", 26.0) @ rotation_about("x", 3.0)
    T_init[:3, 3] += torch.tensor([0.03, 0.01, -0.02])
    obj = RigidObject(obj_local, T_init)

    # The rendered image's gradient reaches both pose parameters, and matches finite differences.
    loss = (sp.render(obj.world_gaussians(), cam).rgb - target).square().mean()
    loss.backward()
    assert obj.rotation6d.grad.abs().sum() > 0 and obj.translation.grad.abs().sum() > 0
    with torch.no_grad():
        eps = 1e-3
        obj.translation[0] += eps
        lp = (sp.render(obj.world_gaussians(), cam).rgb - target).square().mean()
        obj.translation[0] -= 2 * eps
        lm = (sp.render(obj.world_gaussians(), cam).rgb - target).square().mean()
        obj.translation[0] += eps
    fd = float(lp - lm) / (2 * eps)
    assert abs(fd - float(obj.translation.grad[0])) < 0.05 * abs(fd) + 1e-6

    opt = torch.optim.Adam(obj.parameters(), lr=5e-3)
    for _ in range(100):
        opt.zero_grad()
        loss = (sp.render(obj.world_gaussians(), cam).rgb - target).abs().mean()
        loss.backward()
        opt.step()
    T = obj.T_world_object().detach()
    assert rotation_error_deg(T[:3, :3], T_true[:3, :3]) < 1.0
    assert float((T[:3, 3] - T_true[:3, 3]).norm()) < 0.005


def test_native_splat_boxes_are_exact(make_gaussians, make_camera):
    # Restricting each splat to the pixels of its culling box must not change a single value.
    from inhabit.render.splat_native import composite_tiles_native

    gs = make_gaussians(200, seed=12, dtype=torch.float32, sh_degree=None, scale=(0.01, 0.2))
    cam = make_camera(64, 48)
    prep = prepare_splats(gs, cam)
    p = prep.proj
    args = (p.means2d, p.conics, p.opacities, prep.feats, prep.background, prep.bins, 64, 48)
    boxed = composite_tiles_native(*args, extent=p.extent)
    whole = composite_tiles_native(*args)
    assert torch.equal(boxed[0], whole[0]) and torch.equal(boxed[1], whole[1])
