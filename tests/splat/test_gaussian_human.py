"""The Gaussian human: binding follows the posed mesh, gradients reach BodyParams, appearance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inhabit.body.gaussian_human import GaussianHuman, triangle_frames
from inhabit.body.protocol import BodyParams
from inhabit.camera.pinhole import Camera
from inhabit.errors import InputError
from inhabit.render.splat import NativeSplatter
from inhabit.rotations import rotation_about, rotmat_to_rotation6d


def bent_params(body, angle_deg=35.0, turn_deg=30.0, transl=(0.2, -0.1, 0.9)) -> BodyParams:
    p = body.default_params()
    p.body_pose[0] = torch.tensor([math.radians(angle_deg), 0.0, 0.0], dtype=p.body_pose.dtype)
    p.global_orient[0] = rotmat_to_rotation6d(rotation_about("z", turn_deg, p.global_orient.dtype))
    p.transl[0] = torch.tensor(transl, dtype=p.transl.dtype)
    return p


def test_gaussians_ride_their_triangles_exactly(toy_body):
    human = GaussianHuman.from_body(toy_body, spacing=0.01, seed=0)
    assert 1430 <= len(human) <= 1450  # box area 0.144 m² at 1 cm spacing
    p = bent_params(toy_body)
    out = toy_body(p)
    g = human(p)
    V, Fc = out.vertices[0], out.faces
    tri = V[Fc[human.face_idx]]
    expect = (human.bary[:, :, None] * tri).sum(1)
    assert torch.allclose(g.means, expect, atol=1e-12)
    # Rotation = the posed triangle frame (flat discs): its third axis is the face normal.
    frames, _ = triangle_frames(out.vertices, Fc, human.normal_sign)
    assert torch.allclose(g.rotmats(), frames[0, human.face_idx], atol=1e-9)
    # The bend moved the upper half and not the lower one (non-rigid), relative to the rigid placement.
    rest = human(bent_params(toy_body, angle_deg=0.0))
    moved = (g.means - rest.means).norm(dim=1)
    lower = human.rest_pos[:, 2] < -0.5
    upper = human.rest_pos[:, 2] > 0.5
    assert moved[lower].max() < 1e-12 and moved[upper].min() > 0.01


def test_rigid_body_motion_moves_gaussians_rigidly(toy_body):
    human = GaussianHuman.from_body(toy_body, spacing=0.015, seed=1)
    a = human(bent_params(toy_body, turn_deg=0.0, transl=(0, 0, 0)))
    b = human(bent_params(toy_body, turn_deg=70.0, transl=(1.0, 2.0, 0.5)))
    R = rotation_about("z", 70.0, torch.float64)
    assert torch.allclose(b.means, a.means @ R.T + torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), atol=1e-12)
    assert torch.allclose(b.rotmats(), R @ a.rotmats(), atol=1e-9)
    assert torch.allclose(b.log_scales, a.log_scales, atol=1e-12)


def test_stretching_a_triangle_stretches_its_gaussians_in_plane(toy_body):
    human = GaussianHuman.from_body(toy_body, spacing=0.015, seed=1)
    p = toy_body.default_params()
    p.shape[0, 0] = math.log(2.0)  # uniform scale x2: every area x4, in-plane std x2
    g0, g1 = human(toy_body.default_params()), human(p)
    d = g1.log_scales - g0.log_scales
    assert torch.allclose(d[:, :2], torch.full_like(d[:, :2], math.log(2.0)), atol=1e-9)
    assert torch.allclose(d[:, 2], torch.zeros_like(d[:, 2]))


def test_rendered_image_gradient_reaches_body_params_and_matches_finite_differences(toy_body):
    human = GaussianHuman.from_body(toy_body, spacing=0.03, seed=2, color=(0.8, 0.3, 0.2))
    with torch.no_grad():  # a non-zero colour net, so the pose also acts through the colour
        for prm in human.color_net.parameters():
            prm.copy_(0.1 * torch.randn_like(prm))
    cam = Camera.look_at(np.array([0.3, -0.8, 1.0]), np.array([0.2, -0.1, 0.9]), 20, 16, fov_y_deg=40)
    cc = torch.as_tensor(cam.center)
    w = torch.randn(16, 20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    base = bent_params(toy_body, angle_deg=20.0)
    sp = NativeSplatter()  # its compositor gradient is checked against finite differences on its own

    def f(go, tr, bp):
        p = BodyParams(go[None], tr[None], bp[None], base.shape)
        return (sp.render(human(p, cc), cam, background=torch.ones(3, dtype=torch.float64)).rgb * w).sum()

    inputs = tuple(t[0].clone().requires_grad_() for t in (base.global_orient, base.transl, base.body_pose))
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_colour_net_starts_at_the_base_colour_and_fine_tunes(toy_body):
    human = GaussianHuman.from_body(toy_body, spacing=0.02, seed=3, color=(0.2, 0.5, 0.7))
    p = bent_params(toy_body)
    g = human(p, torch.tensor([0.0, -2.0, 1.0], dtype=torch.float64))
    assert torch.allclose(g.colors, torch.tensor([0.2, 0.5, 0.7], dtype=torch.float64).expand_as(g.colors))
    target = torch.tensor([0.9, 0.1, 0.1], dtype=torch.float64)
    opt = torch.optim.Adam(human.color_parameters(), lr=1e-2)
    for _ in range(30):
        opt.zero_grad()
        loss = (human(p, torch.tensor([0.0, -2.0, 1.0], dtype=torch.float64)).colors - target).square().mean()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.05
    # Fine-tuning moved only the colour net: the base colours are as they were.
    assert torch.allclose(torch.sigmoid(human.base_color_logits[0]), torch.tensor([0.2, 0.5, 0.7], dtype=torch.float64))
    # The residual depends on the pose (the net is conditioned on the SMPL-X-style rotvecs).
    other = human(bent_params(toy_body, angle_deg=-30.0), torch.tensor([0.0, -2.0, 1.0], dtype=torch.float64))
    g2 = human(p, torch.tensor([0.0, -2.0, 1.0], dtype=torch.float64))
    assert (other.colors - g2.colors).abs().max() > 1e-6


def test_appearance_from_a_frame_recovers_visible_colours_and_fills_hidden_ones(toy_body):
    truth = GaussianHuman.from_body(toy_body, spacing=0.008, seed=4, color_net=False)
    with torch.no_grad():  # a smooth colour field over the body, so a pixel's blend is close to its centre's colour
        x = truth.rest_pos
        col = torch.stack([0.5 + 0.4 * torch.tanh(x[:, 0]), 0.5 + 0.4 * torch.tanh(x[:, 2]), 0.5 - 0.3 * x[:, 1]], 1)
        truth.base_color_logits.copy_(torch.logit(col))
    p = bent_params(toy_body, angle_deg=0.0, turn_deg=20.0, transl=(0, 0, 0))
    cam = Camera.look_at(np.array([0.1, -0.6, 0.15]), np.zeros(3), 96, 96, fov_y_deg=40)
    with torch.no_grad():
        image = NativeSplatter().render(truth(p), cam, background=torch.zeros(3, dtype=torch.float64)).rgb

    human = GaussianHuman.from_body(toy_body, spacing=0.008, seed=4, color=(0.5, 0.5, 0.5))
    stats = human.init_appearance_from_image(image.numpy(), cam, p)
    got = torch.sigmoid(human.base_color_logits)
    assert stats["visible"] > 0.25 * len(human) and stats["visible"] < 0.6 * len(human)
    assert stats["from_neighbours"] + stats["default"] + stats["visible"] == len(human)
    # Visible Gaussians take the frame's colour (up to the blur of neighbouring splats).
    out = human(p)
    frames, _ = triangle_frames(toy_body(p).vertices, toy_body.faces, human.normal_sign)
    normals = frames[0, human.face_idx, :, 2]
    facing = ((torch.as_tensor(cam.center) - out.means) * normals).sum(-1) > 0.3
    assert (got[facing] - col[facing]).abs().mean() < 0.03
    # Hidden ones are filled from their rest-pose neighbours (not left grey).
    assert stats["default"] == 0
    assert ((got[~facing] - 0.5).abs().max(dim=1).values > 0.02).float().mean() > 0.5
    with pytest.raises(InputError, match=r"the appearance frame must be \(96, 96, 3\) like its camera, got \(10, 10, 3\)"):
        human.init_appearance_from_image(np.zeros((10, 10, 3)), cam, p)
    # A person mask limits which pixels count: only the right half here.
    mask = np.zeros((96, 96), np.float32)
    mask[:, 48:] = 1.0
    half = human.init_appearance_from_image(image.numpy(), cam, p, mask=mask)
    assert 0 < half["visible"] < 0.7 * stats["visible"]
    assert half["visible"] + half["from_neighbours"] + half["default"] == len(human)
    with pytest.raises(InputError, match="no Gaussian of the human is visible"):
        human.init_appearance_from_image(image.numpy(), cam, p, mask=np.zeros((96, 96)))


def test_anny_human_follows_the_skinned_mesh():
    from inhabit.body import load_body_model

    body = load_body_model("anny")
    human = GaussianHuman.from_body(body, spacing=0.03, seed=0)
    assert human.normal_sign == 1.0 or human.normal_sign == -1.0
    p = body.default_params()
    g = torch.Generator().manual_seed(0)
    p.body_pose = 0.3 * torch.randn(p.body_pose.shape, generator=g)
    p.transl[0] = torch.tensor([0.5, 0.2, 0.9])
    p.body_pose.requires_grad_()
    out = body(p)
    gs = human(p, body_out=out)
    tri = out.vertices[0][out.faces[human.face_idx]]
    assert torch.allclose(gs.means, (human.bary[:, :, None] * tri).sum(1), atol=1e-5)
    gs.means.sum().backward()
    assert p.body_pose.grad.abs().sum() > 0
    # Outward normals: for area-uniform samples, mean((p - c) . n) = 3 V / A > 0 (divergence theorem);
    # for anny (V ~ 0.07 m^3, A ~ 1.9 m^2) about 0.1 m.
    centre = out.vertices[0].mean(0)
    normals = gs.rotmats()[:, :, 2]
    assert float(((gs.means - centre) * normals).sum(-1).mean().detach()) > 0.05
