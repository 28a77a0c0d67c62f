"""gsplat (CUDA) agrees with the torch reference on the same inputs. Skipped without CUDA/gsplat."""

from __future__ import annotations

import pytest
import torch

from inhabit.render.splat import TorchSplatter, get_splatter

pytestmark = pytest.mark.gpu


@pytest.fixture
def cuda_scene(make_gaussians, make_camera):
    pytest.importorskip("gsplat")
    gs = make_gaussians(300, seed=11, dtype=torch.float32, sh_degree=3)
    # Keep every opacity below 0.98: gsplat clamps alpha at 0.999 and inhabit at 0.99.
    gs.opacity_logits = gs.opacity_logits.clamp(max=3.5)
    return gs.to("cuda"), make_camera(96, 64)


def test_auto_selects_gsplat_for_cuda_tensors(cuda_scene):
    gs, _ = cuda_scene
    assert get_splatter("auto", device=gs.device).name == "gsplat"


def test_gsplat_matches_the_torch_reference(cuda_scene):
    gs, cam = cuda_scene
    bg = torch.tensor([0.2, 0.3, 0.4], device="cuda")
    extra = torch.rand(len(gs), 2, device="cuda")
    ref = TorchSplatter().render(gs, cam, background=bg, extra=extra)
    out = get_splatter("gsplat").render(gs, cam, background=bg, extra=extra)
    assert (out.rgb - ref.rgb).abs().max() < 2e-3
    assert (out.alpha - ref.alpha).abs().max() < 2e-3
    assert (out.extra - ref.extra).abs().max() < 2e-3
    hit = ref.alpha > 0.2
    assert (out.depth - ref.depth)[hit].abs().max() < 5e-3


def test_gsplat_gradients_match_the_torch_reference(cuda_scene):
    gs, cam = cuda_scene
    grads = {}
    for name, sp in (("torch", TorchSplatter()), ("gsplat", get_splatter("gsplat"))):
        g = gs.clone().requires_grad_()
        T = torch.as_tensor(cam.T_cam_world, dtype=torch.float32, device="cuda").requires_grad_()
        out = sp.render(g, cam, T_cam_world=T)
        (out.rgb.square().sum() + out.alpha.sum()).backward()
        grads[name] = (g.means.grad, g.colors.grad, g.opacity_logits.grad, T.grad)
    for a, b in zip(grads["torch"], grads["gsplat"]):
        assert (a - b).norm() <= 2e-2 * a.norm()
