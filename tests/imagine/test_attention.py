"""The recording attention processor: same output as the default, right maps recorded."""

from __future__ import annotations

import pytest
import torch

from inhabit.imagine.attention import (
    CrossAttentionRecorder,
    RecordingAttnProcessor,
    attention_grid,
    cross_attention_names,
    install_recorder,
    recording,
    remove_recorder,
)
from inhabit.imagine.testing import tiny_inpaint_pipeline


@pytest.fixture(scope="module")
def unet():
    return tiny_inpaint_pipeline(seed=0, variant="sd2").unet.eval()


def _inputs(b: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(b, 9, 32, 32, generator=g)
    ctx = torch.randn(b, 77, 32, generator=g)
    return sample, ctx


def test_recording_processor_leaves_unet_output_unchanged(unet):
    sample, ctx = _inputs(4)
    with torch.no_grad():
        ref = unet(sample, 500, encoder_hidden_states=ctx).sample
        rec = CrossAttentionRecorder()
        with recording(unet, rec):
            rec.start(2, (16, 16))
            out = unet(sample, 500, encoder_hidden_states=ctx).sample
            maps = rec.pop_step()
        after = unet(sample, 500, encoder_hidden_states=ctx).sample
    assert torch.equal(out, ref)  # bit-identical: the wrapped processor computes the output
    assert torch.equal(after, ref)
    assert maps is not None and maps.shape == (2, 16, 16, 77)
    assert not any(isinstance(p, RecordingAttnProcessor) for p in unet.attn_processors.values())


def test_recorded_maps_sum_to_one_and_keep_only_the_conditional_half(unet):
    sample, ctx = _inputs(2, seed=1)
    uncond = torch.randn(2, 77, 32, generator=torch.Generator().manual_seed(7))
    rec = CrossAttentionRecorder()
    with torch.no_grad(), recording(unet, rec):
        # CFG batch: [unconditional x2, conditional x2]
        rec.start(2, (16, 16))
        unet(torch.cat([sample, sample]), 500, encoder_hidden_states=torch.cat([uncond, ctx]))
        cfg_maps = rec.pop_step()
        # the conditional rows alone, no CFG
        rec.start(2, (16, 16))
        unet(sample, 500, encoder_hidden_states=ctx)
        cond_maps = rec.pop_step()
    torch.testing.assert_close(cfg_maps, cond_maps, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(cfg_maps.sum(-1), torch.ones(2, 16, 16), atol=1e-5, rtol=0)
    # 16×16 layers only: down block 1, the mid block, up block 0 (two transformers) in the tiny UNet
    assert sorted(n.split(".attentions")[0] for n in rec.recorded_layers) == [
        "down_blocks.1", "mid_block", "up_blocks.0", "up_blocks.0"]


def test_recorded_maps_match_a_manual_softmax(unet):
    """The mean over heads and layers of softmax(q kᵀ / √d), computed here from the layers' weights."""
    sample, ctx = _inputs(1, seed=2)
    captured: dict[str, torch.Tensor] = {}
    hooks = []
    for name in cross_attention_names(unet):
        mod = unet.get_submodule(name[: -len(".processor")])
        hooks.append(mod.register_forward_pre_hook(
            lambda m, args, kw, name=name: captured.__setitem__(name, args[0] if args else kw["hidden_states"]),
            with_kwargs=True))
    rec = CrossAttentionRecorder()
    try:
        with torch.no_grad(), recording(unet, rec):
            rec.start(1, (16, 16))
            unet(sample, 500, encoder_hidden_states=ctx)
            maps = rec.pop_step()
    finally:
        for h in hooks:
            h.remove()
    total, count = 0, 0
    with torch.no_grad():
        for name, x in captured.items():
            attn = unet.get_submodule(name[: -len(".processor")])
            q = attn.to_q(x).view(1, -1, attn.heads, attn.inner_dim // attn.heads).transpose(1, 2)
            k = attn.to_k(ctx).view(1, -1, attn.heads, attn.inner_dim // attn.heads).transpose(1, 2)
            p = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)  # (1, heads, 256, 77)
            total = total + p.sum(dim=1)
            count += attn.heads
    torch.testing.assert_close(maps, (total / count).reshape(1, 16, 16, 77), atol=1e-6, rtol=1e-5)


def test_install_is_idempotent_and_removable(unet):
    before = dict(unet.attn_processors)
    rec = CrossAttentionRecorder()
    originals = install_recorder(unet, rec)
    install_recorder(unet, rec)  # wrapping twice keeps a single wrapper
    wrapped = unet.attn_processors
    cross = set(cross_attention_names(unet))
    assert len(cross) == 4
    for name, proc in wrapped.items():
        if name in cross:
            assert isinstance(proc, RecordingAttnProcessor) and not isinstance(proc.inner, RecordingAttnProcessor)
        else:
            assert not isinstance(proc, RecordingAttnProcessor)
    remove_recorder(unet, originals)
    assert {k: type(v) for k, v in unet.attn_processors.items()} == {k: type(v) for k, v in before.items()}


def test_inactive_recorder_records_nothing(unet):
    sample, ctx = _inputs(1)
    rec = CrossAttentionRecorder()
    with torch.no_grad(), recording(unet, rec):
        unet(sample, 10, encoder_hidden_states=ctx)
    assert rec.pop_step() is None and not rec.recorded_layers


@pytest.mark.parametrize(
    ("h", "w", "factor", "res", "grid"),
    [(512, 512, 8, 16, (16, 16)), (512, 768, 8, 16, (16, 24)), (256, 256, 8, 8, (8, 8)),
     (64, 64, 2, 16, (16, 16)), (1024, 1024, 8, None, (32, 32)), (512, 512, 8, None, (16, 16))],
)
def test_attention_grid(h, w, factor, res, grid):
    assert attention_grid(h, w, factor, res) == grid


def test_attention_grid_rejects_non_levels():
    with pytest.raises(ValueError, match="does not divide"):
        attention_grid(512, 512, 8, 24)
    with pytest.raises(ValueError, match="power of two"):
        attention_grid(384, 384, 8, 16)  # latent 48 = 16·3
